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

// The part of Grafana's dashboard JSON model the checks read. The exporter's
// dashboards package has a fuller model for its own structural lint; this
// module reads the files itself rather than importing that package, because
// requiring the exporter's module here would put the exporter's dependency
// versions into the build of the pinned Prometheus programs.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
)

type dashboard struct {
	Title      string `json:"title"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`

	// file names the dashboard in messages: the file's base name.
	file string
}

type variable struct {
	Name       string      `json:"name"`
	Type       string      `json:"type"`
	Query      stringQuery `json:"query"`
	Multi      bool        `json:"multi"`
	IncludeAll bool        `json:"includeAll"`
}

// stringQuery accepts a variable query saved either as a string or as the
// object newer Grafana versions write ({"query": "..."}).
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

type panel struct {
	ID      int      `json:"id"`
	Type    string   `json:"type"`
	Title   string   `json:"title"`
	Targets []target `json:"targets"`
	// Panels holds the panels of a collapsed row.
	Panels []panel `json:"panels"`
}

type target struct {
	RefID   string `json:"refId"`
	Expr    string `json:"expr"`
	Instant bool   `json:"instant"`
	Range   bool   `json:"range"`
}

// rangeQuery tells whether Grafana runs the target as a range query: when
// asked to, or when it is not an instant query.
func (t target) rangeQuery() bool { return t.Range || !t.Instant }

// allPanels returns the dashboard's panels, those of collapsed rows
// included, in document order.
func (d *dashboard) allPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

func (d *dashboard) variable(name string) (variable, bool) {
	for _, v := range d.Templating.List {
		if v.Name == name {
			return v, true
		}
	}
	return variable{}, false
}

func parseDashboard(file string, data []byte) (*dashboard, error) {
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	d.file = filepath.Base(file)
	return &d, nil
}

// load reads the dashboards named by paths: each a *.json file, or a
// directory whose *.json files are read in name order.
func load(paths []string) ([]*dashboard, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		matches, err := filepath.Glob(filepath.Join(p, "*.json"))
		if err != nil {
			return nil, err
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("no *.json dashboards in %s", p)
		}
		slices.Sort(matches)
		files = append(files, matches...)
	}
	out := make([]*dashboard, 0, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		d, err := parseDashboard(f, data)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// labelValuesQuery matches the label_values(selector, label) form of a
// Prometheus variable query, the only form the shipped dashboards use.
var labelValuesQuery = regexp.MustCompile(`(?s)^\s*label_values\(\s*(.+)\s*,\s*(\w+)\s*\)\s*$`)
