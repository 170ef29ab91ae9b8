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

// Package dashboards holds the Grafana dashboards shipped with
// kartustok_exporter (the *.json files beside this one) and the code that
// keeps them honest.
//
// The JSON files are the source: edit them in Grafana, export them, and
// `go test ./dashboards` checks the rules every shipped dashboard follows
// (see Lint). The PromQL of their queries is checked with Prometheus' own
// parser by dashcheck, a program of the tools/prometheus module that make
// runs, so that the parser stays out of the exporter's dependencies.
// Queries lists every PromQL query of the dashboards with their variables
// substituted, so a test can run them against a real Prometheus.
package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Dashboard is the part of Grafana's dashboard JSON model the checks read.
type Dashboard struct {
	// ID must be null in a shipped dashboard, so importing it creates a
	// new dashboard instead of overwriting whatever has that id.
	ID            json.RawMessage `json:"id"`
	UID           string          `json:"uid"`
	Title         string          `json:"title"`
	SchemaVersion int             `json:"schemaVersion"`
	Templating    struct {
		List []Variable `json:"list"`
	} `json:"templating"`
	Panels []Panel `json:"panels"`

	// File is the base name of the file the dashboard came from, if any.
	File string `json:"-"`
}

// Variable is a dashboard template variable.
type Variable struct {
	Name       string      `json:"name"`
	Type       string      `json:"type"`
	Query      stringQuery `json:"query"`
	Datasource *Datasource `json:"datasource"`
	Multi      bool        `json:"multi"`
	IncludeAll bool        `json:"includeAll"`
	AllValue   string      `json:"allValue"`
}

// stringQuery accepts a variable query written either as a string or as
// the object newer Grafana versions save ({"query": "..."}).
type stringQuery string

func (q *stringQuery) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		var obj struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return err
		}
		*q = stringQuery(obj.Query)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*q = stringQuery(s)
	return nil
}

// Datasource is a panel's, target's or variable's data source reference.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Panel is a dashboard panel; rows carry their collapsed panels in Panels.
type Panel struct {
	ID          int         `json:"id"`
	Type        string      `json:"type"`
	Title       string      `json:"title"`
	Description string      `json:"description"`
	Datasource  *Datasource `json:"datasource"`
	GridPos     struct {
		H int `json:"h"`
		W int `json:"w"`
		X int `json:"x"`
		Y int `json:"y"`
	} `json:"gridPos"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []Target `json:"targets"`
	Panels  []Panel  `json:"panels"`
}

// Target is one query of a panel.
type Target struct {
	RefID        string      `json:"refId"`
	Expr         string      `json:"expr"`
	LegendFormat string      `json:"legendFormat"`
	Instant      bool        `json:"instant"`
	Format       string      `json:"format"`
	Datasource   *Datasource `json:"datasource"`
}

// Parse decodes one dashboard.
func Parse(data []byte) (*Dashboard, error) {
	var d Dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Load reads every *.json dashboard in dir, sorted by file name.
func Load(dir string) ([]*Dashboard, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.json dashboards in %s", dir)
	}
	sort.Strings(files)
	var out []*Dashboard
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		d, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		d.File = filepath.Base(f)
		out = append(out, d)
	}
	return out, nil
}

// AllPanels returns the dashboard's panels, those inside rows included, in
// document order. Row panels themselves are included too.
func (d *Dashboard) AllPanels() []Panel {
	var out []Panel
	var walk func([]Panel)
	walk = func(ps []Panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// variable returns the dashboard variable called name.
func (d *Dashboard) variable(name string) (Variable, bool) {
	for _, v := range d.Templating.List {
		if v.Name == name {
			return v, true
		}
	}
	return Variable{}, false
}

// variableRef matches Grafana's variable syntaxes: $name, ${name},
// ${name:format} and the deprecated [[name]].
var variableRef = regexp.MustCompile(`\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]`)

// builtinVariables are Grafana's global variables, with the value Queries
// uses when the caller gives none.
var builtinVariables = map[string]string{
	"__rate_interval": "1m",
	"__interval":      "30s",
	"__interval_ms":   "30000",
	"__range":         "1h",
	"__range_s":       "3600",
	"__range_ms":      "3600000",
}

// variableNames returns the names of the variables s references, in order,
// skipping $1-style regex group references.
func variableNames(s string) []string {
	var out []string
	for _, m := range variableRef.FindAllStringSubmatch(s, -1) {
		name := m[1] + m[2] + m[3]
		if name == "" || (name[0] >= '0' && name[0] <= '9') {
			continue
		}
		out = append(out, name)
	}
	return out
}

// substitute replaces every variable reference in s by its value.
func substitute(s string, value func(name string) (string, bool)) (string, error) {
	var missing []string
	out := variableRef.ReplaceAllStringFunc(s, func(ref string) string {
		names := variableNames(ref)
		if len(names) == 0 {
			return ref
		}
		v, ok := value(names[0])
		if !ok {
			missing = append(missing, names[0])
			return ref
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("undefined variables %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// Query is one PromQL query of a shipped dashboard, variables substituted.
type Query struct {
	File      string // dashboard file base name
	Dashboard string // dashboard title
	Panel     string // panel title; empty for a variable's query
	RefID     string // the panel target's refId; empty for a variable's query
	// Variable names the template variable whose label_values query this
	// is, rewritten as `group by (label) (selector)`; empty for panels.
	Variable string
	// Instant is true when the panel asks Grafana for an instant query
	// (stat, bar gauge and table panels); false means a range query.
	Instant bool
	Expr    string
	// Legend is the panel target's legend format; its {{label}}
	// references name labels each result series should carry.
	Legend string
}

// LegendLabels returns the labels the query's legend shows, in order.
func (q Query) LegendLabels() []string {
	var out []string
	for _, m := range legendLabel.FindAllStringSubmatch(q.Legend, -1) {
		out = append(out, m[1])
	}
	return out
}

// legendLabel matches a {{label}} reference of a legend format.
var legendLabel = regexp.MustCompile(`\{\{\s*(\w+)\s*\}\}`)

// String names the query for test failure messages.
func (q Query) String() string {
	if q.Variable != "" {
		return fmt.Sprintf("%s variable %s", q.File, q.Variable)
	}
	return fmt.Sprintf("%s panel %q query %s", q.File, q.Panel, q.RefID)
}

// labelValuesQuery matches the label_values(selector, label) form of a
// Prometheus variable query.
var labelValuesQuery = regexp.MustCompile(`(?s)^\s*label_values\(\s*(.+)\s*,\s*(\w+)\s*\)\s*$`)

// Queries returns every panel query and every label_values variable query of
// the dashboards in dir, with variables substituted from vars.
//
// vars maps a variable name (without "$") to the text that replaces it, as
// Grafana would format it: for the regex matchers the dashboards use, a
// regular expression. A dashboard variable missing from vars becomes ".*"
// (every value); Grafana's built-in $__rate_interval, $__interval and
// $__range default to 1m, 30s and 1h. The datasource variable appears in no
// query. Queries returns an error for a reference to a variable that is
// neither in vars, nor defined by the dashboard, nor built in.
func Queries(dir string, vars map[string]string) ([]Query, error) {
	ds, err := Load(dir)
	if err != nil {
		return nil, err
	}
	var out []Query
	for _, d := range ds {
		value := func(name string) (string, bool) {
			if v, ok := vars[name]; ok {
				return v, true
			}
			if v, ok := builtinVariables[name]; ok {
				return v, true
			}
			if _, ok := d.variable(name); ok {
				return ".*", true
			}
			return "", false
		}
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			m := labelValuesQuery.FindStringSubmatch(string(v.Query))
			if m == nil {
				return nil, fmt.Errorf("%s: variable %s: only label_values(selector, label) queries are supported, got %q",
					d.File, v.Name, v.Query)
			}
			expr, err := substitute(fmt.Sprintf("group by (%s) (%s)", m[2], m[1]), value)
			if err != nil {
				return nil, fmt.Errorf("%s: variable %s: %w", d.File, v.Name, err)
			}
			out = append(out, Query{File: d.File, Dashboard: d.Title, Variable: v.Name, Instant: true, Expr: expr})
		}
		for _, p := range d.AllPanels() {
			for _, t := range p.Targets {
				expr, err := substitute(t.Expr, value)
				if err != nil {
					return nil, fmt.Errorf("%s: panel %q query %s: %w", d.File, p.Title, t.RefID, err)
				}
				out = append(out, Query{
					File: d.File, Dashboard: d.Title, Panel: p.Title, RefID: t.RefID,
					Instant: t.Instant, Expr: expr, Legend: t.LegendFormat,
				})
			}
		}
	}
	return out, nil
}
