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
	"fmt"
	"regexp"
	"strings"
)

// QueryInfo is one PromQL query of a dashboard with what a PromQL checker
// needs to know of it, and nothing of Grafana's JSON model.
//
// dashcheck (tools/prometheus/dashcheck) reads a list of them as JSON,
// written by internal/cmd/dashqueries, because its module cannot import
// this one. The JSON names are therefore a format: add fields freely, but
// rename or remove one only together with dashcheck's reader.
type QueryInfo struct {
	File      string `json:"file"`      // dashboard file base name
	Dashboard string `json:"dashboard"` // dashboard title

	// A panel's query has the panel's title and id (which names a panel
	// without title) and the target's refId.
	Panel   string `json:"panel,omitempty"`
	PanelID int    `json:"panelId,omitempty"`
	RefID   string `json:"refId,omitempty"`

	// A query variable's query has the variable's name and its query as
	// written. When the query is label_values(selector, label), Label is
	// the label and Expr the selector; otherwise both are empty.
	Variable string `json:"variable,omitempty"`
	Query    string `json:"query,omitempty"`
	Label    string `json:"label,omitempty"`

	// Expr is the PromQL as written, Grafana variables included.
	Expr string `json:"expr"`
	// Refs are Expr's references to Grafana variables, in order.
	Refs []Ref `json:"refs,omitempty"`

	// Instant and Range tell how Grafana runs the query: as an instant
	// query, as a range query over the dashboard's time range, or both. A
	// variable's query is instant.
	Instant bool `json:"instant"`
	Range   bool `json:"range"`
	// Legend is a panel target's legend format; its {{label}} references
	// name labels each result series should carry.
	Legend string `json:"legend,omitempty"`
}

// Ref is one reference to a Grafana variable in an expression.
type Ref struct {
	// Start and End delimit the reference as written ($job, ${job},
	// ${job:regex}, [[job]]) in the expression, in bytes.
	Start int    `json:"start"`
	End   int    `json:"end"`
	Name  string `json:"name"`
	// Kind tells what Grafana puts in the reference's place: one of
	// KindDuration, KindNumber and KindText, or KindUndefined for a name
	// that is neither a variable of the dashboard nor built in.
	Kind string `json:"kind"`
	// Multi is set for a variable that may stand for several values (a
	// multi-value variable or one with an All option): Grafana then puts
	// a regular expression in its place.
	Multi bool `json:"multi,omitempty"`
}

// The kinds of Ref.
const (
	// KindDuration is a duration such as 1m: $__rate_interval, $__interval,
	// $__range and interval variables.
	KindDuration = "duration"
	// KindNumber is a number: $__interval_ms, $__range_s and $__range_ms.
	KindNumber = "number"
	// KindText is any other variable of the dashboard.
	KindText = "text"
	// KindUndefined is a name the dashboard does not define.
	KindUndefined = "undefined"
)

// builtinVariables are Grafana's global variables a Prometheus query may
// use: the kind of each, and the value Queries gives it when the caller
// gives none.
var builtinVariables = map[string]struct{ kind, value string }{
	"__rate_interval": {KindDuration, "1m"},
	"__interval":      {KindDuration, "30s"},
	"__interval_ms":   {KindNumber, "30000"},
	"__range":         {KindDuration, "1h"},
	"__range_s":       {KindNumber, "3600"},
	"__range_ms":      {KindNumber, "3600000"},
}

// variableRef matches Grafana's variable syntaxes: $name, ${name},
// ${name:format} and the deprecated [[name]] and [[name:format]].
var variableRef = regexp.MustCompile(`\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]`)

// findRefs returns the variable references in s, in order, skipping
// $1-style regular expression group references; Kind and Multi are unset.
func findRefs(s string) []Ref {
	var out []Ref
	for _, m := range variableRef.FindAllStringSubmatchIndex(s, -1) {
		var name string
		for g := 2; g < len(m); g += 2 {
			if m[g] >= 0 {
				name = s[m[g]:m[g+1]]
			}
		}
		if name == "" || (name[0] >= '0' && name[0] <= '9') {
			continue
		}
		out = append(out, Ref{Start: m[0], End: m[1], Name: name})
	}
	return out
}

// refs returns the variable references in s with what d says of each.
func (d *Dashboard) refs(s string) []Ref {
	out := findRefs(s)
	for i := range out {
		r := &out[i]
		if b, ok := builtinVariables[r.Name]; ok {
			r.Kind = b.kind
			continue
		}
		v, ok := d.variable(r.Name)
		switch {
		case !ok:
			r.Kind = KindUndefined
			continue
		case v.Type == "interval":
			r.Kind = KindDuration
		default:
			r.Kind = KindText
		}
		r.Multi = v.Multi || v.IncludeAll
	}
	return out
}

// labelValuesQuery matches the label_values(selector, label) form of a
// Prometheus variable query.
var labelValuesQuery = regexp.MustCompile(`(?s)^\s*label_values\(\s*(.+)\s*,\s*(\w+)\s*\)\s*$`)

// Extract returns every PromQL query of the dashboards in dir (see Load),
// dashboard by dashboard: the query of each query variable, then each
// panel target in document order.
func Extract(dir string) ([]QueryInfo, error) {
	ds, err := Load(dir)
	if err != nil {
		return nil, err
	}
	var out []QueryInfo
	for _, d := range ds {
		out = append(out, d.QueryInfos()...)
	}
	return out, nil
}

// QueryInfos returns the PromQL queries of d, as Extract does.
func (d *Dashboard) QueryInfos() []QueryInfo {
	var out []QueryInfo
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q := QueryInfo{File: d.File, Dashboard: d.Title, Variable: v.Name, Query: string(v.Query), Instant: true}
		if m := labelValuesQuery.FindStringSubmatch(q.Query); m != nil {
			q.Expr, q.Label = strings.TrimSpace(m[1]), m[2]
			q.Refs = d.refs(q.Expr)
		}
		out = append(out, q)
	}
	for _, p := range d.AllPanels() {
		for _, t := range p.Targets {
			out = append(out, QueryInfo{
				File: d.File, Dashboard: d.Title, Panel: p.Title, PanelID: p.ID, RefID: t.RefID,
				Expr: t.Expr, Refs: d.refs(t.Expr),
				Instant: t.Instant, Range: t.Range || !t.Instant, Legend: t.LegendFormat,
			})
		}
	}
	return out
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
	qis, err := Extract(dir)
	if err != nil {
		return nil, err
	}
	value := func(r Ref) (string, bool) {
		if v, ok := vars[r.Name]; ok {
			return v, true
		}
		if b, ok := builtinVariables[r.Name]; ok {
			return b.value, true
		}
		return ".*", r.Kind != KindUndefined
	}
	out := make([]Query, 0, len(qis))
	for _, qi := range qis {
		where := fmt.Sprintf("panel %q query %s", qi.Panel, qi.RefID)
		if qi.Variable != "" {
			where = "variable " + qi.Variable
			if qi.Label == "" {
				return nil, fmt.Errorf("%s: %s: only label_values(selector, label) queries are supported, got %q",
					qi.File, where, qi.Query)
			}
		}
		expr, err := substitute(qi.Expr, qi.Refs, value)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", qi.File, where, err)
		}
		if qi.Variable != "" {
			expr = fmt.Sprintf("group by (%s) (%s)", qi.Label, expr)
		}
		out = append(out, Query{
			File: qi.File, Dashboard: qi.Dashboard, Panel: qi.Panel, RefID: qi.RefID, Variable: qi.Variable,
			Instant: qi.Instant, Expr: expr, Legend: qi.Legend,
		})
	}
	return out, nil
}

// substitute replaces the references refs of expr by their values.
func substitute(expr string, refs []Ref, value func(Ref) (string, bool)) (string, error) {
	var (
		b       strings.Builder
		missing []string
		last    int
	)
	for _, r := range refs {
		v, ok := value(r)
		if !ok {
			missing = append(missing, r.Name)
			continue
		}
		b.WriteString(expr[last:r.Start])
		b.WriteString(v)
		last = r.End
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("undefined variables %s", strings.Join(missing, ", "))
	}
	b.WriteString(expr[last:])
	return b.String(), nil
}
