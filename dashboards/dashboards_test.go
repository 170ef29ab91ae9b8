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
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShippedDashboardsPassLint(t *testing.T) {
	ds, err := Load(".")
	require.NoError(t, err)
	require.Len(t, ds, 2)
	require.NoError(t, LintAll(ds))
}

func TestShippedDashboardsAreFormatted(t *testing.T) {
	// Files stay as Grafana-style two-space indented JSON so diffs of an
	// exported dashboard stay readable.
	files, err := filepath.Glob("*.json")
	require.NoError(t, err)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		var v any
		require.NoError(t, json.Unmarshal(data, &v), f)
		assert.True(t, strings.HasSuffix(string(data), "}\n"), "%s: must end in a newline", f)
		assert.NotContains(t, string(data), "\t", "%s: indent with spaces", f)
	}
}

func dashboardByUID(t *testing.T, uid string) *Dashboard {
	t.Helper()
	ds, err := Load(".")
	require.NoError(t, err)
	for _, d := range ds {
		if d.UID == uid {
			return d
		}
	}
	t.Fatalf("no dashboard with uid %s", uid)
	return nil
}

func panelTitles(d *Dashboard) []string {
	var out []string
	for _, p := range d.AllPanels() {
		if p.Type != "row" {
			out = append(out, p.Title)
		}
	}
	return out
}

func allExprs(d *Dashboard) string {
	var b strings.Builder
	for _, p := range d.AllPanels() {
		for _, t := range p.Targets {
			b.WriteString(t.Expr)
			b.WriteString("\n")
		}
	}
	return b.String()
}

func TestStockDashboardContent(t *testing.T) {
	d := dashboardByUID(t, "kartustok-stock")
	assert.Equal(t, "KartuStok / Stock", d.Title)
	var names []string
	for _, v := range d.Templating.List {
		names = append(names, v.Name)
	}
	assert.Equal(t, []string{"datasource", "job", "instance", "company", "warehouse", "category", "item"}, names)
	titles := panelTitles(d)
	for _, want := range []string{
		"Items below minimum", "Out of stock per warehouse", "Stock on hand",
		"Items below minimum over time", "Total on hand against company-wide minimum",
	} {
		assert.Contains(t, titles, want)
	}

	// The low-stock table shows what a supervisor acts on, in words.
	var table Panel
	for _, p := range d.AllPanels() {
		if p.Type == "table" && p.Title == "Items below minimum" {
			table = p
		}
	}
	require.Len(t, table.Targets, 3)
	for _, target := range table.Targets {
		assert.Equal(t, "table", target.Format)
		assert.True(t, target.Instant)
		for _, label := range []string{"item_code", "item_name", "locator_name", "uom"} {
			assert.Contains(t, target.Expr, label, "query %s", target.RefID)
		}
	}

	// Names come from the _info series; stock values are joined to them on
	// the identity labels, the company and the target, so two exporters, or
	// two companies of one exporter sharing IDs, never collide.
	exprs := allExprs(d)
	assert.Contains(t, exprs, "on(job, instance, company, locator_id) group_left(locator_name)")
	assert.Contains(t, exprs, "on(job, instance, company, item_id) group_left(item_name)")
	assert.Contains(t, exprs, `company=~"$company"`)
	assert.Contains(t, exprs, `locator_name=~"$warehouse"`)
	assert.Contains(t, exprs, `category_name=~"$category"`)
	assert.Contains(t, exprs, `item_name=~"$item"`)
	assert.Contains(t, exprs, "kartustok_item_minimum_quantity")
}

func TestExporterDashboardContent(t *testing.T) {
	d := dashboardByUID(t, "kartustok-exporter")
	assert.Equal(t, "KartuStok / Exporter and API health", d.Title)
	exprs := allExprs(d)
	for _, metric := range []string{
		"kartustok_up", "kartustok_token_valid", "kartustok_token_expiry_timestamp_seconds",
		"kartustok_token_scope_granted", "kartustok_company_info", "kartustok_api_requests_total",
		"kartustok_api_request_duration_seconds_bucket", "kartustok_api_errors_total",
		"kartustok_api_rate_limit_remaining", "kartustok_api_request_budget",
		"kartustok_api_budget_wait_seconds_total", "kartustok_sync_last_success_timestamp_seconds",
		"kartustok_sync_duration_seconds", "kartustok_sync_errors_total", "kartustok_sync_planned_requests",
		"kartustok_sync_cycle_seconds",
	} {
		assert.Contains(t, exprs, metric+"{")
	}
	for _, q := range []string{"0.5", "0.9", "0.99"} {
		assert.Contains(t, exprs, "histogram_quantile("+q+", sum by (le, endpoint)")
	}
}

// joinWithoutCompany matches a join or aggregation on the exporter's
// identity that leaves the company out.
var joinWithoutCompany = regexp.MustCompile(`\b(on|by) ?\(job, instance(\)|, [^c)])`)

// TestDashboardsArePerCompany checks what lets one exporter serve several
// companies: a company variable narrowed by job and instance and narrowing
// the variables after it, and every join or aggregation on job and
// instance also on company, since two companies may share item and
// warehouse IDs. That every selector filters by $company is dashcheck's.
func TestDashboardsArePerCompany(t *testing.T) {
	ds, err := Load(".")
	require.NoError(t, err)
	for _, d := range ds {
		var names []string
		for _, v := range d.Templating.List {
			names = append(names, v.Name)
		}
		i := slices.Index(names, "company")
		require.Positive(t, i, "%s: no company variable", d.File)
		assert.Equal(t, "instance", names[i-1], "%s: company comes right after instance", d.File)
		v := d.Templating.List[i]
		assert.Equal(t, "query", v.Type, d.File)
		assert.True(t, v.Multi && v.IncludeAll, "%s: company is multi-value with All, like instance", d.File)
		q := string(v.Query)
		assert.True(t, strings.HasSuffix(q, ", company)"), "%s: company query %s", d.File, q)
		assert.Contains(t, q, `job=~"$job",instance=~"$instance"`, d.File)
		for _, v := range d.Templating.List[i+1:] {
			assert.Contains(t, string(v.Query), `company=~"$company"`, "%s: variable %s", d.File, v.Name)
		}
		for _, p := range d.AllPanels() {
			for _, target := range p.Targets {
				assert.NotRegexp(t, joinWithoutCompany, target.Expr, "%s: panel %q query %s", d.File, p.Title, target.RefID)
			}
		}
	}
}

func TestQueriesSubstitutesVariables(t *testing.T) {
	qs, err := Queries(".", map[string]string{"job": "kartustok", "__rate_interval": "15s"})
	require.NoError(t, err)

	var panels, variables int
	for _, q := range qs {
		if q.Variable != "" {
			variables++
			assert.True(t, strings.HasPrefix(q.Expr, "group by ("), q.String())
		} else {
			panels++
			assert.NotEmpty(t, q.Panel)
			assert.NotEmpty(t, q.RefID)
		}
		assert.NotContains(t, q.Expr, "$", q.String())
		if strings.Contains(q.Expr, "[") {
			assert.Contains(t, q.Expr, "[15s]", q.String())
		}
		if q.Variable != "job" {
			assert.Contains(t, q.Expr, `job=~"kartustok"`, q.String())
		}
		// The mixin's selector, in every query.
		assert.Contains(t, q.Expr, `job="kartustok"`, q.String())
	}
	assert.Equal(t, 3+6, variables, "label_values variables of both dashboards")
	ds, err := Load(".")
	require.NoError(t, err)
	var want int
	for _, d := range ds {
		for _, p := range d.AllPanels() {
			want += len(p.Targets)
		}
	}
	assert.Equal(t, want, panels)

	// Unset dashboard variables select everything; built-ins have defaults.
	qs, err = Queries(".", nil)
	require.NoError(t, err)
	i := slices.IndexFunc(qs, func(q Query) bool { return strings.Contains(q.Expr, "kartustok_api_requests_total") })
	require.GreaterOrEqual(t, i, 0)
	assert.Contains(t, qs[i].Expr, `{job="kartustok",job=~".*",instance=~".*",company=~".*"}[1m]`)
}

func TestQueriesRejectsUnknownVariable(t *testing.T) {
	dir := t.TempDir()
	d := loadRaw(t, "kartustok-exporter.json")
	setExpr(d, `kartustok_up{job=~"$job",instance=~"$instance",x=~"$nope"}`)
	writeRaw(t, dir, "x.json", d)
	_, err := Queries(dir, nil)
	require.ErrorContains(t, err, "undefined variables nope")
}

func TestSubstituteSyntaxes(t *testing.T) {
	value := func(r Ref) (string, bool) { return "<" + r.Name + ">", r.Name != "missing" }
	s := `a $x ${y} ${z:regex} [[w]] [[v:csv]] $1 $__rate_interval`
	got, err := substitute(s, findRefs(s), value)
	require.NoError(t, err)
	assert.Equal(t, `a <x> <y> <z> <w> <v> $1 <__rate_interval>`, got)
	_, err = substitute(`$missing`, findRefs(`$missing`), value)
	assert.Error(t, err)
}

func TestQueryLegendLabels(t *testing.T) {
	q := Query{Legend: "{{item_name}} @ {{ locator_name }} minimum"}
	assert.Equal(t, []string{"item_name", "locator_name"}, q.LegendLabels())
	assert.Empty(t, Query{Legend: "failing share"}.LegendLabels())

	qs, err := Queries(".", nil)
	require.NoError(t, err)
	i := slices.IndexFunc(qs, func(q Query) bool { return q.Panel == "Requests by endpoint and code" })
	require.GreaterOrEqual(t, i, 0)
	assert.Equal(t, []string{"endpoint", "code"}, qs[i].LegendLabels())
}
