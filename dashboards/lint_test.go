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
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The shipped dashboards pass Lint; these tests break a copy in one way at a
// time and check Lint notices, so a passing lint means something. The
// PromQL checks, and their tests, are dashcheck's in tools/prometheus.

type raw = map[string]any

func loadRaw(t *testing.T, file string) raw {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var d raw
	require.NoError(t, json.Unmarshal(data, &d))
	return d
}

func writeRaw(t *testing.T, dir, name string, d raw) {
	t.Helper()
	data, err := json.Marshal(d)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
}

func firstPanel(d raw) raw { return d["panels"].([]any)[0].(raw) }

func firstTarget(d raw) raw { return firstPanel(d)["targets"].([]any)[0].(raw) }

func setExpr(d raw, expr string) { firstTarget(d)["expr"] = expr }

func variables(d raw) []any { return d["templating"].(raw)["list"].([]any) }

func lintRaw(t *testing.T, d raw) error {
	t.Helper()
	data, err := json.Marshal(d)
	require.NoError(t, err)
	parsed, err := Parse(data)
	require.NoError(t, err)
	return errors.Join(Lint(parsed)...)
}

const filter = `job=~"$job",instance=~"$instance"`

func TestLintCatchesBrokenDashboards(t *testing.T) {
	for _, tc := range []struct {
		name    string
		breakIt func(d raw)
		want    string
	}{
		{"panel without unit", func(d raw) {
			delete(firstPanel(d)["fieldConfig"].(raw)["defaults"].(raw), "unit")
		}, "no unit"},
		{"panel without description", func(d raw) { firstPanel(d)["description"] = " " }, "no description"},
		{"panel without title", func(d raw) { delete(firstPanel(d), "title") }, "no title"},
		{"panel with a fixed data source", func(d raw) {
			firstPanel(d)["datasource"] = raw{"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}
		}, "data source must be ${datasource}"},
		{"target with a fixed data source", func(d raw) {
			firstTarget(d)["datasource"] = raw{"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}
		}, "query A: data source must be ${datasource}"},
		{"panel without queries", func(d raw) { firstPanel(d)["targets"] = []any{} }, "no queries"},
		{"repeated refId", func(d raw) {
			p := firstPanel(d)
			p["targets"] = append(p["targets"].([]any), firstTarget(d))
		}, "refId missing or repeated"},
		{"empty query", func(d raw) { setExpr(d, "  ") }, "query A: empty expression"},
		{"undefined variable in a query", func(d raw) {
			setExpr(d, `kartustok_locator_info{`+filter+`,locator_name=~"$warehose"}`)
		}, "$warehose is not a dashboard variable"},
		{"undefined variable in a legend", func(d raw) {
			firstTarget(d)["legendFormat"] = "$site"
		}, "legend: $site is not a dashboard variable"},
		{"non-null id", func(d raw) { d["id"] = 7 }, `"id" must be null`},
		{"missing id", func(d raw) { delete(d, "id") }, `"id" must be null`},
		{"no uid", func(d raw) { delete(d, "uid") }, `uid "" is not`},
		{"no title", func(d raw) { d["title"] = "" }, "no title"},
		{"old schema", func(d raw) { d["schemaVersion"] = 27 }, "schemaVersion 27"},
		{"duplicate panel id", func(d raw) {
			ps := d["panels"].([]any)
			ps[1].(raw)["id"] = ps[0].(raw)["id"]
		}, "also used by panel"},
		{"panel off the grid", func(d raw) {
			firstPanel(d)["gridPos"].(raw)["x"] = 20.0
		}, "does not fit the 24-column grid"},
		{"no datasource variable", func(d raw) {
			d["templating"].(raw)["list"] = variables(d)[1:]
		}, "no datasource variable"},
		{"no instance variable", func(d raw) {
			vs := variables(d)
			d["templating"].(raw)["list"] = append([]any{vs[0], vs[1]}, vs[3:]...)
		}, "no instance query variable"},
		{"variable defined twice", func(d raw) {
			d["templating"].(raw)["list"] = append(variables(d), variables(d)[1])
		}, "variable job defined twice"},
		{"variable using a later variable", func(d raw) {
			variables(d)[2].(raw)["query"] = `label_values(kartustok_up{job=~"$job",x=~"$warehouse"}, instance)`
		}, "references $warehouse, which is not defined before it"},
		{"variable with a fixed data source", func(d raw) {
			variables(d)[1].(raw)["datasource"] = raw{"type": "prometheus", "uid": "abc"}
		}, "variable job: data source must be ${datasource}"},
		{"unsupported variable query", func(d raw) {
			variables(d)[1].(raw)["query"] = `query_result(kartustok_up)`
		}, "is not label_values(selector, label)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := loadRaw(t, "kartustok-stock.json")
			require.NoError(t, lintRaw(t, d), "the unbroken copy must pass")
			tc.breakIt(d)
			err := lintRaw(t, d)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestLintAllCatchesDuplicates(t *testing.T) {
	dir := t.TempDir()
	a := loadRaw(t, "kartustok-stock.json")
	writeRaw(t, dir, "a.json", a)
	writeRaw(t, dir, "b.json", a)
	ds, err := Load(dir)
	require.NoError(t, err)
	err = LintAll(ds)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `b.json: uid "kartustok-stock" also used by a.json`)
	assert.Contains(t, err.Error(), `b.json: title "KartuStok / Stock" also used by a.json`)
}

func TestLoadErrors(t *testing.T) {
	_, err := Load(t.TempDir())
	require.ErrorContains(t, err, "no *.json dashboards")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"uid": `), 0o644))
	_, err = Load(dir)
	assert.ErrorContains(t, err, "bad.json")
}

func TestVariableQueryObjectForm(t *testing.T) {
	// Grafana 10+ may save a variable query as an object.
	d, err := Parse([]byte(`{"templating":{"list":[{"name":"job","type":"query",
		"query":{"query":"label_values(kartustok_up, job)","refId":"X"}}]}}`))
	require.NoError(t, err)
	assert.Equal(t, "label_values(kartustok_up, job)", string(d.Templating.List[0].Query))
}
