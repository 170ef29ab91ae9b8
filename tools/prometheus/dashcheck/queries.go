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

// dashcheck does not read Grafana's dashboard JSON: the exporter's
// dashboards package is its only reader, and the exporter's command
// internal/cmd/dashqueries writes what dashcheck needs of every query as a
// JSON array of dashboards.QueryInfo, whose comments say what each field
// holds. dashcheck reads that JSON rather than importing the package:
// requiring the exporter's module here would put the exporter's dependency
// versions into the build of the pinned Prometheus programs.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// query is one PromQL query of a dashboard: a panel target's, or a query
// variable's (Variable set).
type query struct {
	File     string `json:"file"`
	Panel    string `json:"panel"`
	PanelID  int    `json:"panelId"`
	RefID    string `json:"refId"`
	Variable string `json:"variable"`
	// Query is a variable's query as written; Label is set when that is
	// label_values(selector, label), and Expr is then the selector.
	Query string `json:"query"`
	Label string `json:"label"`
	// Expr is the PromQL as written, with the variable references Refs.
	Expr string `json:"expr"`
	Refs []ref  `json:"refs"`
	// Range is set when Grafana runs the query as a range query.
	Range bool `json:"range"`
}

// ref is one reference to a Grafana variable: Expr[Start:End] is the
// reference as written ($job, ${job:regex}, [[job]]).
type ref struct {
	Start int    `json:"start"`
	End   int    `json:"end"`
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	// Multi is set when the variable may stand for several values, which
	// Grafana writes as a regular expression.
	Multi bool `json:"multi"`
}

// What a variable stands for, in ref.Kind.
const (
	kindDuration  = "duration"  // $__rate_interval, $__interval, $__range, interval variables
	kindNumber    = "number"    // $__interval_ms, $__range_s, $__range_ms
	kindText      = "text"      // any other variable of the dashboard
	kindUndefined = "undefined" // neither a dashboard variable nor built in
)

// where names the query in messages, as the exporter's dashboard lint does.
func (q *query) where() string {
	if q.Variable != "" {
		return "variable " + q.Variable
	}
	panel := fmt.Sprintf("panel %q", q.Panel)
	if strings.TrimSpace(q.Panel) == "" {
		panel = fmt.Sprintf("panel id %d", q.PanelID)
	}
	return panel + " query " + q.RefID
}

// readQueries reads the queries dashqueries wrote to the file name, or to
// stdin when name is "-".
func readQueries(name string, stdin io.Reader) ([]query, error) {
	var (
		data []byte
		err  error
	)
	if name == "-" {
		name = "standard input"
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, err
	}
	var qs []query
	if err := json.Unmarshal(data, &qs); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(qs) == 0 {
		return nil, fmt.Errorf("%s: no queries", name)
	}
	for i := range qs {
		if err := qs[i].validate(); err != nil {
			return nil, fmt.Errorf("%s: query %d: %w", name, i+1, err)
		}
	}
	return qs, nil
}

// validate rejects a query whose fields cannot be what dashqueries writes,
// such as one read from JSON of another format.
func (q *query) validate() error {
	if q.File == "" {
		return errors.New(`no "file"`)
	}
	last := 0
	for _, r := range q.Refs {
		if r.Start < last || r.End <= r.Start || r.End > len(q.Expr) {
			return fmt.Errorf("%s: %s: reference $%s at %d-%d is out of order or outside the expression",
				q.File, q.where(), r.Name, r.Start, r.End)
		}
		switch r.Kind {
		case kindDuration, kindNumber, kindText, kindUndefined:
		default:
			return fmt.Errorf("%s: %s: reference $%s of unknown kind %q", q.File, q.where(), r.Name, r.Kind)
		}
		last = r.End
	}
	return nil
}
