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
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The repository this module lives in, whose exporter module has the
// dashboards, the golden /metrics page and the command that extracts the
// queries.
var repository = filepath.Join("..", "..", "..")

// The exporter's golden /metrics page: the metrics the dashboards may
// select. make runs dashcheck over the shipped dashboards with it.
var goldenMetrics = filepath.Join(repository, "collector", "testdata", "metrics.golden")

// dashqueries is the exporter's internal/cmd/dashqueries, built by TestMain,
// which extracts the queries from dashboards for dashcheck. The tests give
// it dashboards and dashcheck its output, as make does, so that they prove
// the rules hold for the dashboards as Grafana reads them.
var dashqueries string

// mixin is the command of tools/jsonnet that renders the monitoring mixin,
// built by TestMain unless KARTUSTOK_MIXIN names it.
var mixin string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "dashcheck-test")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		dashqueries = filepath.Join(dir, "dashqueries")
		// The exporter's module is built on its own, with its own
		// dependency versions.
		cmd := exec.Command("go", "build", "-o", dashqueries, "./internal/cmd/dashqueries")
		cmd.Dir = repository
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building the exporter's internal/cmd/dashqueries: %v\n%s", err, out)
			return 1
		}
		// The mixin's renderer, tools/jsonnet, as make built it or built
		// here, on its own too.
		mixin = os.Getenv("KARTUSTOK_MIXIN")
		if mixin == "" {
			mixin = filepath.Join(dir, "mixin")
			cmd := exec.Command("go", "build", "-o", mixin, ".")
			cmd.Dir = filepath.Join(repository, "tools", "jsonnet")
			cmd.Env = append(os.Environ(), "GOWORK=off")
			if out, err := cmd.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "building tools/jsonnet: %v\n%s", err, out)
				return 1
			}
		}
		return m.Run()
	}())
}

// extract runs dashqueries over the dashboards in dir and returns its
// output.
func extract(t *testing.T, dir string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(dashqueries, dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	return stdout.Bytes()
}

func newTestChecker(t *testing.T) *checker {
	t.Helper()
	c, err := newChecker(goldenMetrics)
	require.NoError(t, err)
	return c
}

// The tests below break a copy of a dashboard in one way at a time and check
// the checker notices, so a passing check means something. The copy,
// testdata/stock.json, is the stock dashboard trimmed to a few panels, so
// these tests keep testing the checker while the shipped dashboards change.

type raw = map[string]any

func loadRaw(t *testing.T) raw {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "stock.json"))
	require.NoError(t, err)
	var d raw
	require.NoError(t, json.Unmarshal(data, &d))
	return d
}

func firstPanel(d raw) raw { return d["panels"].([]any)[0].(raw) }

func firstTarget(d raw) raw { return firstPanel(d)["targets"].([]any)[0].(raw) }

func setExpr(d raw, expr string) { firstTarget(d)["expr"] = expr }

func setRangeExpr(d raw, expr string) {
	firstTarget(d)["expr"] = expr
	firstTarget(d)["instant"] = false
	firstTarget(d)["range"] = true
}

func variables(d raw) []any { return d["templating"].(raw)["list"].([]any) }

// check runs the checks over d, saved as stock.json.
func check(t *testing.T, d raw) []string {
	t.Helper()
	qs := queriesOf(t, d)
	c := newTestChecker(t)
	for i := range qs {
		c.check(&qs[i])
	}
	return c.findings
}

const filter = `job=~"$job",instance=~"$instance",company=~"$company"`

func TestCatchesBrokenDashboards(t *testing.T) {
	for _, tc := range []struct {
		name    string
		breakIt func(d raw)
		want    string
	}{
		{"counter without rate", func(d raw) {
			setExpr(d, `sum(kartustok_api_requests_total{`+filter+`})`)
		}, `panel "Items below minimum" query A: counter kartustok_api_requests_total must be inside rate() or increase(), found in "sum"`},
		{"counter at the top level", func(d raw) {
			setExpr(d, `kartustok_api_requests_total{`+filter+`}`)
		}, `counter kartustok_api_requests_total must be inside rate() or increase(), found in ""`},
		{"counter under an operator inside rate", func(d raw) {
			setExpr(d, `sum(rate((kartustok_api_requests_total{`+filter+`} * 2)[$__rate_interval:]))`)
		}, "counter kartustok_api_requests_total must use [$__rate_interval], found [$__rate_interval:]"},
		{"histogram bucket without rate", func(d raw) {
			setExpr(d, `histogram_quantile(0.9, sum by (le) (kartustok_api_request_duration_seconds_bucket{`+filter+`}))`)
		}, "counter kartustok_api_request_duration_seconds_bucket must be inside rate()"},
		{"counter in irate", func(d raw) {
			setExpr(d, `irate(kartustok_api_requests_total{`+filter+`}[$__rate_interval])`)
		}, `must be inside rate() or increase(), found in "irate"`},
		{"rate over a fixed range", func(d raw) {
			setExpr(d, `sum(rate(kartustok_api_requests_total{`+filter+`}[5m]))`)
		}, "must use [$__rate_interval], found [5m]"},
		{"rate over $__interval", func(d raw) {
			setExpr(d, `sum(rate(kartustok_api_requests_total{`+filter+`}[$__interval]))`)
		}, "must use [$__rate_interval], found [$__interval]"},
		{"rate of a gauge", func(d raw) {
			setExpr(d, `rate(kartustok_stock_on_hand{`+filter+`}[$__rate_interval])`)
		}, "rate() of kartustok_stock_on_hand, which is not a counter"},
		{"gauge over a fixed range", func(d raw) {
			setExpr(d, `max_over_time(kartustok_up{`+filter+`}[1h])`)
		}, "range [1h] on kartustok_up is fixed; use a Grafana interval variable"},
		{"gauge in a fixed subquery", func(d raw) {
			setExpr(d, `max_over_time(kartustok_up{`+filter+`}[1h:$__interval])`)
		}, "range [1h:$__interval] on kartustok_up is fixed"},
		{"selector without instance filter", func(d raw) {
			setExpr(d, `kartustok_up{job=~"$job"}`)
		}, `selector kartustok_up has no instance=~"$instance" filter`},
		{"instance filter on a literal", func(d raw) {
			setExpr(d, `kartustok_up{job=~"$job",instance=~"localhost:9472"}`)
		}, `selector kartustok_up has no instance=~"$instance" filter`},
		{"instance filter negated", func(d raw) {
			setExpr(d, `kartustok_up{job=~"$job",instance!~"$instance"}`)
		}, `selector kartustok_up has no instance=~"$instance" filter`},
		{"second selector without filters", func(d raw) {
			setExpr(d, `kartustok_up{`+filter+`} * on(job, instance) group_left(company_name) kartustok_company_info`)
		}, `selector kartustok_company_info has no job=~"$job" filter`},
		{"job filter by equality", func(d raw) {
			setExpr(d, `kartustok_up{job="$job",instance=~"$instance"}`)
		}, `job="$job" uses multi-value $job without a regex matcher`},
		{"multi-value variable within a value", func(d raw) {
			setExpr(d, `kartustok_locator_info{`+filter+`,locator_name!="Gudang $warehouse"}`)
		}, `locator_name!="Gudang $warehouse" uses multi-value $warehouse without a regex matcher`},
		{"metric from another exporter", func(d raw) {
			setExpr(d, `node_load1{`+filter+`}`)
		}, "node_load1 is not a kartustok_ metric"},
		{"metric the exporter does not expose", func(d raw) {
			setExpr(d, `kartustok_stok_on_hand{`+filter+`}`)
		}, "kartustok_stok_on_hand is not among the metrics the exporter exposes"},
		{"histogram selected without a suffix", func(d raw) {
			setExpr(d, `kartustok_api_request_duration_seconds{`+filter+`}`)
		}, "kartustok_api_request_duration_seconds is not among the metrics"},
		{"selector without metric name", func(d raw) {
			setExpr(d, `{`+filter+`}`)
		}, `selector without a metric name: {` + filter + `}`},
		{"metric name from a variable", func(d raw) {
			setExpr(d, `{__name__=~"$item",`+filter+`}`)
		}, `selector without a metric name`},
		{"no selector at all", func(d raw) { setExpr(d, `vector(1)`) }, "query A: no series selector"},
		{"empty expression", func(d raw) { setExpr(d, " ") }, "query A: empty expression"},
		{"unbalanced parentheses", func(d raw) {
			setExpr(d, `sum(kartustok_up{`+filter+`}`)
		}, "query A: parse error at 1:72: unclosed left parenthesis"},
		{"unterminated string", func(d raw) {
			setExpr(d, `kartustok_up{job=~"$job",instance=~"$instance}`)
		}, "parse error at 1:36: unterminated quoted string"},
		{"misplaced quote", func(d raw) {
			setExpr(d, `kartustok_up{job=~"$job,instance=~"$instance"}`)
		}, `parse error at 1:36: unexpected identifier "$instance" in label matching, expected "," or "}"`},
		{"error position on a later line", func(d raw) {
			setExpr(d, "sum(\n  kartustok_up{"+filter+"}\n  + on() foo(1)\n)")
		}, `parse error at 3:10: unknown function with name "foo"`},
		{"error inside a variable", func(d raw) {
			setExpr(d, `topk($item, kartustok_up{`+filter+`})`)
		}, "query A: parse error at 1:"},
		{"experimental function", func(d raw) {
			setExpr(d, `limitk(1, kartustok_up{`+filter+`})`)
		}, "limitk() is experimental"},
		{"range vector from a range query", func(d raw) {
			setRangeExpr(d, `kartustok_up{`+filter+`}[$__range]`)
		}, "runs as a range query, which needs an instant vector or a scalar, but returns a matrix"},
		{"range vector from a target that does not ask for an instant query", func(d raw) {
			delete(firstTarget(d), "instant")
			setExpr(d, `kartustok_up{`+filter+`}[$__range]`)
		}, "runs as a range query, which needs an instant vector or a scalar, but returns a matrix"},
		{"undefined variable in a query", func(d raw) {
			setExpr(d, `kartustok_locator_info{`+filter+`,locator_name=~"$warehose"}`)
		}, "$warehose is neither a dashboard variable nor a Grafana built-in"},
		{"text that looks like a placeholder", func(d raw) {
			setExpr(d, `kartustok_up{`+filter+`,x="__var1_job__"}`)
		}, `the query contains "__var", which the check uses for its placeholders`},
		{"selector without company filter", func(d raw) {
			setExpr(d, `kartustok_stock_on_hand{job=~"$job",instance=~"$instance"}`)
		}, `selector kartustok_stock_on_hand has no company=~"$company" filter`},
		{"second selector without company filter", func(d raw) {
			setExpr(d, `kartustok_stock_on_hand{`+filter+`} * on(job, instance, company, item_id) group_left(item_name) kartustok_item_info{job=~"$job",instance=~"$instance"}`)
		}, `selector kartustok_item_info has no company=~"$company" filter`},
		{"company filter on up", func(d raw) {
			setExpr(d, `up{`+filter+`}`)
		}, `selector up filters by company, a label it does not have`},
		{"company filter on an exporter-wide metric", func(d raw) {
			setExpr(d, `kartustok_exporter_build_info{`+filter+`}`)
		}, `selector kartustok_exporter_build_info filters by company, a label it does not have`},
		{"variable not narrowed by instance", func(d raw) {
			variables(d)[4].(raw)["query"] = `label_values(kartustok_locator_info{job=~"$job",company=~"$company"}, locator_name)`
		}, `variable warehouse: selector kartustok_locator_info has no instance=~"$instance" filter`},
		{"variable not narrowed by company", func(d raw) {
			variables(d)[4].(raw)["query"] = `label_values(kartustok_locator_info{job=~"$job",instance=~"$instance"}, locator_name)`
		}, `variable warehouse: selector kartustok_locator_info has no company=~"$company" filter`},
		{"company variable not narrowed by instance", func(d raw) {
			variables(d)[3].(raw)["query"] = `label_values(kartustok_up{job=~"$job"}, company)`
		}, `variable company: selector kartustok_up has no instance=~"$instance" filter`},
		{"instance variable not narrowed by job", func(d raw) {
			variables(d)[2].(raw)["query"] = `label_values(kartustok_up, instance)`
		}, `variable instance: selector kartustok_up has no job=~"$job" filter`},
		{"variable from another exporter", func(d raw) {
			variables(d)[1].(raw)["query"] = `label_values(node_uname_info, job)`
		}, `variable job: node_uname_info is not a kartustok_ metric`},
		{"variable query that does not parse", func(d raw) {
			variables(d)[1].(raw)["query"] = `label_values(kartustok_up{job=~"x}, job)`
		}, `variable job: parse error at 1:19: unterminated quoted string`},
		{"variable query over an expression", func(d raw) {
			variables(d)[1].(raw)["query"] = `label_values(sum by (job) (kartustok_up), job)`
		}, "variable job: label_values takes a series selector, not sum by (job) (kartustok_up)"},
		{"unsupported variable query", func(d raw) {
			variables(d)[1].(raw)["query"] = `query_result(kartustok_up)`
		}, "is not label_values(selector, label)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := loadRaw(t)
			require.Empty(t, check(t, d), "the unbroken copy must pass")
			tc.breakIt(d)
			findings := check(t, d)
			require.NotEmpty(t, findings)
			assert.Contains(t, strings.Join(findings, "\n"), tc.want)
			for _, f := range findings {
				assert.True(t, strings.HasPrefix(f, "stock.json: "), "names the dashboard: %s", f)
				if !strings.Contains(tc.want, "placeholders") {
					assert.NotContains(t, f, identMark, "shows the query as written: %s", f)
					assert.NotContains(t, f, numberMark, "shows the query as written: %s", f)
				}
			}
		})
	}
}

func TestAcceptsValidVariations(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(d raw)
	}{
		{"braced variables", func(d raw) {
			setExpr(d, `sum(rate(kartustok_api_requests_total{job=~"${job}",instance=~"${instance}",company=~"${company}"}[${__rate_interval}]))`)
		}},
		{"metric name as a matcher", func(d raw) { setExpr(d, `{__name__="kartustok_up",`+filter+`}`) }},
		{"quoted metric name", func(d raw) { setExpr(d, `{"kartustok_up",`+filter+`}`) }},
		{"gauge over $__range", func(d raw) { setExpr(d, `max_over_time(kartustok_up{`+filter+`}[$__range])`) }},
		{"gauge over ${__range_s}s", func(d raw) {
			setExpr(d, `avg_over_time(kartustok_up{`+filter+`}[${__range_s}s])`)
		}},
		{"gauge over an interval variable", func(d raw) {
			d["templating"].(raw)["list"] = append(variables(d), raw{"name": "window", "type": "interval", "query": "5m,1h"})
			setExpr(d, `max_over_time(kartustok_up{`+filter+`}[$window])`)
		}},
		{"subquery over a variable range", func(d raw) {
			setRangeExpr(d, `max_over_time(sum(kartustok_stock_on_hand{`+filter+`})[$__range:$__interval])`)
		}},
		{"increase over the rate interval", func(d raw) {
			setRangeExpr(d, `sum by (endpoint) (increase(kartustok_api_errors_total{`+filter+`,reason="invalid_row"}[$__rate_interval]))`)
		}},
		{"regex group references", func(d raw) {
			setExpr(d, `label_replace(kartustok_up{`+filter+`}, "host", "$1", "instance", "(.*):.*")`)
		}},
		{"single-value variable by equality", func(d raw) {
			d["templating"].(raw)["list"] = append(variables(d), raw{"name": "site", "type": "custom", "query": "a,b"})
			setExpr(d, `kartustok_item_info{`+filter+`,category_name="$site"}`)
		}},
		{"multi-value variable in a negated regex", func(d raw) {
			setExpr(d, `kartustok_locator_info{`+filter+`,locator_name!~"$warehouse"}`)
		}},
		{"up", func(d raw) { setExpr(d, `up{job=~"$job",instance=~"$instance"}`) }},
		{"exporter-wide metric without company", func(d raw) {
			setExpr(d, `kartustok_exporter_build_info{job=~"$job",instance=~"$instance"}`)
		}},
		{"company-scoped metric joined to up", func(d raw) {
			setExpr(d, `kartustok_up{`+filter+`} * on(job, instance) group_left() up{job=~"$job",instance=~"$instance"}`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := loadRaw(t)
			tc.setup(d)
			assert.Empty(t, check(t, d))
		})
	}
}

func TestExpand(t *testing.T) {
	expr := `rate(x{job=~"$job",a="${job:regex}",b="$job"}[$__rate_interval]) / ${__range_s} + $nope + $1`
	var refs []ref
	from := 0
	for _, r := range []struct{ text, name, kind string }{
		{"$job", "job", kindText},
		{"${job:regex}", "job", kindText},
		{"$job", "job", kindText},
		{"$__rate_interval", "__rate_interval", kindDuration},
		{"${__range_s}", "__range_s", kindNumber},
		{"$nope", "nope", kindUndefined},
	} {
		i := strings.Index(expr[from:], r.text)
		require.GreaterOrEqual(t, i, 0, r.text)
		from += i + len(r.text)
		refs = append(refs, ref{Start: from - len(r.text), End: from, Name: r.name, Kind: r.kind})
	}
	e := expand(expr, refs)
	assert.Equal(t,
		`rate(x{job=~"__var1_job__",a="__var2_job__",b="__var1_job__"}[987654003ms]) / 987654004 + __var5_nope__ + $1`,
		e.text)
	assert.Equal(t, []string{"nope"}, e.undefined)
	assert.Empty(t, e.clash)
	assert.Equal(t, expr, e.restore(e.text))

	r, ok := e.durations[987654003*time.Millisecond]
	require.True(t, ok)
	assert.Equal(t, refs[3], r)
	r, ok = e.durations[987654004*time.Second]
	require.True(t, ok)
	assert.Equal(t, "__range_s", r.Name)

	assert.Equal(t, []ref{refs[1]}, e.refsIn("x__var2_job__"))

	// Offsets outside placeholders shift; inside one, they map to the
	// reference's start, or its end for an end offset.
	for _, tc := range []struct {
		sub, orig string
	}{
		{`rate(x{job=~"`, `rate(x{job=~"`},
		{`"__var1_job__"`, `"$job"`},
		{`[987654003ms]`, `[$__rate_interval]`},
		{`987654004 + __var5_nope__`, `${__range_s} + $nope`},
	} {
		i := strings.Index(e.text, tc.sub)
		require.GreaterOrEqual(t, i, 0, tc.sub)
		assert.Equal(t, tc.orig, e.orig[e.origPos(i, false):e.origPos(i+len(tc.sub), true)])
	}
	i := strings.Index(e.text, "ob__")
	assert.Equal(t, strings.Index(expr, "$job"), e.origPos(i, false))
	assert.Equal(t, strings.Index(expr, "$job")+len("$job"), e.origPos(i, true))

	assert.Equal(t, "2:3", expand("a +\n  b(", nil).position(len("a +\n  ")))
	assert.Equal(t, "__var", expand(`x{a="__var1_y__"}`, nil).clash)
}

func TestLoadMetrics(t *testing.T) {
	file := filepath.Join(t.TempDir(), "metrics.om")
	require.NoError(t, os.WriteFile(file, []byte(`# HELP a_seconds A histogram.
# TYPE a_seconds histogram
a_seconds_bucket{le="+Inf"} 1
# TYPE b counter
b_total 1
# TYPE c_total counter
# TYPE d gauge
# TYPE e summary
# TYPE f info
# EOF
`), 0o644))
	names, err := loadMetrics(file)
	require.NoError(t, err)
	for _, name := range []string{
		"a_seconds_bucket", "a_seconds_count", "a_seconds_sum", "b", "b_total", "c_total",
		"d", "e", "e_count", "e_sum", "f", "f_info",
	} {
		assert.True(t, names[name], name)
	}
	assert.Len(t, names, 12)

	require.NoError(t, os.WriteFile(file, []byte("# TYPE a sometimes\n"), 0o644))
	_, err = loadMetrics(file)
	require.ErrorContains(t, err, `metrics.om:1: unknown metric type "sometimes"`)
	require.NoError(t, os.WriteFile(file, []byte("a 1\n"), 0o644))
	_, err = loadMetrics(file)
	require.ErrorContains(t, err, "no # TYPE lines")
}

func TestReadQueries(t *testing.T) {
	qs, err := readQueries("-", bytes.NewReader(extract(t, "testdata")))
	require.NoError(t, err)
	require.Len(t, qs, 12)
	assert.Equal(t, "stock.json", qs[0].File)
	assert.Equal(t, "variable job", qs[0].where())
	assert.Equal(t, "variable company", qs[2].where())
	assert.Equal(t, `panel "Items below minimum" query A`, qs[6].where())
	assert.Equal(t, "panel id 7 query B", (&query{File: "x.json", PanelID: 7, RefID: "B"}).where())

	dir := t.TempDir()
	for _, tc := range []struct{ name, data, want string }{
		{"malformed", `[{"file": `, "malformed.json: unexpected end of JSON input"},
		{"empty", `[]`, "empty.json: no queries"},
		{"another format", `[{"title": "Stock"}]`, `another format.json: query 1: no "file"`},
		{
			"reference outside", `[{"file": "x.json", "variable": "job", "expr": "up", "refs": [{"start": 1, "end": 4, "name": "job", "kind": "text"}]}]`,
			"reference outside.json: query 1: x.json: variable job: reference $job at 1-4 is out of order or outside the expression",
		},
		{
			"references out of order", `[{"file": "x.json", "expr": "$a $b", "refs": [{"start": 3, "end": 5, "name": "b", "kind": "text"}, {"start": 0, "end": 2, "name": "a", "kind": "text"}]}]`,
			"reference $a at 0-2 is out of order",
		},
		{
			"unknown kind", `[{"file": "x.json", "expr": "$a", "refs": [{"start": 0, "end": 2, "name": "a", "kind": "string"}]}]`,
			`reference $a of unknown kind "string"`,
		},
	} {
		file := filepath.Join(dir, tc.name+".json")
		require.NoError(t, os.WriteFile(file, []byte(tc.data), 0o644))
		_, err := readQueries(file, nil)
		require.ErrorContains(t, err, tc.want, tc.name)
	}
	_, err = readQueries(filepath.Join(dir, "nonexistent.json"), nil)
	require.Error(t, err)
}

// queriesOf writes the dashboard d as stock.json and reads back the
// queries dashqueries extracts from it.
func queriesOf(t *testing.T, d any) []query {
	t.Helper()
	data, err := json.Marshal(d)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stock.json"), data, 0o644))
	qs, err := readQueries("-", bytes.NewReader(extract(t, dir)))
	require.NoError(t, err)
	return qs
}

// TestRequiresSelector checks -selector: every series selector, those of
// variable queries too, must carry each of its matchers as it is written.
func TestRequiresSelector(t *testing.T) {
	qs := queriesOf(t, loadRaw(t))

	// testdata/stock.json predates the mixin's selector: nothing carries it.
	c := newTestChecker(t)
	require.NoError(t, c.requireSelector(`job="inventory", cluster="x"`))
	for i := range qs {
		c.check(&qs[i])
	}
	assert.Contains(t, c.findings, `stock.json: panel "Items below minimum" query A: selector kartustok_stock_on_hand lacks job="inventory", a matcher of the selector job="inventory", cluster="x"`)
	assert.Contains(t, c.findings, `stock.json: panel "Items below minimum" query A: selector kartustok_stock_on_hand lacks cluster="x", a matcher of the selector job="inventory", cluster="x"`)
	assert.Contains(t, c.findings, `stock.json: variable job: selector kartustok_up lacks job="inventory", a matcher of the selector job="inventory", cluster="x"`)

	for _, tc := range []struct {
		name, expr string
		ok         bool
	}{
		{"both", `kartustok_up{cluster="x",job="inventory",` + filter + `}`, true},
		{"one", `kartustok_up{job="inventory",` + filter + `}`, false},
		{"another operator", `kartustok_up{job=~"inventory",cluster="x",` + filter + `}`, false},
		{"another value", `kartustok_up{job="inventory",cluster="y",` + filter + `}`, false},
		{"second selector without", `kartustok_up{job="inventory",cluster="x",` + filter + `} * kartustok_token_valid{` + filter + `}`, false},
	} {
		d := loadRaw(t)
		setExpr(d, tc.expr)
		qs := queriesOf(t, d)
		c := newTestChecker(t)
		require.NoError(t, c.requireSelector(`job="inventory", cluster="x"`))
		c.check(&qs[slices.IndexFunc(qs, func(q query) bool { return q.Panel == "Items below minimum" })])
		if tc.ok {
			assert.Empty(t, c.findings, tc.name)
		} else {
			assert.NotEmpty(t, c.findings, tc.name)
		}
	}

	c = newTestChecker(t)
	require.Error(t, c.requireSelector(`job=`))
	require.Error(t, c.requireSelector(``))
}

func TestRun(t *testing.T) {
	queries := filepath.Join(t.TempDir(), "queries.json")
	data := extract(t, "testdata")
	require.NoError(t, os.WriteFile(queries, data, 0o644))
	var stdout, stderr strings.Builder
	require.Equal(t, 0, run([]string{"-metrics", goldenMetrics, "-queries", queries}, nil, &stdout, &stderr), stderr.String())
	assert.Equal(t, "dashcheck: 1 dashboards, 12 queries, 23 selectors: OK\n", stdout.String())
	assert.Empty(t, stderr.String())

	stdout.Reset()
	require.Equal(t, 0, run([]string{"-metrics", goldenMetrics, "-queries", "-"}, bytes.NewReader(data), &stdout, &stderr), stderr.String())
	assert.Equal(t, "dashcheck: 1 dashboards, 12 queries, 23 selectors: OK\n", stdout.String())

	d := loadRaw(t)
	setExpr(d, `kartustok_up{job=~"$job",company=~"$company"}`)
	data, err := json.Marshal(d)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken.json"), data, 0o644))
	stdout.Reset()
	stderr.Reset()
	require.Equal(t, 1, run([]string{"-queries", "-"}, bytes.NewReader(extract(t, dir)), &stdout, &stderr))
	assert.Empty(t, stdout.String())
	assert.Equal(t, `broken.json: panel "Items below minimum" query A: selector kartustok_up has no instance=~"$instance" filter
dashcheck: 1 problem
`, stderr.String())

	for _, args := range [][]string{
		nil,
		{"-metrics", goldenMetrics},
		{"-metrics", "nonexistent.txt", "-queries", queries},
		{"-queries", "nonexistent.json"},
		{"-queries", "-"},
		{"-queries", queries, "testdata"},
		{"-queries", queries, "-selector", `job=`},
		{"-queries", queries, "-selector", ` `},
		{"-bogus"},
	} {
		stderr.Reset()
		assert.Equal(t, 2, run(args, strings.NewReader(""), &stdout, &stderr), "%q", args)
		assert.NotEmpty(t, stderr.String(), "%q", args)
	}
}
