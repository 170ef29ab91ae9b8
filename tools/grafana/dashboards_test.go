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

package grafana

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var dashboardsDir = filepath.Join("..", "..", "dashboards")

// readDashboards returns every dashboards/*.json by file name.
func readDashboards(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no dashboards in %s", dashboardsDir)
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		out[filepath.Base(f)] = raw
	}
	return out
}

func TestDashboardsMatchGrafanaSchema(t *testing.T) {
	for name, raw := range readDashboards(t) {
		t.Run(name, func(t *testing.T) {
			problems, err := checkDashboard(raw)
			require.NoError(t, err)
			assert.Empty(t, problems, "%s does not match Grafana's schema:\n%s", name, strings.Join(problems, "\n"))
		})
	}
}

// obj and list are decoded JSON.
type (
	obj  = map[string]any
	list = []any
)

// panelsOf returns a dashboard's panels, a row's panels after the row.
func panelsOf(d obj) []obj {
	var out []obj
	var walk func(list)
	walk = func(ps list) {
		for _, p := range ps {
			p := p.(obj)
			out = append(out, p)
			if inner, ok := p["panels"].(list); ok {
				walk(inner)
			}
		}
	}
	walk(d["panels"].(list))
	return out
}

// ofType selects a panel of that type.
func ofType(typ string) func(obj) bool {
	return func(p obj) bool { return p["type"] == typ }
}

// withOverrides selects a panel of that type with overrides.
func withOverrides(typ string) func(obj) bool {
	return func(p obj) bool {
		fc, _ := p["fieldConfig"].(obj)
		o, _ := fc["overrides"].(list)
		return p["type"] == typ && len(o) > 0
	}
}

func rename(m obj, from, to string) {
	v, ok := m[from]
	if !ok {
		panic(fmt.Sprintf("no %q to rename in %v", from, m))
	}
	delete(m, from)
	m[to] = v
}

// Each case breaks a copy of a dashboard one way; the check must fail, and
// one of its messages name the break.
func TestSchemaCheckCatches(t *testing.T) {
	dashboards := readDashboards(t)

	cases := []struct {
		name string
		// panel selects the panel to break, in the first dashboard that has
		// one; nil breaks the first dashboard itself.
		panel  func(obj) bool
		mutate func(d, panel obj)
		want   []string
	}{
		{
			name:   "unknown dashboard field",
			mutate: func(d, _ obj) { d["refreshInterval"] = "1m" },
			want:   []string{"Dashboard: unexpected field 'refreshInterval'"},
		},
		{
			name:   "required dashboard field missing",
			mutate: func(d, _ obj) { delete(d, "schemaVersion") },
			want:   []string{"schemaVersion: " + missingField},
		},
		{
			name:   "misspelt templating field",
			mutate: func(d, _ obj) { rename(d["templating"].(obj)["list"].(list)[0].(obj), "label", "lable") },
			want:   []string{"templating.list[0]", "unexpected field 'lable'"},
		},
		{
			name:   "unknown annotation field",
			mutate: func(d, _ obj) { d["annotations"].(obj)["list"].(list)[0].(obj)["bogusField"] = true },
			want:   []string{"annotations.list[0]", "unexpected field 'bogusField'"},
		},
		{
			name:   "unknown dashboard link field",
			mutate: func(d, _ obj) { d["links"].(list)[0].(obj)["bogusField"] = true },
			want:   []string{"links[0]", "unexpected field 'bogusField'"},
		},
		{
			name:   "unknown field in a panel",
			panel:  ofType("timeseries"),
			mutate: func(_, p obj) { p["bogusField"] = true },
			want:   []string{"Panel: unexpected field 'bogusField'", "timeseries panel"},
		},
		{
			name:   "unknown field in a row",
			panel:  ofType("row"),
			mutate: func(_, p obj) { p["bogusField"] = true },
			want:   []string{"unexpected field 'bogusField'", "row panel"},
		},
		{
			name:   "unknown panel type",
			panel:  ofType("timeseries"),
			mutate: func(_, p obj) { p["type"] = "timeseriez" },
			want:   []string{`.type: unknown panel type "timeseriez"`},
		},
		{
			name:  "unknown panel type inside a collapsed row",
			panel: ofType("row"),
			mutate: func(_, p obj) {
				p["collapsed"] = true
				p["panels"] = list{obj{"type": "graphh", "title": "Inner", "gridPos": obj{"h": 1, "w": 1, "x": 0, "y": 0}}}
			},
			want: []string{`.panels[0].type: unknown panel type "graphh"`},
		},
		{
			name:   "misspelt key in a target",
			panel:  ofType("timeseries"),
			mutate: func(_, p obj) { rename(p["targets"].(list)[0].(obj), "expr", "exprr") },
			want:   []string{".targets[0]", "unexpected field 'exprr'"},
		},
		{
			name:   "target of a data source type without a query schema",
			panel:  ofType("timeseries"),
			mutate: func(_, p obj) { p["targets"].(list)[0].(obj)["datasource"].(obj)["type"] = "kartustok" },
			want:   []string{".targets[0]", `no query schema for data source type "kartustok"`},
		},
		{
			name: "target without a data source is checked against the panel's",
			panel: func(p obj) bool {
				_, ok := p["datasource"].(obj)
				return ok && p["type"] == "timeseries"
			},
			mutate: func(_, p obj) {
				target := p["targets"].(list)[0].(obj)
				delete(target, "datasource")
				rename(target, "legendFormat", "legend")
			},
			want: []string{".targets[0]", "unexpected field 'legend'"},
		},
		{
			name:   "misspelt panel option",
			panel:  ofType("stat"),
			mutate: func(_, p obj) { rename(p["options"].(obj), "colorMode", "colourMode") },
			want:   []string{"options", "unexpected field 'colourMode'"},
		},
		{
			name:   "a tolerated missing option misspelt instead",
			panel:  ofType("stat"),
			mutate: func(_, p obj) { p["options"].(obj)["percentChangeColourMode"] = "standard" },
			want:   []string{"options", "unexpected field 'percentChangeColourMode'"},
		},
		{
			name:   "a missing option tolerated for another panel type only",
			panel:  ofType("timeseries"),
			mutate: func(_, p obj) { delete(p["options"].(obj)["legend"].(obj), "calcs") },
			want:   []string{"options.legend.calcs: " + missingField, "timeseries panel"},
		},
		{
			name:   "misspelt standard field option",
			panel:  ofType("timeseries"),
			mutate: func(_, p obj) { rename(p["fieldConfig"].(obj)["defaults"].(obj), "unit", "unti") },
			want:   []string{"fieldConfig.defaults", "unexpected field 'unti'"},
		},
		{
			name:  "misspelt custom field option",
			panel: ofType("timeseries"),
			mutate: func(_, p obj) {
				rename(p["fieldConfig"].(obj)["defaults"].(obj)["custom"].(obj), "lineWidth", "lineWidht")
			},
			want: []string{"fieldConfig.defaults.custom", "unexpected field 'lineWidht'"},
		},
		{
			name:   "custom field options on a panel type that has none",
			panel:  ofType("stat"),
			mutate: func(_, p obj) { p["fieldConfig"].(obj)["defaults"].(obj)["custom"] = obj{"lineWidth": 1} },
			want:   []string{"fieldConfig.defaults.custom", `panel type "stat" has no custom field options`},
		},
		{
			name:  "misspelt custom option in an override",
			panel: withOverrides("timeseries"),
			mutate: func(_, p obj) {
				props := p["fieldConfig"].(obj)["overrides"].(list)[0].(obj)["properties"].(list)
				props[0].(obj)["id"] = "custom.fillOpacty"
			},
			want: []string{"fieldConfig.overrides[0].properties[0]", `"custom.fillOpacty": not a field config property Grafana knows`},
		},
		{
			name:  "unknown standard property in an override",
			panel: withOverrides("timeseries"),
			mutate: func(_, p obj) {
				o := p["fieldConfig"].(obj)["overrides"].(list)[0].(obj)
				o["properties"] = append(o["properties"].(list), obj{"id": "unti", "value": "short"})
			},
			want: []string{"fieldConfig.overrides[0].properties[", `"unti": not a field config property Grafana knows`},
		},
		{
			name:  "override value of the wrong type",
			panel: withOverrides("timeseries"),
			mutate: func(_, p obj) {
				o := p["fieldConfig"].(obj)["overrides"].(list)[0].(obj)
				o["properties"] = append(o["properties"].(list), obj{"id": "custom.fillOpacity", "value": "none"})
			},
			want: []string{"fieldConfig.overrides[0].properties[", `"custom.fillOpacity": fillOpacity: `},
		},
		{
			name:  "unknown field in a transformation",
			panel: func(p obj) bool { _, ok := p["transformations"]; return ok },
			mutate: func(_, p obj) {
				p["transformations"].(list)[0].(obj)["bogusField"] = true
			},
			want: []string{"transformations[0]", "unexpected field 'bogusField'"},
		},
	}

	names := make([]string, 0, len(dashboards))
	for name := range dashboards {
		names = append(names, name)
	}
	slices.Sort(names)

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var d, panel obj
			for _, name := range names {
				var candidate obj
				require.NoError(t, json.Unmarshal(dashboards[name], &candidate))
				if tc.panel == nil {
					d = candidate
					break
				}
				for _, p := range panelsOf(candidate) {
					if tc.panel(p) {
						d, panel = candidate, p
						break
					}
				}
				if d != nil {
					break
				}
			}
			require.NotNil(t, d, "no dashboard has the panel this case breaks")

			tc.mutate(d, panel)
			raw, err := json.Marshal(d)
			require.NoError(t, err)
			problems, err := checkDashboard(raw)
			require.NoError(t, err)
			require.NotEmpty(t, problems, "the broken dashboard passed")
			for _, p := range problems {
				if containsAll(p, tc.want) {
					return
				}
			}
			t.Errorf("no problem names the break (want all of %q):\n%s", tc.want, strings.Join(problems, "\n"))
		})
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
