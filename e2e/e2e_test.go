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

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kartustok/kartustok_exporter/dashboards"
	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

const (
	// toolsEnv names the directory holding the prometheus and alertmanager
	// binaries; `make e2e` sets it.
	toolsEnv = "KARTUSTOK_E2E_TOOLS"
	// companyName is the simulated company's name, expected in the token
	// alerts' descriptions.
	companyName = "PT Sinar Jaya Abadi"
	// shortFor replaces every `for` of the shipped rules, so alerts fire
	// within seconds while `for` is still exercised.
	shortFor = "3s"
	// inactiveItems are the items the minimums file of the Inactive-mode
	// company sets minimums for, one code a line.
	inactiveItems = "KS-00001\nKS-00002\nKS-00003\nKS-00004\nKS-00005\n"
)

// inactiveMinimums is that minimums file.
var inactiveMinimums = func() string {
	var b strings.Builder
	b.WriteString("items:\n")
	for code := range strings.FieldsSeq(inactiveItems) {
		fmt.Fprintf(&b, "  - code: %s\n    minimum: 100000\n    total_minimum: 1000000\n", code)
	}
	return b.String()
}()

// TestEndToEnd runs two simulated companies, an exporter for each,
// Prometheus with the example configuration and the shipped rules, and
// Alertmanager with the example routing, and checks what each consumer of
// the exporter sees: healthy rules, alerts that reach a receiver naming
// what is wrong and where, inhibitions that hold, and data behind every
// dashboard query.
func TestEndToEnd(t *testing.T) {
	tools := os.Getenv(toolsEnv)
	if tools == "" {
		t.Skipf("%s is not set: run `make e2e`, which builds Prometheus and Alertmanager into tools/bin and runs this test", toolsEnv)
	}
	promBin := filepath.Join(tools, "prometheus")
	amBin := filepath.Join(tools, "alertmanager")
	for _, b := range []string{promBin, amBin} {
		if _, err := os.Stat(b); err != nil {
			t.Fatalf("%s=%s, but %v: build the tools with `make tools`", toolsEnv, tools, err)
		}
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	step := func(what string) { t.Logf("%6.1fs %s", time.Since(start).Seconds(), what) }

	// The webhook stands in for every receiver of the example routing.
	hook := &webhook{}
	hookSrv := httptest.NewServer(hook)
	t.Cleanup(hookSrv.Close)

	exporterBin := buildExporter(ctx, t, root, dir)
	step("exporter built")

	// Two companies, each watched by its own exporter as the example
	// configuration advises: one keeps minimums per warehouse and has a
	// token that expires in two days, the other keeps one minimum per item
	// (Union mode). Between them every stock alert form and every dashboard
	// panel has something to show.
	warehouseCo := startCompany(ctx, t, dir, exporterBin, "warehouse", kartustoktest.Config{
		Seed: 7, Name: companyName, Locators: 3, Items: 40, BelowMinimum: 0.2,
		// A month of documents, some 25 a pair, so that items have a
		// 30-day outflow and some run out before the default lead time.
		HistoryDocs: 3 * 40 * 25,
	}, 48*time.Hour)
	unionCo := startCompany(ctx, t, dir, exporterBin, "union", kartustoktest.Config{
		Seed: 8, Name: "CV Maju Bersama", Subdomain: "majubersama", Locators: 2, Items: 30,
		MinimumStockMode: "union", BelowMinimum: 0.2,
	}, 60*24*time.Hour)
	// A third company keeps no minimums in KartuStok (mode Inactive) and
	// sets them in a minimums file instead: far above any balance, per
	// warehouse and in total, for its first five items.
	minimumsFile := filepath.Join(dir, "minimums.yml")
	mustWrite(t, minimumsFile, []byte(inactiveMinimums))
	inactiveCo := startCompany(ctx, t, dir, exporterBin, "inactive", kartustoktest.Config{
		Seed: 9, Name: "UD Sumber Rejeki", Subdomain: "sumberrejeki", Locators: 2, Items: 20,
		MinimumStockMode: "inactive",
	}, 90*24*time.Hour, "--stock.minimums-file="+minimumsFile)
	exporters := []*exporterUnderTest{warehouseCo, unionCo, inactiveCo}

	promAddr, amAddr := testkit.FreeAddr(t), testkit.FreeAddr(t)
	amCfg, err := alertmanagerConfig(filepath.Join(root, "examples", "alertmanager.yml"), hookSrv.URL)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, "alertmanager.yml"), amCfg)
	am := startChild(ctx, t, dir, "alertmanager", amBin,
		"--config.file="+filepath.Join(dir, "alertmanager.yml"),
		"--storage.path="+filepath.Join(dir, "alertmanager-data"),
		"--web.listen-address="+amAddr,
		"--cluster.listen-address=", // no gossip: a single instance on loopback
	)

	rules, err := shortenRules(filepath.Join(root, "alerts", "kartustok.rules.yml"), shortFor)
	if err != nil {
		t.Fatal(err)
	}
	rulesFile := filepath.Join(dir, "kartustok.rules.yml")
	mustWrite(t, rulesFile, rules)
	promCfg, err := prometheusConfig(filepath.Join(root, "examples", "prometheus.yml"),
		[]string{warehouseCo.addr, unionCo.addr, inactiveCo.addr}, amAddr, rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, "prometheus.yml"), promCfg)
	prom := startChild(ctx, t, dir, "prometheus", promBin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "prometheus-data"),
		"--web.listen-address="+promAddr,
	)

	am.waitHTTP(ctx, t, "http://"+amAddr+"/-/ready")
	for _, e := range exporters {
		e.waitHTTP(ctx, t, "http://"+e.addr+"/-/ready")
	}
	step("exporters ready (first stock refresh done)")
	prom.waitHTTP(ctx, t, "http://"+promAddr+"/-/ready")
	step("prometheus and alertmanager ready")
	p := promAPI{ctx: ctx, base: "http://" + promAddr}

	// The token reaches nothing the exporter exposes.
	for _, e := range exporters {
		for _, path := range []string{"/", "/metrics"} {
			if body := httpGet(ctx, t, "http://"+e.addr+path); strings.Contains(body, e.token) {
				t.Errorf("the token appears in the %s exporter's %s", e.name, path)
			}
		}
	}

	dataSince := waitStock(t, p, len(exporters))
	step("stock of every company in Prometheus")
	checkRules(t, p, rulesFile, dataSince)
	step("every rule group evaluated on that data with health ok")

	lowStock := waitAlert(t, p, hook, "KartuStokLowStock", func(a webhookAlert) bool {
		return a.Labels["instance"] == warehouseCo.addr && a.Labels["minimum"] == "warehouse"
	})
	step(fmt.Sprintf("KartuStokLowStock (warehouse minimum, %s) delivered to %s", companyName, lowStock.Receiver))
	checkLowStock(t, warehouseCo.company, lowStock)
	unionLow := waitAlert(t, p, hook, "KartuStokLowStock", func(a webhookAlert) bool {
		return a.Labels["instance"] == unionCo.addr && a.Labels["minimum"] == "item"
	})
	step(fmt.Sprintf("KartuStokLowStock (item minimum, Union mode) delivered to %s", unionLow.Receiver))
	checkUnionLowStock(t, unionCo.company, unionLow)

	for _, form := range []string{"warehouse", "item"} {
		a := waitAlert(t, p, hook, "KartuStokLowStock", func(a webhookAlert) bool {
			return a.Labels["instance"] == inactiveCo.addr && a.Labels["minimum"] == form
		})
		step(fmt.Sprintf("KartuStokLowStock (%s minimum from the minimums file) delivered: %s", form, a.Annotations["description"]))
		if !strings.Contains(inactiveItems, a.Labels["item_code"]+"\n") || !strings.Contains(a.Annotations["description"], a.Labels["item_code"]) {
			t.Errorf("KartuStokLowStock from the minimums file for %q, not one of its items, or not named in %q",
				a.Labels["item_code"], a.Annotations["description"])
		}
	}

	// The flow refresh brings the 30-day outflow: an item whose stock in
	// a warehouse lasts fewer days than its lead time (7 by default) is
	// predicted to run out, with the days left and the daily outflow.
	predicted := waitAlert(t, p, hook, "KartuStokStockoutPredicted", func(a webhookAlert) bool { return a.Labels["instance"] == warehouseCo.addr })
	step(fmt.Sprintf("KartuStokStockoutPredicted delivered to %s: %s", predicted.Receiver, predicted.Annotations["description"]))
	if d := predicted.Annotations["description"]; !strings.Contains(d, predicted.Labels["item_name"]) || !strings.Contains(d, predicted.Labels["locator_name"]) ||
		!strings.Contains(d, "a day that went out over the last 30 days") || !strings.Contains(d, "lead time of 7 days") {
		t.Errorf("KartuStokStockoutPredicted: description %q does not name the item, the warehouse, the daily outflow and the lead time", d)
	}

	// Two days left: the critical alert is delivered, and the example's
	// inhibition holds back its 14-day warning twin.
	expiring := waitAlert(t, p, hook, "KartuStokTokenExpiringSoon", func(a webhookAlert) bool { return a.Labels["severity"] == "critical" })
	step(fmt.Sprintf("KartuStokTokenExpiringSoon (critical) delivered to %s: %s", expiring.Receiver, expiring.Annotations["description"]))
	if d := expiring.Annotations["description"]; !strings.Contains(d, companyName) || !strings.Contains(d, "expires in 1d 23h") {
		t.Errorf("KartuStokTokenExpiringSoon: description %q does not name %q and an expiry of 1d 23h", d, companyName)
	}
	waitInhibited(ctx, t, "http://"+amAddr, map[string]string{"alertname": "KartuStokTokenExpiringSoon", "severity": "warning"})
	step("KartuStokTokenExpiringSoon (warning) inhibited by the critical one")
	if n := len(hook.received("KartuStokTokenExpiringSoon")); n != 1 {
		t.Errorf("KartuStokTokenExpiringSoon: %d notifications, want only the critical one", n)
	}

	checkDashboards(t, p, root, exporters, lowStock.Labels["locator_name"])
	step("dashboard queries checked")

	// The Union-mode company revokes the exporter's token: the critical
	// alert names the company, the API-down alert leaves the refused token
	// to it, and the example inhibition holds back that company's stock
	// alerts, which now describe data that is no longer refreshed.
	unionCo.company.RevokeToken(unionCo.token)
	revoked := waitAlert(t, p, hook, "KartuStokTokenInvalid", func(a webhookAlert) bool { return a.Labels["instance"] == unionCo.addr })
	step(fmt.Sprintf("KartuStokTokenInvalid delivered to %s: %s", revoked.Receiver, revoked.Annotations["description"]))
	if d := revoked.Annotations["description"]; !strings.Contains(d, "CV Maju Bersama") {
		t.Errorf("KartuStokTokenInvalid: description %q does not name the company", d)
	}
	waitInhibited(ctx, t, "http://"+amAddr, map[string]string{"alertname": "KartuStokLowStock", "instance": unionCo.addr})
	step("the revoked company's KartuStokLowStock inhibited by KartuStokTokenInvalid")
	if down, err := p.query(`ALERTS{alertname="KartuStokAPIDown"}`); err != nil || len(down) > 0 {
		t.Errorf("KartuStokAPIDown pending or firing for a refused token: %v %v", down, err)
	}

	// With alerts firing, the rules are still healthy.
	checkRules(t, p, rulesFile, time.Now())

	if bad := hook.problems(); len(bad) > 0 {
		t.Errorf("malformed notifications: %q", bad)
	}
	// Stop the exporters first so their logs are complete, then look for
	// the token in them (debug level).
	for _, e := range exporters {
		_ = e.cmd.Cancel() // fails only if the exporter already exited: nothing to stop
		<-e.done
		if b, err := os.ReadFile(e.log); err != nil {
			t.Error(err)
		} else if strings.Contains(string(b), e.token) {
			t.Errorf("the token appears in the %s exporter's debug log", e.name)
		}
	}
	step("done")
}

// exporterUnderTest is one simulated company and the exporter watching it.
type exporterUnderTest struct {
	*child
	company *kartustoktest.Company
	token   string
	addr    string
}

// startCompany starts a simulated company with a token expiring after
// expiresIn, and an exporter that refreshes it every second.
func startCompany(ctx context.Context, t *testing.T, dir, exporterBin, name string, cfg kartustoktest.Config, expiresIn time.Duration, args ...string) *exporterUnderTest {
	t.Helper()
	company := kartustoktest.NewCompany(cfg)
	token := company.AddToken(kartustoktest.TokenSpec{ExpiresAt: time.Now().Add(expiresIn)})
	api, err := kartustoktest.Start("127.0.0.1:0", company, kartustoktest.WithRateLimit(6000, time.Minute))
	if err != nil {
		t.Fatalf("starting the simulated company %s: %v", name, err)
	}
	t.Cleanup(api.Close)
	tokenFile := filepath.Join(dir, name+".token")
	mustWrite(t, tokenFile, []byte(token+"\n"))
	addr := testkit.FreeAddr(t)
	c := startChild(ctx, t, dir, "exporter-"+name, exporterBin, append([]string{
		"--kartustok.url=" + api.URL,
		"--kartustok.token-file=" + tokenFile,
		"--kartustok.rate-limit=6000",
		"--sync.health-interval=1s",
		"--sync.catalog-interval=10s",
		"--sync.stock-interval=1s",
		"--web.listen-address=" + addr,
		"--log.level=debug",
	}, args...)...)
	return &exporterUnderTest{child: c, company: company, token: token, addr: addr}
}

func httpGet(ctx context.Context, t *testing.T, url string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return string(b)
}

// waitStock waits until Prometheus holds stock from every exporter, so that
// rule evaluations from then on see real data.
func waitStock(t *testing.T, p promAPI, exporters int) time.Time {
	t.Helper()
	for {
		res, err := p.query(`count by (instance) (kartustok_stock_on_hand)`)
		if err != nil {
			t.Fatalf("querying stock: %v", err)
		}
		if len(res) == exporters {
			return time.Now()
		}
		select {
		case <-p.ctx.Done():
			t.Fatalf("stock from %d of %d exporters reached Prometheus in time", len(res), exporters)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// checkRules waits until every group of the rules file has been evaluated
// after since, and fails on any rule whose health is not ok.
func checkRules(t *testing.T, p promAPI, rulesFile string, since time.Time) {
	t.Helper()
	want, err := readYAML(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	wantGroups := len(maps(want["groups"]))
	for {
		groups, err := p.rules()
		if err != nil {
			t.Fatalf("listing rules: %v", err)
		}
		failRuleErrors(t, groups)
		evaluated := 0
		for _, g := range groups {
			if g.LastEvaluation.After(since) {
				evaluated++
			}
		}
		if evaluated == wantGroups && len(groups) == wantGroups {
			for _, g := range groups {
				for _, r := range g.Rules {
					if r.Health != "ok" {
						t.Errorf("group %s rule %s: health %q after evaluation (%s)", g.Name, r.Name, r.Health, r.LastError)
					}
				}
			}
			return
		}
		select {
		case <-p.ctx.Done():
			t.Fatalf("rule groups: %d of %d evaluated in time (Prometheus has %d groups)", evaluated, wantGroups, len(groups))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// failRuleErrors stops the test at the first rule whose evaluation failed.
func failRuleErrors(t *testing.T, groups []ruleGroup) {
	t.Helper()
	for _, g := range groups {
		for _, r := range g.Rules {
			if r.Health == "err" {
				t.Fatalf("group %s rule %s: health %s: %s", g.Name, r.Name, r.Health, r.LastError)
			}
		}
	}
}

// waitAlert waits until the webhook has received a firing alertname for
// which match holds, failing early if a rule breaks meanwhile.
func waitAlert(t *testing.T, p promAPI, hook *webhook, alertname string, match func(webhookAlert) bool) webhookAlert {
	t.Helper()
	for {
		for _, a := range hook.received(alertname) {
			if match(a) {
				return a
			}
		}
		groups, err := p.rules()
		if err != nil {
			t.Fatalf("listing rules: %v", err)
		}
		failRuleErrors(t, groups)
		select {
		case <-p.ctx.Done():
			t.Fatalf("%s never reached the webhook; received so far: %d %s alerts", alertname, len(hook.received(alertname)), alertname)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// waitInhibited waits until Alertmanager holds an alert with the given
// labels (and perhaps more) as inhibited.
func waitInhibited(ctx context.Context, t *testing.T, amURL string, labels map[string]string) {
	t.Helper()
	var filter []string
	for k, v := range labels {
		filter = append(filter, fmt.Sprintf("%s=%q", k, v))
	}
	u := amURL + "/api/v2/alerts?" + url.Values{"filter": filter}.Encode()
	for {
		var alerts []struct {
			Labels map[string]string `json:"labels"`
			Status struct {
				State       string   `json:"state"`
				InhibitedBy []string `json:"inhibitedBy"`
			} `json:"status"`
		}
		body := httpGet(ctx, t, u)
		if err := json.Unmarshal([]byte(body), &alerts); err != nil {
			t.Fatalf("GET %s: %v: %.200s", u, err, body)
		}
		for _, a := range alerts {
			if a.Status.State == "suppressed" && len(a.Status.InhibitedBy) > 0 {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no alert %v was inhibited; Alertmanager holds %+v", labels, alerts)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// checkUnionLowStock checks a delivered low-stock alert on an item's total
// against the Union-mode company: it names the item, and the company's own
// figures agree that the item's total is below its minimum.
func checkUnionLowStock(t *testing.T, company *kartustoktest.Company, a webhookAlert) {
	t.Helper()
	l := a.Labels
	desc := a.Annotations["description"]
	t.Logf("KartuStokLowStock labels %v\n  description: %s", l, desc)
	for _, k := range []string{"item_name", "item_code"} {
		if l[k] == "" || !strings.Contains(desc, l[k]) {
			t.Errorf("KartuStokLowStock: description %q does not contain %s %q", desc, k, l[k])
		}
	}
	minimum, ok := company.ItemMinimum(l["item_id"])
	if total := company.ItemOnHand(l["item_id"]); !ok || total >= minimum {
		t.Errorf("KartuStokLowStock for the total of %s, but the company holds %v against a minimum of %v (set: %v)",
			l["item_name"], total, minimum, ok)
	}
}

// checkLowStock checks a delivered low-stock alert against the simulated
// company: it names the warehouse and item, and the company's own figures
// agree that the item is below its minimum there.
func checkLowStock(t *testing.T, company *kartustoktest.Company, a webhookAlert) {
	t.Helper()
	l := a.Labels
	desc := a.Annotations["description"]
	t.Logf("KartuStokLowStock labels %v\n  summary: %s\n  description: %s", l, a.Annotations["summary"], desc)
	for _, k := range []string{"locator_name", "locator_code", "item_name", "item_code"} {
		if l[k] == "" {
			t.Errorf("KartuStokLowStock: label %s is empty: %v", k, l)
		} else if !strings.Contains(desc, l[k]) {
			t.Errorf("KartuStokLowStock: description %q does not contain %s %q", desc, k, l[k])
		}
	}
	if !company.Stocked(l["locator_id"], l["item_id"]) {
		t.Fatalf("KartuStokLowStock for %s/%s, which the company does not stock", l["locator_id"], l["item_id"])
	}
	minimum, ok := company.Minimum(l["locator_id"], l["item_id"])
	if onHand := company.OnHand(l["locator_id"], l["item_id"]); !ok || onHand >= minimum {
		t.Errorf("KartuStokLowStock for %s in %s, but the company holds %v against a minimum of %v (set: %v)",
			l["item_name"], l["locator_name"], onHand, minimum, ok)
	}
}

// checkDashboards runs every dashboard query and expects data. $job is the
// example's job, $instance both exporters (as Grafana's "All" would), and
// $warehouse one that has items below their minimum.
func checkDashboards(t *testing.T, p promAPI, root string, exporters []*exporterUnderTest, warehouse string) {
	t.Helper()
	var instances []string
	for _, e := range exporters {
		instances = append(instances, promRegexEscape(e.addr))
	}
	vars := map[string]string{
		"job":       "kartustok",
		"instance":  "(" + strings.Join(instances, "|") + ")",
		"warehouse": promRegexEscape(warehouse),
	}
	queries, err := dashboards.Queries(filepath.Join(root, "dashboards"), vars)
	if err != nil {
		t.Fatal(err)
	}
	if len(queries) == 0 {
		t.Fatal("no dashboard queries found in dashboards/*.json")
	}
	files := map[string]bool{}
	ranges, legends := 0, 0
	for _, q := range queries {
		files[q.File] = true
		// Ask as Grafana would: an instant query for stat and table
		// panels, a range query over the last half minute for graphs.
		query := p.query
		if !q.Instant {
			query = p.queryRange
			ranges++
		}
		res, err := query(q.Expr)
		switch {
		case err != nil:
			t.Errorf("%s: %v\n%s", q, err, q.Expr)
		case len(res) == 0:
			t.Errorf("%s: no series\n%s", q, q.Expr)
		default:
			// A legend naming a label the query drops shows blank names.
			for _, l := range q.LegendLabels() {
				legends++
				for _, r := range res {
					if r.Metric[l] == "" {
						t.Errorf("%s: legend %q shows label %s, missing from series %v", q, q.Legend, l, r.Metric)
						break
					}
				}
			}
		}
	}
	t.Logf("ran %d dashboard queries (%d as range queries) from %d dashboards, checked %d legend labels (variables: %v)",
		len(queries), ranges, len(files), legends, vars)
}

// promRegexEscape escapes a value for a regex inside a PromQL string, as
// Grafana does for multi-value variables: a backslash for the regex, doubled
// for the string literal.
func promRegexEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\\\`)
		case strings.ContainsRune(`^$.|?*+()[]{}`, r):
			b.WriteString(`\\`)
			b.WriteRune(r)
		case r == '"':
			b.WriteString(`\"`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestPromRegexEscape(t *testing.T) {
	for in, want := range map[string]string{
		"Gudang Utama":    "Gudang Utama",
		"127.0.0.1:9472":  `127\\.0\\.0\\.1:9472`,
		`Rak "A" (lama)`:  `Rak \"A\" \\(lama\\)`,
		`C:\gudang`:       `C:\\\\gudang`,
		"Pipa 3/4+ [PVC]": `Pipa 3/4\\+ \\[PVC\\]`,
	} {
		if got := promRegexEscape(in); got != want {
			t.Errorf("promRegexEscape(%q) = %s, want %s", in, got, want)
		}
	}
}
