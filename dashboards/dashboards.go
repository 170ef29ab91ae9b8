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
// The JSON files are rendered from the monitoring mixin in mixin/
// (mixin/dashboards/): edit the mixin, run `make mixin`, and
// `go test ./dashboards` checks the rules every shipped dashboard follows
// (see Lint). A dashboard changed in Grafana is brought back into the
// mixin by hand; `make test` fails while a file differs from the render.
// This package is the only reader of Grafana's JSON model; the rest of the
// project works from what it extracts:
//
//   - Extract lists every PromQL query of the dashboards as written, with
//     its variable references resolved (QueryInfo). The command
//     internal/cmd/dashqueries writes that list as JSON for dashcheck, a
//     program of the tools/prometheus module that make runs, which checks
//     the PromQL with Prometheus' own parser; the parser stays out of the
//     exporter's dependencies, and the Grafana model out of the tools'.
//   - Queries lists the same queries with their variables substituted, so
//     a test can run them against a real Prometheus.
package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
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
	Format       string      `json:"format"`
	Datasource   *Datasource `json:"datasource"`
	// Instant and Range ask Grafana for an instant query, a range query or
	// both; with neither, Grafana runs a range query.
	Instant bool `json:"instant"`
	Range   bool `json:"range"`
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
