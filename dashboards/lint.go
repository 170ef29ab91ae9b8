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
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// datasourceRef is the only data source a panel, target or variable may
// use: the dashboard's own datasource variable, so one import works against
// any Prometheus.
const datasourceRef = "${datasource}"

// uidPattern is what Grafana accepts as a dashboard uid.
var uidPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,40}$`)

// LintAll checks the dashboards together: each one with Lint, and every uid
// and title unique across them. It returns every problem found.
func LintAll(ds []*Dashboard) error {
	var errs []error
	uids, titles := map[string]string{}, map[string]string{}
	for _, d := range ds {
		errs = append(errs, Lint(d)...)
		if other, ok := uids[d.UID]; ok && d.UID != "" {
			errs = append(errs, fmt.Errorf("%s: uid %q also used by %s", d.File, d.UID, other))
		}
		if other, ok := titles[d.Title]; ok && d.Title != "" {
			errs = append(errs, fmt.Errorf("%s: title %q also used by %s", d.File, d.Title, other))
		}
		uids[d.UID], titles[d.Title] = d.File, d.File
	}
	return errors.Join(errs...)
}

// Lint checks one dashboard against the rules every shipped dashboard
// follows, the monitoring-mixin conventions:
//
//   - a stable uid and a title, "id": null, schemaVersion 36 or later;
//   - a datasource variable of type datasource for Prometheus, and job and
//     instance query variables; every variable query uses the datasource
//     variable and references only variables defined before it;
//   - every panel other than a row has a title, a description, a unit, the
//     datasource variable as data source and at least one non-empty query
//     with a unique refId; panel ids are unique and panels fit the
//     24-column grid;
//   - every variable query is label_values(selector, label);
//   - every variable referenced anywhere is defined or built in.
//
// The PromQL inside the queries is checked by dashcheck
// (tools/prometheus/dashcheck, run by make) on what Extract returns, with
// the parser Prometheus evaluates it with: that every query parses, that
// its selectors name the exporter's metrics and filter by $job and
// $instance, and that counters are read through rate() or increase() over
// $__rate_interval.
func Lint(d *Dashboard) []error {
	l := &linter{d: d}
	l.dashboard()
	l.variables()
	ids := map[int]string{}
	for _, p := range d.AllPanels() {
		if other, ok := ids[p.ID]; ok {
			l.errorf("panel %q: id %d also used by panel %q", p.Title, p.ID, other)
		}
		ids[p.ID] = p.Title
		l.panel(p)
	}
	return l.errs
}

type linter struct {
	d    *Dashboard
	errs []error
}

func (l *linter) errorf(format string, args ...any) {
	name := l.d.File
	if name == "" {
		name = l.d.UID
	}
	l.errs = append(l.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

func (l *linter) dashboard() {
	d := l.d
	if !uidPattern.MatchString(d.UID) {
		l.errorf("uid %q is not 1-40 letters, digits, - or _", d.UID)
	}
	if strings.TrimSpace(d.Title) == "" {
		l.errorf("no title")
	}
	if string(d.ID) != "null" {
		l.errorf(`"id" must be null so an import never overwrites another dashboard, got %s`, d.ID)
	}
	if d.SchemaVersion < 36 {
		l.errorf("schemaVersion %d is older than 36", d.SchemaVersion)
	}
	if len(d.Panels) == 0 {
		l.errorf("no panels")
	}
}

func (l *linter) variables() {
	seen := map[string]bool{}
	for _, v := range l.d.Templating.List {
		if seen[v.Name] {
			l.errorf("variable %s defined twice", v.Name)
		}
		for _, r := range findRefs(string(v.Query)) {
			if _, builtin := builtinVariables[r.Name]; !builtin && !seen[r.Name] {
				l.errorf("variable %s references $%s, which is not defined before it", v.Name, r.Name)
			}
		}
		seen[v.Name] = true
		switch v.Type {
		case "datasource":
			if v.Query != "prometheus" {
				l.errorf("variable %s: datasource variable for %q, want prometheus", v.Name, v.Query)
			}
		case "query":
			if v.Datasource == nil || v.Datasource.UID != datasourceRef {
				l.errorf("variable %s: data source must be %s", v.Name, datasourceRef)
			}
			if !labelValuesQuery.MatchString(string(v.Query)) {
				l.errorf("variable %s: query %q is not label_values(selector, label)", v.Name, v.Query)
			}
		}
	}
	ds, ok := l.d.variable("datasource")
	if !ok || ds.Type != "datasource" {
		l.errorf("no datasource variable of type datasource")
	}
	for _, name := range []string{"job", "instance"} {
		if v, ok := l.d.variable(name); !ok || v.Type != "query" {
			l.errorf("no %s query variable", name)
		}
	}
}

func (l *linter) panel(p Panel) {
	where := fmt.Sprintf("panel %q", p.Title)
	if strings.TrimSpace(p.Title) == "" {
		where = fmt.Sprintf("panel id %d", p.ID)
		l.errorf("%s: no title", where)
	}
	l.references(where+" title", p.Title)
	if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X < 0 || p.GridPos.X+p.GridPos.W > 24 {
		l.errorf("%s: gridPos %+v does not fit the 24-column grid", where, p.GridPos)
	}
	if p.Type == "row" {
		return
	}
	if strings.TrimSpace(p.Description) == "" {
		l.errorf("%s: no description", where)
	}
	if strings.TrimSpace(p.FieldConfig.Defaults.Unit) == "" {
		l.errorf("%s: no unit (fieldConfig.defaults.unit)", where)
	}
	if p.Datasource == nil || p.Datasource.UID != datasourceRef {
		l.errorf("%s: data source must be %s", where, datasourceRef)
	}
	if len(p.Targets) == 0 {
		l.errorf("%s: no queries", where)
	}
	refs := map[string]bool{}
	for _, t := range p.Targets {
		q := fmt.Sprintf("%s query %s", where, t.RefID)
		if t.RefID == "" || refs[t.RefID] {
			l.errorf("%s: refId missing or repeated", q)
		}
		refs[t.RefID] = true
		if t.Datasource != nil && t.Datasource.UID != datasourceRef {
			l.errorf("%s: data source must be %s", q, datasourceRef)
		}
		l.references(q+" legend", t.LegendFormat)
		l.expr(q, t.Expr)
	}
}

// references reports variables s uses that the dashboard does not define.
func (l *linter) references(where, s string) {
	for _, r := range l.d.refs(s) {
		if r.Kind == KindUndefined {
			l.errorf("%s: $%s is not a dashboard variable", where, r.Name)
		}
	}
}

func (l *linter) expr(where, expr string) {
	if strings.TrimSpace(expr) == "" {
		l.errorf("%s: empty expression", where)
		return
	}
	l.references(where, expr)
}
