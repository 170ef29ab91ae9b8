// Copyright The kartustok_exporter Authors
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests below render the repository's monitoring mixin (mixin/) with a
// selector of their own, as a user of the mixin would set
// _config.kartustokSelector, and prove with the parser Prometheus
// evaluates the rules and the dashboards with that every series selector
// carries it. That the repository's files are the mixin's render with the
// default selector is tools/jsonnet's test.

// customSelector names a target label beside the job, as a Prometheus that
// scrapes several clusters would.
const customSelector = `job="inventory", cluster="x"`

// renderMixin renders the mixin with selector into a new directory.
func renderMixin(t *testing.T, selector string) string {
	t.Helper()
	dir := t.TempDir()
	var stderr bytes.Buffer
	cmd := exec.Command(mixin, "-root", repository, "-out", dir,
		"-config", "{kartustokSelector: "+jsonnetString(selector)+"}")
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	return dir
}

// jsonnetString quotes s for Jsonnet, whose single-quoted strings escape
// as JSON's do.
func jsonnetString(s string) string {
	b := []byte{'\''}
	for _, r := range s {
		switch r {
		case '\'', '\\':
			b = append(b, '\\', byte(r))
		default:
			b = append(b, string(r)...)
		}
	}
	return string(append(b, '\''))
}

func requiredMatchers(t *testing.T, selector string) []*labels.Matcher {
	t.Helper()
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector("{" + selector + "}")
	require.NoError(t, err)
	return ms
}

// TestMixinSelectorInEveryRule loads the rules file the mixin renders as
// Prometheus loads a rules file, and checks that every series selector of
// every alert and recording rule carries the selector's matchers, the
// recorded series that alerts read included.
func TestMixinSelectorInEveryRule(t *testing.T) {
	dir := renderMixin(t, customSelector)
	p := parser.NewParser(parser.Options{})
	groups, errs := rulefmt.ParseFile(filepath.Join(dir, "alerts", "kartustok.rules.yml"), false, model.UTF8Validation, p, promslog.NewNopLogger())
	require.Empty(t, errs)
	want := requiredMatchers(t, customSelector)

	rules, selectorsSeen := 0, 0
	records := map[string]bool{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			rules++
			name := r.Alert + r.Record
			if r.Record != "" {
				records[r.Record] = true
			}
			expr, err := p.ParseExpr(r.Expr)
			require.NoError(t, err, name)
			for _, s := range selectors(expr) {
				selectorsSeen++
				for _, m := range want {
					assert.True(t, hasMatcher(s.vs, &expansion{}, m), "%s: %s lacks %s", name, s.vs, m)
				}
			}
		}
	}
	assert.GreaterOrEqual(t, rules, 19, "the rules file's rules")
	assert.Greater(t, selectorsSeen, rules, "selectors checked")
	assert.Len(t, records, 2, "the recording rules")
}

// TestMixinSelectorInEveryDashboardQuery extracts every query of the
// dashboards the mixin renders, as make's dashcheck does, and runs
// dashcheck's checks over them with the selector required: every panel's
// and every variable's selector carries it, and the dashboards still pass
// every other check.
func TestMixinSelectorInEveryDashboardQuery(t *testing.T) {
	dir := renderMixin(t, customSelector)
	qs, err := readQueries("-", bytes.NewReader(extract(t, filepath.Join(dir, "dashboards"))))
	require.NoError(t, err)
	c := newTestChecker(t)
	require.NoError(t, c.requireSelector(customSelector))
	for i := range qs {
		c.check(&qs[i])
	}
	assert.Empty(t, c.findings)
	assert.Equal(t, 2, c.dashboards)
	assert.Greater(t, c.selectors, c.queries)

	// The same queries do not carry the default selector: the check bites.
	c = newTestChecker(t)
	require.NoError(t, c.requireSelector(`job="kartustok"`))
	for i := range qs {
		c.check(&qs[i])
	}
	for i := range qs {
		prefix := qs[i].File + ": " + qs[i].where() + ": selector "
		assert.True(t, slices.ContainsFunc(c.findings, func(f string) bool { return strings.HasPrefix(f, prefix) }),
			"%s%s lacks job=\"kartustok\" but passes", qs[i].File, qs[i].where())
	}
}
