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
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// extractFixture has one of each kind of variable and of each way a panel
// asks for its query, and a panel inside a collapsed row.
const extractFixture = `{
  "title": "Fixture",
  "templating": {"list": [
    {"name": "datasource", "type": "datasource", "query": "prometheus"},
    {"name": "job", "type": "query", "multi": true,
     "query": {"query": "label_values( kartustok_up , job)", "refId": "X"}},
    {"name": "instance", "type": "query", "includeAll": true,
     "query": "label_values(kartustok_up{job=~\"$job\"}, instance)"},
    {"name": "window", "type": "interval", "query": "5m,1h"},
    {"name": "site", "type": "custom", "query": "a,b"},
    {"name": "other", "type": "query", "query": "query_result(kartustok_up)"}
  ]},
  "panels": [
    {"id": 1, "type": "stat", "title": "Up", "targets": [
      {"refId": "A", "expr": "max(kartustok_up{job=~\"$job\",instance=~\"${instance}\",site=\"[[site]]\"})", "instant": true}
    ]},
    {"id": 2, "type": "row", "title": "More", "panels": [
      {"id": 3, "type": "timeseries", "title": "", "targets": [
        {"refId": "A", "expr": "max_over_time(kartustok_up[$window]) / $__range_s + $nope + $1", "legendFormat": "{{instance}}"},
        {"refId": "B", "expr": "x", "instant": true, "range": true}
      ]}
    ]}
  ]
}`

func TestQueryInfos(t *testing.T) {
	d, err := Parse([]byte(extractFixture))
	require.NoError(t, err)
	d.File = "fixture.json"
	qs := d.QueryInfos()

	base := QueryInfo{File: "fixture.json", Dashboard: "Fixture"}
	variable := func(name, query, label, expr string, refs ...Ref) QueryInfo {
		q := base
		q.Variable, q.Query, q.Label, q.Expr, q.Refs, q.Instant = name, query, label, expr, refs, true
		return q
	}
	panel := func(title string, id int, refID, expr string, instant, rng bool, legend string, refs ...Ref) QueryInfo {
		q := base
		q.Panel, q.PanelID, q.RefID, q.Expr, q.Refs, q.Instant, q.Range, q.Legend = title, id, refID, expr, refs, instant, rng, legend
		return q
	}
	// ref finds the reference text in expr after offset from.
	ref := func(expr string, from int, text, name, kind string, multi bool) Ref {
		i := strings.Index(expr[from:], text)
		require.GreaterOrEqual(t, i, 0, text)
		return Ref{Start: from + i, End: from + i + len(text), Name: name, Kind: kind, Multi: multi}
	}
	up := `max(kartustok_up{job=~"$job",instance=~"${instance}",site="[[site]]"})`
	ratio := "max_over_time(kartustok_up[$window]) / $__range_s + $nope + $1"
	assert.Equal(t, []QueryInfo{
		variable("job", "label_values( kartustok_up , job)", "job", "kartustok_up"),
		variable("instance", `label_values(kartustok_up{job=~"$job"}, instance)`, "instance", `kartustok_up{job=~"$job"}`,
			ref(`kartustok_up{job=~"$job"}`, 0, "$job", "job", KindText, true)),
		variable("other", "query_result(kartustok_up)", "", ""),
		panel("Up", 1, "A", up, true, false, "",
			ref(up, 0, "$job", "job", KindText, true),
			ref(up, 0, "${instance}", "instance", KindText, true),
			ref(up, 0, "[[site]]", "site", KindText, false)),
		panel("", 3, "A", ratio, false, true, "{{instance}}",
			ref(ratio, 0, "$window", "window", KindDuration, false),
			ref(ratio, 0, "$__range_s", "__range_s", KindNumber, false),
			ref(ratio, 0, "$nope", "nope", KindUndefined, false)),
		panel("", 3, "B", "x", true, true, ""),
	}, qs)

	// dashcheck reads these names: renaming one breaks it.
	data, err := json.Marshal(qs[1])
	require.NoError(t, err)
	assert.JSONEq(t, `{"file": "fixture.json", "dashboard": "Fixture", "variable": "instance",
		"query": "label_values(kartustok_up{job=~\"$job\"}, instance)", "label": "instance",
		"expr": "kartustok_up{job=~\"$job\"}",
		"refs": [{"start": 19, "end": 23, "name": "job", "kind": "text", "multi": true}],
		"instant": true, "range": false}`, string(data))
	data, err = json.Marshal(qs[3])
	require.NoError(t, err)
	assert.JSONEq(t, `{"file": "fixture.json", "dashboard": "Fixture", "panel": "Up", "panelId": 1, "refId": "A",
		"expr": `+string(mustJSON(t, up))+`,
		"refs": [{"start": 23, "end": 27, "name": "job", "kind": "text", "multi": true},
			{"start": 40, "end": 51, "name": "instance", "kind": "text", "multi": true},
			{"start": 59, "end": 67, "name": "site", "kind": "text"}],
		"instant": true, "range": false}`, string(data))
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return data
}

func TestExtractShippedDashboards(t *testing.T) {
	qs, err := Extract(".")
	require.NoError(t, err)
	ds, err := Load(".")
	require.NoError(t, err)
	var want int
	for _, d := range ds {
		for _, v := range d.Templating.List {
			if v.Type == "query" {
				want++
			}
		}
		for _, p := range d.AllPanels() {
			want += len(p.Targets)
		}
	}
	require.Len(t, qs, want)
	for _, q := range qs {
		assert.NotEmpty(t, q.Expr, "%s %s %s", q.File, q.Panel, q.Variable)
		for _, r := range q.Refs {
			text := q.Expr[r.Start:r.End]
			assert.True(t, strings.HasPrefix(text, "$") || strings.HasPrefix(text, "[["), text)
			assert.Contains(t, text, r.Name)
			assert.NotEqual(t, KindUndefined, r.Kind, "%s in %s", text, q.Expr)
		}
	}
}
