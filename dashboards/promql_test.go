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

package dashboards

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSelectors(t *testing.T) {
	type want struct {
		metric, function, rng string
		matchers              int
	}
	for _, tc := range []struct {
		expr string
		want []want
	}{
		{`up`, []want{{"up", "", "", 0}}},
		{`rate(a_total{x="1"}[$__rate_interval])`, []want{{"a_total", "rate", "$__rate_interval", 1}}},
		{`sum by (le, endpoint) (rate(b_bucket{x=~"$x", y!="a,b}"}[5m]))`,
			[]want{{"b_bucket", "rate", "5m", 2}}},
		{`sum(rate(c_total[1m])) by (code)`, []want{{"c_total", "rate", "1m", 0}}},
		{`sum without (instance) (d)`, []want{{"d", "sum", "", 0}}},
		{`count by (x) (e) > bool on(job) group_left(name, other) f{a="b"}`,
			[]want{{"e", "count", "", 0}, {"f", "", "", 1}}},
		{`histogram_quantile(0.99, sum by (le) (rate(g_bucket[$__rate_interval])))`,
			[]want{{"g_bucket", "rate", "$__rate_interval", 0}}},
		{`(h and on(a) i) or on() label_replace(0 * sum(j), "reason", "$1", "", "")`,
			[]want{{"h", "", "", 0}, {"i", "", "", 0}, {"j", "sum", "", 0}}},
		{`time() - k{resource="stock"} offset 5m`, []want{{"k", "", "", 1}}},
		{`{__name__="l", a="b"}`, []want{{"l", "", "", 2}}},
		{`{"m.dotted", a="b"}`, []want{{"m.dotted", "", "", 2}}},
		{`max_over_time(n[1h:5m]) # comment mentioning o_total`, []want{{"n", "max_over_time", "1h:5m", 0}}},
		{`p{a='single \' quote'} + q{b=` + "`raw`" + `}`, []want{{"p", "", "", 1}, {"q", "", "", 1}}},
		{`topk(5, r) > .5e1`, []want{{"r", "topk", "", 0}}},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			sels, err := selectors(tc.expr)
			require.NoError(t, err)
			var got []want
			for _, s := range sels {
				got = append(got, want{s.metric, s.function, s.rng, len(s.matchers)})
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestSelectorsMatcherValues(t *testing.T) {
	sels, err := selectors(`a{job=~"$job",instance!~"x\"y",c="${v:regex}"}`)
	require.NoError(t, err)
	require.Len(t, sels, 1)
	assert.Equal(t, []matcher{{"job", "=~", "$job"}, {"instance", "!~", `x\"y`}, {"c", "=", "${v:regex}"}},
		sels[0].matchers)
}

func TestSelectorsErrors(t *testing.T) {
	for expr, want := range map[string]string{
		`sum(a`:            "unclosed (",
		`a)`:               "unbalanced )",
		`a{b="c"`:          "unclosed {",
		`a{b}`:             "malformed label matcher",
		`a{b=="c"}`:        `matcher operator "=="`,
		`a{b="c}`:          "unterminated string",
		`rate(a[5m)`:       "unclosed [",
		`a ? b`:            "unexpected character",
		`a{b="c"} }`:       "unbalanced }",
		"a{b=\"c\nd\"}":    "newline in string",
		`sum by ({a="b"})`: "{ in a label list",
		`a $ b`:            "lone $",
	} {
		_, err := selectors(expr)
		assert.ErrorContains(t, err, want, expr)
	}
}
