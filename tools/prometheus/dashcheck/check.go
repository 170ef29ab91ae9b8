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

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// counterSuffixes mark the series that only make sense through rate() or
// increase(): the exporter's metric names follow the Prometheus naming
// conventions, which promtool's lint of its /metrics enforces.
var counterSuffixes = []string{"_total", "_bucket", "_count", "_sum"}

func isCounter(metric string) bool {
	for _, s := range counterSuffixes {
		if strings.HasSuffix(metric, s) {
			return true
		}
	}
	return false
}

// exporterWide are the exporter's metrics that describe the process rather
// than one of the companies it serves, and so have no company label. Every
// other kartustok_ metric has one; up, Prometheus' own, has none.
var exporterWide = map[string]bool{
	"kartustok_exporter_build_info":                               true,
	"kartustok_exporter_companies":                                true,
	"kartustok_exporter_shard_ordinal":                            true,
	"kartustok_exporter_total_shards":                             true,
	"kartustok_config_file_last_reload_successful":                true,
	"kartustok_config_file_last_reload_success_timestamp_seconds": true,
}

// perCompany tells whether the series of metric carry the company label.
func perCompany(metric string) bool {
	return strings.HasPrefix(metric, "kartustok_") && !exporterWide[metric]
}

// rateFunctions are where a counter may appear.
var rateFunctions = map[string]bool{"rate": true, "increase": true}

// counterFunctions make sense only for counters.
var counterFunctions = map[string]bool{"rate": true, "increase": true, "irate": true, "resets": true}

// checker runs the PromQL checks over queries and collects what it finds.
type checker struct {
	parser parser.Parser
	// metrics holds the series names the exporter exposes, read from an
	// exposition such as the golden /metrics page; nil when none was given,
	// and then names are checked by their prefix only.
	metrics     map[string]bool
	metricsFile string
	// required are the matchers every selector must carry as they are, the
	// monitoring mixin's kartustokSelector; none when no selector was
	// given.
	required     []*labels.Matcher
	requiredText string

	findings                       []string
	files                          map[string]bool
	dashboards, queries, selectors int
}

// newChecker returns a checker; metricsFile, if not empty, is a text
// exposition whose series are the only metrics queries may select.
// Selectors may be required to carry matchers with requireSelector.
func newChecker(metricsFile string) (*checker, error) {
	// The default options are those of a Prometheus server started without
	// feature flags: experimental functions are rejected, as they would be
	// when the dashboard runs.
	c := &checker{parser: parser.NewParser(parser.Options{}), files: map[string]bool{}}
	if metricsFile != "" {
		names, err := loadMetrics(metricsFile)
		if err != nil {
			return nil, err
		}
		c.metrics, c.metricsFile = names, metricsFile
	}
	return c, nil
}

// loadMetrics returns the series names declared by the # TYPE lines of the
// exposition in file, in the text format or OpenMetrics: a histogram's
// _bucket, _count and _sum, a summary's own name, _count and _sum, a
// counter's name with _total, any other family's name. Only the
// declarations are read, so a golden file whose varying values are
// normalised to placeholders serves as well as a live page.
func loadMetrics(file string) (map[string]bool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for i, line := range strings.Split(string(data), "\n") {
		rest, ok := strings.CutPrefix(line, "# TYPE ")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s:%d: malformed TYPE line %q", file, i+1, line)
		}
		name := fields[0]
		switch fields[1] {
		case "histogram", "gaugehistogram":
			names[name+"_bucket"], names[name+"_count"], names[name+"_sum"] = true, true, true
		case "summary":
			names[name], names[name+"_count"], names[name+"_sum"] = true, true, true
		case "counter":
			// OpenMetrics declares a counter without its _total.
			names[name] = true
			if !strings.HasSuffix(name, "_total") {
				names[name+"_total"] = true
			}
		case "info":
			names[name], names[name+"_info"] = true, true
		case "gauge", "untyped", "unknown", "stateset":
			names[name] = true
		default:
			return nil, fmt.Errorf("%s:%d: unknown metric type %q", file, i+1, fields[1])
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no # TYPE lines", file)
	}
	return names, nil
}

// requireSelector makes every series selector carry the matchers of sel,
// comma-separated as between a selector's braces (job="kartustok",
// cluster="x"): the monitoring mixin's kartustokSelector.
func (c *checker) requireSelector(sel string) error {
	ms, err := c.parser.ParseMetricSelector("{" + sel + "}")
	if err != nil {
		return fmt.Errorf("selector %q: %w", sel, err)
	}
	if len(ms) == 0 {
		return fmt.Errorf("selector %q has no matchers", sel)
	}
	c.required, c.requiredText = ms, sel
	return nil
}

// errorf records a finding about q once, however many selectors of the
// query share the problem.
func (c *checker) errorf(q *query, format string, args ...any) {
	f := fmt.Sprintf("%s: %s: %s", q.File, q.where(), fmt.Sprintf(format, args...))
	if !slices.Contains(c.findings, f) {
		c.findings = append(c.findings, f)
	}
}

// check checks one query of a dashboard, a label_values variable query or a
// panel query:
//
//   - the query parses as PromQL once its variables are replaced, and a
//     range query returns an instant vector or a scalar;
//   - every selector names a kartustok_ metric (or up), one the exporter
//     exposes when an exposition was given, and filters job=~"$job" and
//     instance=~"$instance", and company=~"$company" when the metric is
//     per company (a variable query filters by the variables before it:
//     instance by job, company by job and instance, the rest by all
//     three); a selector of a metric without the company label (up, the
//     exporter-wide ones) does not filter by company, which would select
//     nothing once one company is chosen;
//   - counters (_total, _bucket, _count, _sum) appear only as the range
//     vector of rate() or increase() over [$__rate_interval], rate-like
//     functions are never applied to anything else, and other ranges are
//     Grafana interval variables rather than fixed durations;
//   - a matcher on a multi-value variable uses =~ or !~;
//   - every selector, variable queries' too, carries the matchers
//     requireSelector asked for, if any.
func (c *checker) check(q *query) {
	if !c.files[q.File] {
		c.files[q.File] = true
		c.dashboards++
	}
	c.queries++
	if q.Variable != "" {
		c.variableQuery(q)
	} else {
		c.panelQuery(q)
	}
}

// expand replaces the variables of q by placeholders and reports the
// references it cannot resolve; it returns nil when the query cannot be
// checked.
func (c *checker) expand(q *query) *expansion {
	e := expand(q.Expr, q.Refs)
	for _, name := range e.undefined {
		c.errorf(q, "$%s is neither a dashboard variable nor a Grafana built-in", name)
	}
	if e.clash != "" {
		c.errorf(q, "the query contains %q, which the check uses for its placeholders; it cannot be checked", e.clash)
		return nil
	}
	return e
}

func (c *checker) panelQuery(q *query) {
	if strings.TrimSpace(q.Expr) == "" {
		c.errorf(q, "empty expression")
		return
	}
	e := c.expand(q)
	if e == nil {
		return
	}
	expr, err := c.parser.ParseExpr(e.text)
	if err != nil {
		c.errorf(q, "%s", e.parseError(err))
		return
	}
	if typ := expr.Type(); q.Range && typ != parser.ValueTypeVector && typ != parser.ValueTypeScalar {
		c.errorf(q, "runs as a range query, which needs an instant vector or a scalar, but returns a %s", typ)
	}
	sels := selectors(expr)
	if len(sels) == 0 {
		c.errorf(q, "no series selector")
	}
	for _, s := range sels {
		c.selector(q, e, s)
	}
}

func (c *checker) variableQuery(q *query) {
	if q.Label == "" {
		c.errorf(q, "query %q is not label_values(selector, label)", q.Query)
		return
	}
	e := c.expand(q)
	if e == nil {
		return
	}
	expr, err := c.parser.ParseExpr(e.text)
	if err != nil {
		c.errorf(q, "%s", e.parseError(err))
		return
	}
	vs, ok := expr.(*parser.VectorSelector)
	if !ok {
		c.errorf(q, "label_values takes a series selector, not %s", e.orig)
		return
	}
	// Each variable narrows by the ones above it: job lists every job,
	// instance the instances of the chosen jobs, company the companies of
	// the chosen instances, the rest values from the chosen companies.
	c.selectors++
	name := c.metricName(q, e, vs)
	var want []string
	switch q.Variable {
	case "job":
	case "instance":
		want = []string{"job"}
	case "company":
		want = []string{"job", "instance"}
	default:
		want = wantFilters(name)
	}
	c.filters(q, e, vs, name, want)
}

// wantFilters returns the variables a selector of metric must filter by.
func wantFilters(metric string) []string {
	if perCompany(metric) {
		return []string{"job", "instance", "company"}
	}
	return []string{"job", "instance"}
}

// selector is one series selector of a query and what surrounds it.
type selector struct {
	vs *parser.VectorSelector
	// function is the innermost function or aggregation the selector is an
	// argument of, however deep in parentheses and operators; "" if none.
	function string
	// matrix is the range selector the selector is the vector of, if any.
	matrix *parser.MatrixSelector
	// subquery is the innermost subquery around the selector below
	// function, if any and if there is no matrix.
	subquery *parser.SubqueryExpr
}

// selectors returns every series selector of expr, in order.
func selectors(expr parser.Expr) []selector {
	var out []selector
	parser.Inspect(expr, func(node parser.Node, path []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		s := selector{vs: vs}
		if len(path) > 0 {
			s.matrix, _ = path[len(path)-1].(*parser.MatrixSelector)
		}
	walk:
		for _, n := range slices.Backward(path) {
			switch n := n.(type) {
			case *parser.Call:
				s.function = n.Func.Name
				break walk
			case *parser.AggregateExpr:
				s.function = n.Op.String()
				break walk
			case *parser.SubqueryExpr:
				if s.matrix == nil && s.subquery == nil {
					s.subquery = n
				}
			}
		}
		out = append(out, s)
		return nil
	})
	return out
}

// metricName returns the metric name of vs, "" if it has none, and reports
// a missing or foreign one.
func (c *checker) metricName(q *query, e *expansion, vs *parser.VectorSelector) string {
	name := vs.Name
	if name == "" {
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
	}
	switch {
	case name == "":
		c.errorf(q, "selector without a metric name: %s", e.original(vs.PositionRange()))
	case name == "up":
	case !strings.HasPrefix(name, "kartustok_"):
		c.errorf(q, "%s is not a kartustok_ metric", e.restore(name))
	case c.metrics != nil && !c.metrics[name]:
		c.errorf(q, "%s is not among the metrics the exporter exposes (%s)", name, c.metricsFile)
	}
	return name
}

func (c *checker) selector(q *query, e *expansion, s selector) {
	c.selectors++
	name := c.metricName(q, e, s.vs)
	c.filters(q, e, s.vs, name, wantFilters(name))
	if name == "" {
		return
	}
	shown := e.restore(name)

	var (
		rng      string // the range as written, brackets stripped
		hasRange bool
		rangeVar ref // the variable the range is, if it is one
		isVar    bool
	)
	switch {
	case s.matrix != nil:
		rng, hasRange = rangeText(e.original(s.matrix.PositionRange())), true
		rangeVar, isVar = e.durations[s.matrix.Range]
		isVar = isVar && s.matrix.RangeExpr == nil
	case s.subquery != nil:
		rng, hasRange = rangeText(e.original(s.subquery.PositionRange())), true
		rangeVar, isVar = e.durations[s.subquery.Range]
		isVar = isVar && s.subquery.RangeExpr == nil
	}

	counter := isCounter(name)
	switch {
	case counter && !rateFunctions[s.function]:
		c.errorf(q, "counter %s must be inside rate() or increase(), found in %q", shown, s.function)
	case counter && (s.matrix == nil || !isVar || rangeVar.Name != "__rate_interval"):
		c.errorf(q, "counter %s must use [$__rate_interval], found [%s]", shown, rng)
	case !counter && counterFunctions[s.function]:
		c.errorf(q, "%s() of %s, which is not a counter", s.function, shown)
	case !counter && hasRange && !isVar:
		c.errorf(q, "range [%s] on %s is fixed; use a Grafana interval variable", rng, shown)
	}
}

// rangeText returns what is inside the last [...] of the text of a range
// selector or subquery.
func rangeText(s string) string {
	i := strings.LastIndexByte(s, '[')
	if i < 0 {
		return s
	}
	s = s[i+1:]
	if j := strings.IndexByte(s, ']'); j >= 0 {
		s = s[:j]
	}
	return strings.TrimSpace(s)
}

// filters checks that vs, a selector of metric ("" if unknown), has the
// label=~"$label" matcher for each of want, that it has no company matcher
// if metric has no company label, and that matchers on multi-value
// variables are regex matchers.
func (c *checker) filters(q *query, e *expansion, vs *parser.VectorSelector, metric string, want []string) {
	name := e.restore(vs.Name)
	if name == "" {
		name = e.original(vs.PositionRange())
	}
	if metric != "" && !perCompany(metric) {
		for _, m := range vs.LabelMatchers {
			if m.Name == "company" {
				c.errorf(q, "selector %s filters by company, a label it does not have", name)
			}
		}
	}
	for _, label := range want {
		ok := false
		for _, m := range vs.LabelMatchers {
			v := e.restore(m.Value)
			if m.Name == label && m.Type == labels.MatchRegexp && (v == "$"+label || v == "${"+label+"}") {
				ok = true
			}
		}
		if !ok {
			c.errorf(q, `selector %s has no %s=~"$%s" filter`, name, label, label)
		}
	}
	for _, want := range c.required {
		if !hasMatcher(vs, e, want) {
			c.errorf(q, "selector %s lacks %s, a matcher of the selector %s", name, want, c.requiredText)
		}
	}
	for _, m := range vs.LabelMatchers {
		for _, r := range e.refsIn(m.Value) {
			if r.Multi && m.Type != labels.MatchRegexp && m.Type != labels.MatchNotRegexp {
				c.errorf(q, "%s%s%q uses multi-value $%s without a regex matcher", m.Name, m.Type, e.restore(m.Value), r.Name)
			}
		}
	}
}

// hasMatcher tells whether vs has a matcher with the label, operator and
// value, as written, of want.
func hasMatcher(vs *parser.VectorSelector, e *expansion, want *labels.Matcher) bool {
	for _, m := range vs.LabelMatchers {
		if m.Name == want.Name && m.Type == want.Type && e.restore(m.Value) == want.Value {
			return true
		}
	}
	return false
}
