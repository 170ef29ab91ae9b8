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
	"slices"
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
	// shortFor replaces every `for` of the shipped rules, so alerts fire
	// within seconds while `for` is still exercised.
	shortFor = "3s"
	// fileItems are the items whose minimums in a warehouse (and, for the
	// Inactive-mode company, in total) come from a minimums file, one code
	// a line. Every company has items with these codes: item codes, like
	// IDs, are unique within a company only.
	fileItems = "KS-00001\nKS-00002\nKS-00003\nKS-00004\nKS-00005\n"
)

// minimumsYAML is a minimums file that gives each item of codes the
// quantities, each a line of YAML such as "minimum: 10".
func minimumsYAML(codes string, quantities ...string) string {
	var b strings.Builder
	b.WriteString("items:\n")
	for code := range strings.FieldsSeq(codes) {
		fmt.Fprintf(&b, "  - code: %s\n", code)
		for _, q := range quantities {
			fmt.Fprintf(&b, "    %s\n", q)
		}
	}
	return b.String()
}

// TestEndToEnd runs three simulated companies served by one exporter
// through a companies file (--config.file), Prometheus with the example
// configuration and the shipped rules, and Alertmanager with the example
// routing, and checks what each consumer of the exporter sees, company by
// company: healthy rules, alerts that reach a receiver naming what is
// wrong and in which company, inhibitions that hold within one company
// and no further, and data behind every dashboard query for each company.
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

	// Three companies, one for each minimum-stock mode, each with a
	// minimums file of its own on top of what KartuStok reports, so that
	// every company has both forms of minimum and every dashboard panel has
	// something to show for each. Item codes and warehouse names repeat
	// across companies, so a minimum or an alert that crossed from one
	// company to another would show.
	//
	// sinarjaya keeps minimums per warehouse and has a token that expires
	// in two days; its file adds small company-wide minimums.
	sinarjaya := startCompany(t, "sinarjaya", kartustoktest.Config{
		Seed: 7, Name: "PT Sinar Jaya Abadi", Locators: 3, Items: 40, BelowMinimum: 0.2,
		// A month of documents, some 25 a pair, so that items have a
		// 30-day outflow and some run out before the default lead time.
		HistoryDocs: 3 * 40 * 25,
	}, 48*time.Hour, minimumsYAML("KS-00001 KS-00002 KS-00003", "total_minimum: 1"))
	// majubersama keeps one minimum per item (Union mode); its file sets
	// minimums per warehouse far above any balance for a few items.
	majubersama := startCompany(t, "majubersama", kartustoktest.Config{
		Seed: 8, Name: "CV Maju Bersama", Subdomain: "majubersama", Locators: 2, Items: 30,
		MinimumStockMode: "union", BelowMinimum: 0.2,
	}, 60*24*time.Hour, minimumsYAML(fileItems, "minimum: 50000"))
	// sumberrejeki keeps no minimums in KartuStok (mode Inactive) and sets
	// them in its file instead: far above any balance, per warehouse and in
	// total.
	sumberrejeki := startCompany(t, "sumberrejeki", kartustoktest.Config{
		Seed: 9, Name: "UD Sumber Rejeki", Subdomain: "sumberrejeki", Locators: 2, Items: 20,
		MinimumStockMode: "inactive",
	}, 90*24*time.Hour, minimumsYAML(fileItems, "minimum: 100000", "total_minimum: 1000000"))
	companies := []*simCompany{sinarjaya, majubersama, sumberrejeki}

	// One exporter serves them all.
	exp := startExporter(ctx, t, dir, exporterBin, writeCompaniesFile(t, dir, companies))

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
	promCfg, err := prometheusConfig(filepath.Join(root, "examples", "prometheus.yml"), []string{exp.addr}, amAddr, rulesFile)
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
	exp.waitHTTP(ctx, t, "http://"+exp.addr+"/-/ready")
	step("exporter ready (first stock refresh of every company done)")
	prom.waitHTTP(ctx, t, "http://"+promAddr+"/-/ready")
	step("prometheus and alertmanager ready")
	p := promAPI{ctx: ctx, base: "http://" + promAddr}

	// No token reaches anything the exporter exposes.
	for _, path := range []string{"/", "/metrics"} {
		body := httpGet(ctx, t, "http://"+exp.addr+path)
		for _, co := range companies {
			if strings.Contains(body, co.token) {
				t.Errorf("the token of %s appears in the exporter's %s", co.name, path)
			}
		}
	}

	dataSince := waitStock(t, p, exp.addr, companies)
	step("stock of every company in Prometheus, from the one exporter")
	checkRules(t, p, rulesFile, dataSince)
	step("every rule group evaluated on that data with health ok")

	// Alerts are told apart by their company label, and name it.
	lowStock := waitCompanyAlert(t, p, hook, exp, sinarjaya, "KartuStokLowStock", func(a webhookAlert) bool { return a.Labels["minimum"] == "warehouse" })
	step(fmt.Sprintf("KartuStokLowStock (warehouse minimum) of %s delivered to %s: %s", sinarjaya.name, lowStock.Receiver, lowStock.Annotations["summary"]))
	checkLowStock(t, sinarjaya.company, lowStock)
	unionLow := waitCompanyAlert(t, p, hook, exp, majubersama, "KartuStokLowStock", func(a webhookAlert) bool { return a.Labels["minimum"] == "item" })
	step(fmt.Sprintf("KartuStokLowStock (item minimum, Union mode) of %s delivered to %s", majubersama.name, unionLow.Receiver))
	checkUnionLowStock(t, majubersama.company, unionLow)

	// The minimums files: each company's alerts use its own file's
	// minimums, for its own items.
	warehouses := map[string]string{sinarjaya.name: lowStock.Labels["locator_name"]}
	for _, f := range []struct {
		co   *simCompany
		form string
	}{{majubersama, "warehouse"}, {sumberrejeki, "warehouse"}, {sumberrejeki, "item"}} {
		a := waitCompanyAlert(t, p, hook, exp, f.co, "KartuStokLowStock", func(a webhookAlert) bool { return a.Labels["minimum"] == f.form })
		step(fmt.Sprintf("KartuStokLowStock (%s minimum from the minimums file of %s) delivered: %s", f.form, f.co.name, a.Annotations["description"]))
		if !strings.Contains(fileItems, a.Labels["item_code"]+"\n") || !strings.Contains(a.Annotations["description"], a.Labels["item_code"]) {
			t.Errorf("KartuStokLowStock of %s from the minimums file for %q, not one of its items, or not named in %q",
				f.co.name, a.Labels["item_code"], a.Annotations["description"])
		}
		if f.form == "warehouse" {
			warehouses[f.co.name] = a.Labels["locator_name"]
		}
	}
	checkMinimumsStayHome(t, p, map[string]*simCompany{
		"kartustok_stock_minimum_quantity == 50000":  majubersama,
		"kartustok_stock_minimum_quantity == 100000": sumberrejeki,
		"kartustok_item_minimum_quantity == 1000000": sumberrejeki,
	})
	step("every minimums file applies to its own company only")

	// The flow refresh brings the 30-day outflow: an item whose stock in
	// a warehouse lasts fewer days than its lead time (7 by default) is
	// predicted to run out, with the days left and the daily outflow.
	predicted := waitCompanyAlert(t, p, hook, exp, sinarjaya, "KartuStokStockoutPredicted", func(webhookAlert) bool { return true })
	step(fmt.Sprintf("KartuStokStockoutPredicted of %s delivered to %s: %s", sinarjaya.name, predicted.Receiver, predicted.Annotations["description"]))
	if d := predicted.Annotations["description"]; !strings.Contains(d, predicted.Labels["item_name"]) || !strings.Contains(d, predicted.Labels["locator_name"]) ||
		!strings.Contains(d, "a day that went out over the last 30 days") || !strings.Contains(d, "lead time of 7 days") {
		t.Errorf("KartuStokStockoutPredicted: description %q does not name the item, the warehouse, the daily outflow and the lead time", d)
	}

	// Two days left: the critical alert is delivered, naming the company
	// both by its name in KartuStok and by its label, and the example's
	// inhibition holds back its 14-day warning twin. The other companies'
	// tokens expire in months.
	expiring := waitCompanyAlert(t, p, hook, exp, sinarjaya, "KartuStokTokenExpiringSoon", func(a webhookAlert) bool { return a.Labels["severity"] == "critical" })
	step(fmt.Sprintf("KartuStokTokenExpiringSoon (critical) of %s delivered to %s: %s", sinarjaya.name, expiring.Receiver, expiring.Annotations["description"]))
	if d := expiring.Annotations["description"]; !strings.Contains(d, sinarjaya.title()) || !strings.Contains(d, "expires in 1d 23h") {
		t.Errorf("KartuStokTokenExpiringSoon: description %q does not name %q and an expiry of 1d 23h", d, sinarjaya.title())
	}
	waitInhibited(ctx, t, "http://"+amAddr, map[string]string{"alertname": "KartuStokTokenExpiringSoon", "severity": "warning", "company": sinarjaya.name})
	step("KartuStokTokenExpiringSoon (warning) inhibited by the critical one")
	if n := len(hook.received("KartuStokTokenExpiringSoon")); n != 1 {
		t.Errorf("KartuStokTokenExpiringSoon: %d notifications, want only the critical one of %s", n, sinarjaya.name)
	}

	checkDashboards(t, p, root, exp.addr, companies, warehouses)
	step("dashboard queries checked for every company")

	// majubersama revokes the exporter's token: the critical alert names
	// the company, the API-down alert leaves the refused token to it, and
	// the example inhibition holds back that company's stock alerts, which
	// now describe data that is no longer refreshed, and no other
	// company's, although the same exporter serves them.
	majubersama.company.RevokeToken(majubersama.token)
	revoked := waitCompanyAlert(t, p, hook, exp, majubersama, "KartuStokTokenInvalid", func(webhookAlert) bool { return true })
	step(fmt.Sprintf("KartuStokTokenInvalid of %s delivered to %s: %s", majubersama.name, revoked.Receiver, revoked.Annotations["description"]))
	if d := revoked.Annotations["description"]; !strings.Contains(d, majubersama.title()) {
		t.Errorf("KartuStokTokenInvalid: description %q does not name the company as %q", d, majubersama.title())
	}
	waitInhibited(ctx, t, "http://"+amAddr, map[string]string{"alertname": "KartuStokLowStock", "company": majubersama.name})
	step(fmt.Sprintf("the KartuStokLowStock alerts of %s inhibited by its KartuStokTokenInvalid", majubersama.name))
	for _, co := range []*simCompany{sinarjaya, sumberrejeki} {
		if !hasActive(ctx, t, "http://"+amAddr, map[string]string{"alertname": "KartuStokLowStock", "company": co.name}) {
			t.Errorf("no KartuStokLowStock of %s is active in Alertmanager once the token of %s is refused: the inhibition crossed companies", co.name, majubersama.name)
		}
	}
	if n := len(hook.received("KartuStokTokenInvalid")); n != 1 {
		t.Errorf("KartuStokTokenInvalid: %d notifications, want only that of %s", n, majubersama.name)
	}
	if down, err := p.query(`ALERTS{alertname="KartuStokAPIDown"}`); err != nil || len(down) > 0 {
		t.Errorf("KartuStokAPIDown pending or firing for a refused token: %v %v", down, err)
	}

	// With alerts firing, the rules are still healthy.
	checkRules(t, p, rulesFile, time.Now())

	if bad := hook.problems(); len(bad) > 0 {
		t.Errorf("malformed notifications: %q", bad)
	}
	// Stop the exporter first so its log is complete, then look for the
	// tokens in it (debug level).
	_ = exp.cmd.Cancel() // fails only if the exporter already exited: nothing to stop
	<-exp.done
	if b, err := os.ReadFile(exp.log); err != nil {
		t.Error(err)
	} else {
		for _, co := range companies {
			if strings.Contains(string(b), co.token) {
				t.Errorf("the token of %s appears in the exporter's debug log", co.name)
			}
		}
	}
	step("done")
}

// simCompany is one simulated company, as the companies file names it.
type simCompany struct {
	name     string // the company label: its name in the companies file
	fullName string // its name in KartuStok
	company  *kartustoktest.Company
	token    string
	url      string // its API's base URL
	minimums string // its minimums file
}

// title is how the alerts name the company: its name in KartuStok and,
// in brackets, its label.
func (c *simCompany) title() string { return c.fullName + " (" + c.name + ")" }

// startCompany starts a simulated company with a token expiring after
// expiresIn, on an API of its own, and posts a receipt and an issue in
// each of its warehouses today, so that whichever warehouse a dashboard
// shows has moved stock today.
func startCompany(t *testing.T, name string, cfg kartustoktest.Config, expiresIn time.Duration, minimums string) *simCompany {
	t.Helper()
	company := kartustoktest.NewCompany(cfg)
	token := company.AddToken(kartustoktest.TokenSpec{ExpiresAt: time.Now().Add(expiresIn)})
	var item string
	for _, id := range company.ItemIDs() {
		if info, _ := company.Item(id); info.Active {
			item = id
			break
		}
	}
	if item == "" {
		t.Fatalf("the simulated company %s has no active item to move", name)
	}
	for _, l := range company.LocatorIDs() {
		company.Post(l, item, "receipt", 10, 0)
		company.Post(l, item, "issue", 0, 4)
	}
	api, err := kartustoktest.Start("127.0.0.1:0", company, kartustoktest.WithRateLimit(6000, time.Minute))
	if err != nil {
		t.Fatalf("starting the simulated company %s: %v", name, err)
	}
	t.Cleanup(api.Close)
	return &simCompany{name: name, company: company, token: token, url: api.URL, minimums: minimums, fullName: cfg.Name}
}

// writeCompaniesFile writes the companies file of companies into dir, with
// each company's token and minimums files beside it, named relative to it,
// and returns its path.
func writeCompaniesFile(t *testing.T, dir string, companies []*simCompany) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("companies:\n")
	for _, c := range companies {
		mustWrite(t, filepath.Join(dir, c.name+".token"), []byte(c.token+"\n"))
		mustWrite(t, filepath.Join(dir, c.name+"-minimums.yml"), []byte(c.minimums))
		fmt.Fprintf(&b, "  - name: %s\n    url: %s\n    token_file: %s.token\n    minimums_file: %s-minimums.yml\n    rate_limit: 6000\n",
			c.name, c.url, c.name, c.name)
	}
	path := filepath.Join(dir, "companies.yml")
	mustWrite(t, path, []byte(b.String()))
	return path
}

// exporterUnderTest is the exporter process and its listen address.
type exporterUnderTest struct {
	*child
	addr string
}

// startExporter starts the exporter on the companies file, refreshing every
// company every second.
func startExporter(ctx context.Context, t *testing.T, dir, exporterBin, companiesFile string) *exporterUnderTest {
	t.Helper()
	addr := testkit.FreeAddr(t)
	c := startChild(ctx, t, dir, "exporter", exporterBin,
		"--config.file="+companiesFile,
		"--sync.health-interval=1s",
		"--sync.catalog-interval=10s",
		"--sync.stock-interval=1s",
		"--web.listen-address="+addr,
		"--log.level=debug",
	)
	return &exporterUnderTest{child: c, addr: addr}
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

// waitStock waits until Prometheus holds stock of every company, all from
// the one exporter at addr, so that rule evaluations from then on see real
// data; stock of any other company, or from elsewhere, fails the test.
func waitStock(t *testing.T, p promAPI, addr string, companies []*simCompany) time.Time {
	t.Helper()
	want := map[string]bool{}
	var names []string
	for _, c := range companies {
		want[c.name] = true
		names = append(names, c.name)
	}
	for {
		res, err := p.query(`count by (instance, company) (kartustok_stock_on_hand)`)
		if err != nil {
			t.Fatalf("querying stock: %v", err)
		}
		seen := 0
		for _, r := range res {
			if r.Metric["instance"] != addr || !want[r.Metric["company"]] {
				t.Fatalf("stock of company %q from %q: the exporter at %s serves only %v", r.Metric["company"], r.Metric["instance"], addr, names)
			}
			seen++
		}
		if seen == len(want) {
			return time.Now()
		}
		select {
		case <-p.ctx.Done():
			t.Fatalf("stock of %d of %d companies reached Prometheus in time", seen, len(want))
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

// waitCompanyAlert waits until the webhook has received a firing alertname
// of the company co for which match holds, and checks that it names the
// company: its company label tells it from the same alert of another
// company, the exporter is the one serving them all, and the summary says
// which company it is about.
func waitCompanyAlert(t *testing.T, p promAPI, hook *webhook, exp *exporterUnderTest, co *simCompany, alertname string, match func(webhookAlert) bool) webhookAlert {
	t.Helper()
	a := waitAlert(t, p, hook, alertname, func(a webhookAlert) bool { return a.Labels["company"] == co.name && match(a) })
	if a.Labels["instance"] != exp.addr {
		t.Errorf("%s of %s: instance %q, want the exporter %s", alertname, co.name, a.Labels["instance"], exp.addr)
	}
	if s := a.Annotations["summary"]; !strings.Contains(s, co.name) {
		t.Errorf("%s of %s: summary %q does not name the company", alertname, co.name, s)
	}
	return a
}

// checkMinimumsStayHome checks that the minimums only a company's minimums
// file sets, each selected by an expression, belong to that company alone:
// the companies share item codes, so a file applied to the wrong company
// would show its minimums there too.
func checkMinimumsStayHome(t *testing.T, p promAPI, owners map[string]*simCompany) {
	t.Helper()
	for expr, owner := range owners {
		res, err := p.query("count by (company) (" + expr + ")")
		if err != nil {
			t.Errorf("%s: %v", expr, err)
			continue
		}
		var got []string
		for _, r := range res {
			got = append(got, r.Metric["company"])
		}
		if len(got) != 1 || got[0] != owner.name {
			t.Errorf("%s: series of companies %q, want of %s only, whose minimums file sets it", expr, got, owner.name)
		}
	}
}

// amAlert is an alert as Alertmanager's API lists it.
type amAlert struct {
	Labels map[string]string `json:"labels"`
	Status struct {
		State       string   `json:"state"`
		InhibitedBy []string `json:"inhibitedBy"`
	} `json:"status"`
}

// amAlerts lists the alerts Alertmanager holds with the given labels (and
// perhaps more).
func amAlerts(ctx context.Context, t *testing.T, amURL string, labels map[string]string) []amAlert {
	t.Helper()
	var filter []string
	for k, v := range labels {
		filter = append(filter, fmt.Sprintf("%s=%q", k, v))
	}
	u := amURL + "/api/v2/alerts?" + url.Values{"filter": filter}.Encode()
	var alerts []amAlert
	body := httpGet(ctx, t, u)
	if err := json.Unmarshal([]byte(body), &alerts); err != nil {
		t.Fatalf("GET %s: %v: %.200s", u, err, body)
	}
	return alerts
}

// waitInhibited waits until Alertmanager holds an alert with the given
// labels (and perhaps more) as inhibited.
func waitInhibited(ctx context.Context, t *testing.T, amURL string, labels map[string]string) {
	t.Helper()
	for {
		alerts := amAlerts(ctx, t, amURL, labels)
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

// hasActive reports whether Alertmanager holds an alert with the given
// labels (and perhaps more) that is neither inhibited nor silenced.
func hasActive(ctx context.Context, t *testing.T, amURL string, labels map[string]string) bool {
	t.Helper()
	for _, a := range amAlerts(ctx, t, amURL, labels) {
		if a.Status.State == "active" {
			return true
		}
	}
	return false
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

// checkDashboards runs every dashboard query once for each company, with
// $company that company alone, as a Grafana user picking it would, and
// expects data: the series of that company and of no other. $job is the
// example's job, $instance the exporter and $warehouse one of the
// company's that has items below their minimum. A query that does not
// filter by company (the variables above it, and panels of Prometheus' up
// or the exporter-wide series, which have no company label) runs once;
// the company variable must list every company.
func checkDashboards(t *testing.T, p promAPI, root, addr string, companies []*simCompany, warehouses map[string]string) {
	t.Helper()
	dir := filepath.Join(root, "dashboards")
	infos, err := dashboards.Extract(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) == 0 {
		t.Fatal("no dashboard queries found in dashboards/*.json")
	}
	perCompany := make([][]dashboards.Query, len(companies))
	for i, c := range companies {
		vars := map[string]string{
			"job":       "kartustok",
			"instance":  promRegexEscape(addr),
			"company":   promRegexEscape(c.name),
			"warehouse": promRegexEscape(warehouses[c.name]),
		}
		qs, err := dashboards.Queries(dir, vars)
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) != len(infos) {
			t.Fatalf("dashboards.Queries returned %d queries, dashboards.Extract %d", len(qs), len(infos))
		}
		perCompany[i] = qs
	}
	var once, each, ranges, legends int
	for n, info := range infos {
		filters := slices.ContainsFunc(info.Refs, func(r dashboards.Ref) bool { return r.Name == "company" })
		for i, c := range companies {
			q := perCompany[i][n]
			if q.File != info.File || q.Panel != info.Panel || q.RefID != info.RefID || q.Variable != info.Variable {
				t.Fatalf("dashboards.Queries and dashboards.Extract disagree on query %d: %s and %s %q %s %s", n, q, info.File, info.Panel, info.RefID, info.Variable)
			}
			who := "company " + c.name
			if !filters {
				if i > 0 {
					break
				}
				who = "every company"
				once++
			} else {
				each++
			}
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
				t.Errorf("%s, %s: %v\n%s", q, who, err, q.Expr)
				continue
			case len(res) == 0:
				t.Errorf("%s, %s: no series\n%s", q, who, q.Expr)
				continue
			}
			for _, r := range res {
				if got, ok := r.Metric["company"]; ok && filters && got != c.name {
					t.Errorf("%s, %s: a series of company %q: %v", q, who, got, r.Metric)
					break
				}
			}
			if q.Variable == "company" {
				var got []string
				for _, r := range res {
					got = append(got, r.Metric["company"])
				}
				slices.Sort(got)
				var want []string
				for _, c := range companies {
					want = append(want, c.name)
				}
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("%s lists companies %q, want %q", q, got, want)
				}
			}
			// A legend naming a label the query drops shows blank names.
			for _, l := range q.LegendLabels() {
				legends++
				for _, r := range res {
					if r.Metric[l] == "" {
						t.Errorf("%s, %s: legend %q shows label %s, missing from series %v", q, who, q.Legend, l, r.Metric)
						break
					}
				}
			}
		}
	}
	t.Logf("ran %d dashboard queries: %d once for every company, %d once per company (%d runs for %d companies, %d as range queries), checked %d legend labels (warehouses: %v)",
		len(infos), once, len(infos)-once, each, len(companies), ranges, legends, warehouses)
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
