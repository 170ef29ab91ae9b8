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

package refresh_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/collector"
	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
	"github.com/kartustok/kartustok_exporter/refresh"
)

// These tests run the real client against the simulated company inside a
// synctest bubble: the client's transport hands each request straight to
// the simulator's handler, so hours of refreshes take milliseconds and the
// simulator's request log uses the same fake clock.

type simHarness struct {
	t         *testing.T
	company   *kartustoktest.Company
	server    *kartustoktest.Server
	engine    *refresh.Engine
	client    *kartustok.Client
	handler   http.Handler
	logs      *syncBuffer
	token     string
	tokenFile string
	stop      func()
}

// startSim runs the exporter's data path (client, engine, collectors,
// renderer, handler) against a simulated company. Call it inside
// synctest.Test.
func startSim(t *testing.T, cc kartustoktest.Config, cfg refresh.Config, opts ...kartustoktest.Option) *simHarness {
	t.Helper()
	return startSimCompany(t, kartustoktest.NewCompany(cc), cfg, nil, opts...)
}

// startSimCompany is startSim for a company the test made, with the
// minimums mins (nil: the API's own).
func startSimCompany(t *testing.T, company *kartustoktest.Company, cfg refresh.Config, mins collector.Minimums, opts ...kartustoktest.Option) *simHarness {
	t.Helper()
	server := kartustoktest.NewHandlerServer(company, opts...)
	token := company.AddToken(kartustoktest.TokenSpec{ExpiresAt: time.Now().Add(240 * time.Hour)})
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	return runSim(t, company, server, token, tokenFile, cfg, mins)
}

// runSim starts an exporter process's data path against server with the
// token in tokenFile, as main does: a fresh client (which knows nothing of
// what an earlier process sent) and engine. stop ends it at once, as a
// SIGKILL would end the process; cleanup calls it too.
func runSim(t *testing.T, company *kartustoktest.Company, server *kartustoktest.Server, token, tokenFile string, cfg refresh.Config, mins collector.Minimums) *simHarness {
	t.Helper()
	return runSimHandler(t, company, server, server.Handler(), token, tokenFile, cfg, mins)
}

// simURL is the simulated company's API URL.
const simURL = "http://sinarjaya.kartustok.test/public/v1"

// runSimHandler is runSim with the client's requests served by handler,
// which may change what server answers on the way back.
func runSimHandler(t *testing.T, company *kartustoktest.Company, server *kartustoktest.Server, handler http.Handler, token, tokenFile string, cfg refresh.Config, mins collector.Minimums) *simHarness {
	t.Helper()
	metrics := collector.NewAPIMetrics()
	opts := []kartustok.Option{
		kartustok.WithTransport(kartustoktest.InMemory(handler)),
		kartustok.WithBudget(cfg.Budget, cfg.Window), kartustok.WithHealthInterval(cfg.HealthInterval),
		kartustok.WithObserver(metrics),
	}
	if cfg.StatePath != "" {
		// As main does: the state the last process saved, if any.
		cfg.StateURL = simURL
		if st, err := refresh.LoadState(cfg.StatePath, simURL); err == nil {
			cfg.State = st
			ws, complete := st.WindowState()
			opts = append(opts, kartustok.WithWindowState(ws, complete))
		}
	}
	client, err := kartustok.New(simURL, kartustok.TokenFile(tokenFile), opts...)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HealthReserve, cfg.CatalogCap, _ = client.Shares()
	logs := &syncBuffer{}
	cfg.Logger = log.NewLogfmtLogger(logs) // every level, debug included
	e, err := refresh.New(client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	h := &simHarness{
		t: t, company: company, server: server, engine: e, client: client, logs: logs, token: token, tokenFile: tokenFile,
		handler: exporterHandler(t, e, mins, collector.NewCollector(e, collector.WithRateLimit(client)), metrics),
	}
	var once sync.Once
	h.stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(func() {
		h.stop()
		h.assertNoToken()
	})
	return h
}

// startReady is startSim that waits until the first stock refresh is
// done and returns what /metrics shows then.
func startReady(t *testing.T, cc kartustoktest.Config, cfg refresh.Config) (*simHarness, map[string]float64) {
	t.Helper()
	h := startSim(t, cc, cfg)
	time.Sleep(10 * time.Second)
	synctest.Wait()
	require.True(t, h.engine.Ready())
	return h, h.series()
}

// recovers clears the injected faults and checks that every stock series
// equals the company's again within two stock intervals.
func (h *simHarness) recovers(cfg refresh.Config) {
	h.t.Helper()
	h.server.ClearFaults()
	time.Sleep(2 * cfg.StockInterval)
	synctest.Wait()
	h.assertMatchesCompany(h.series())
}

// scrape fetches /metrics as Prometheus would.
func (h *simHarness) scrape() string {
	h.t.Helper()
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		h.t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

// series parses a scrape into "name{labels}" → value.
func (h *simHarness) series() map[string]float64 {
	h.t.Helper()
	return testkit.MustGather(h.t, prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return parseText(h.scrape()) }))
}

// parseText parses the text exposition format.
func parseText(s string) ([]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(s))
	if err != nil {
		return nil, err
	}
	out := make([]*dto.MetricFamily, 0, len(fams))
	for _, mf := range fams {
		out = append(out, mf)
	}
	return out, nil
}

func (h *simHarness) assertNoToken() {
	h.t.Helper()
	if strings.Contains(h.logs.String(), h.token) {
		h.t.Error("the token appears in the logs")
	}
	if strings.Contains(h.scrape(), h.token) {
		h.t.Error("the token appears in /metrics")
	}
}

// assertMatchesCompany checks every stock series against the simulator's
// truth and that every active locator is present.
func (h *simHarness) assertMatchesCompany(ms map[string]float64) {
	h.t.Helper()
	n := 0
	for _, loc := range h.company.LocatorIDs() {
		for _, item := range h.company.ItemIDs() {
			v, ok := ms[fmt.Sprintf(`kartustok_stock_on_hand{company="sinarjaya",item_id=%q,locator_id=%q}`, item, loc)]
			if !ok {
				continue
			}
			n++
			if want := h.company.OnHand(loc, item); v != want {
				h.t.Errorf("on hand of %s in %s = %v, want %v", item, loc, v, want)
			}
		}
	}
	if n == 0 || n != testkit.Count(ms, "kartustok_stock_on_hand") {
		h.t.Errorf("%d stock series match the company's pairs, of %d exported", n, testkit.Count(ms, "kartustok_stock_on_hand"))
	}
}

func TestIntegrationScrapesCostNoRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testkit.EngineConfig()
		cfg.HealthInterval, cfg.CatalogInterval, cfg.StockInterval, cfg.MaxStaleness = time.Hour, time.Hour, time.Hour, 2*time.Hour
		h := startSim(t, kartustoktest.Config{Locators: 4, Items: 250}, cfg)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if !h.engine.Ready() {
			t.Fatal("not ready")
		}
		h.assertMatchesCompany(h.series())

		before := h.server.Count("", 0)
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				for range 5 {
					h.scrape()
					time.Sleep(time.Second)
				}
			})
		}
		wg.Wait()
		if after := h.server.Count("", 0); after != before {
			t.Errorf("50 scrapes over 5 s caused %d API requests, want 0", after-before)
		}
	})
}

func TestIntegrationLabelValuesExactlyAsSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startSim(t, kartustoktest.Config{Locators: 2, Items: 300, Seed: 7}, testkit.EngineConfig())
		time.Sleep(10 * time.Second)
		synctest.Wait()
		fams, err := parseText(h.scrape())
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, mf := range fams {
			if mf.GetName() != "kartustok_item_info" {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, lp := range m.GetLabel() {
					if lp.GetName() == "item_name" {
						names[lp.GetValue()] = true
					}
				}
			}
		}
		var awkward int
		for _, it := range h.engine.Snapshot().Items {
			if !names[it.Name] {
				t.Errorf("item name %q not exported as sent", it.Name)
			}
			if strings.ContainsAny(it.Name, "\"\\\n") || strings.ContainsFunc(it.Name, func(r rune) bool { return r > 127 }) {
				awkward++
			}
		}
		if awkward == 0 {
			t.Error("the simulated company has no name with quotes, backslashes, newlines or non-ASCII; the test proves nothing")
		}
	})
}

func TestIntegrationBudgetHoldsForABigCompany(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Time-scaled: the API allows 20 requests per 2 s, the exporter
		// 16; a full stock refresh of 3 × 500 pairs does not fit one window.
		cfg := refresh.Config{
			HealthInterval: time.Second, CatalogInterval: time.Hour, StockInterval: time.Second,
			MaxStaleness: time.Hour, Budget: 16, Window: 2 * time.Second,
		}
		h := startSim(t, kartustoktest.Config{Locators: 3, Items: 500}, cfg, kartustoktest.WithRateLimit(20, 2*time.Second))
		time.Sleep(30 * time.Second)
		synctest.Wait()

		if !h.engine.Ready() {
			t.Fatal("the first complete stock refresh never finished")
		}
		if got := h.server.MaxInWindow(cfg.Window); got > cfg.Budget {
			t.Errorf("%d requests in one %s window, budget %d", got, cfg.Window, cfg.Budget)
		}
		if got := h.server.Count("", http.StatusTooManyRequests); got != 0 {
			t.Errorf("%d answers were 429", got)
		}
		ms := h.series()
		planned := ms[`kartustok_sync_planned_requests{company="sinarjaya",resource="stock"}`]
		cycle := ms[`kartustok_sync_cycle_seconds{company="sinarjaya",resource="stock"}`]
		t.Logf("stock plan: %v requests per %v s cycle; most requests in a window: %d; health checks: %d",
			planned, cycle, h.server.MaxInWindow(cfg.Window), h.server.Count(kartustok.EndpointHealth, 0))
		if planned < 9 || cycle <= 1 {
			t.Errorf("stock plan: %v requests per %v s cycle; want a stretched cycle for ≥ 9 pages", planned, cycle)
		}
		if n := strings.Count(h.logs.String(), "Stock refresh stretched"); n != 1 {
			t.Errorf("stretching logged %d times, want once", n)
		}
		// Health is never starved: a check about every second.
		if n := h.server.Count(kartustok.EndpointHealth, http.StatusOK); n < 27 {
			t.Errorf("%d successful health checks in 30 s, want ~30", n)
		}
		h.assertMatchesCompany(ms)
	})
}

func TestIntegrationChangedBalanceReachesMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testkit.EngineConfig()
		cfg.StockInterval = 10 * time.Second
		h := startSim(t, kartustoktest.Config{Locators: 2, Items: 100}, cfg)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		before := h.series()
		h.assertMatchesCompany(before)

		h.company.Step(40)
		time.Sleep(2 * cfg.StockInterval)
		synctest.Wait()
		after := h.series()
		changed := 0
		for k, v := range after {
			if strings.HasPrefix(k, "kartustok_stock_on_hand{") && before[k] != v {
				changed++
			}
		}
		if changed == 0 {
			t.Error("no balance changed in /metrics after 40 documents")
		}
		h.assertMatchesCompany(after)
	})
}

func TestIntegrationRevocationAndRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testkit.EngineConfig()
		h := startSim(t, kartustoktest.Config{Locators: 2, Items: 50}, cfg)
		time.Sleep(10 * time.Second)
		synctest.Wait()

		h.company.RevokeToken(h.token)
		revoked := time.Now()
		time.Sleep(cfg.HealthInterval + time.Second)
		synctest.Wait()
		ms := h.series()
		if v := ms[`kartustok_token_valid{company="sinarjaya"}`]; v != 0 {
			t.Fatalf("token_valid = %v after revocation, want 0", v)
		}
		stockBefore := testkit.Count(ms, "kartustok_stock_on_hand")
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		for _, r := range h.server.Requests() {
			if r.At.After(revoked.Add(cfg.HealthInterval)) && r.Endpoint != kartustok.EndpointHealth {
				t.Errorf("%s called while the token was refused", r.Endpoint)
			}
		}
		ms = h.series()
		if n := testkit.Count(ms, "kartustok_stock_on_hand"); n != stockBefore {
			t.Errorf("%d stock series while refused, want the last good %d", n, stockBefore)
		}
		if v := ms[`kartustok_api_errors_total{company="sinarjaya",endpoint="/health",reason="unauthorized"}`]; v < 19 {
			t.Errorf("unauthorized health errors = %v, want one per check", v)
		}

		// A new token is written to the file; the client re-reads it.
		h.token = h.company.AddToken(kartustoktest.TokenSpec{})
		if err := os.WriteFile(h.tokenFile, []byte(h.token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		time.Sleep(cfg.HealthInterval + cfg.StockInterval + time.Second)
		synctest.Wait()
		ms = h.series()
		if v := ms[`kartustok_token_valid{company="sinarjaya"}`]; v != 1 {
			t.Errorf("token_valid = %v after rotation, want 1", v)
		}
		if v := ms[`kartustok_up{company="sinarjaya"}`]; v != 1 {
			t.Errorf("up = %v after rotation, want 1", v)
		}
		h.assertMatchesCompany(ms)
	})
}

func TestIntegrationFaultsKeepLastGoodValues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  kartustoktest.Fault
		reason string
	}{
		{"503", kartustoktest.Fault{Status: 503}, "server_error"},
		{"HTML 502", kartustoktest.Fault{HTML502: true}, "server_error"},
		{"truncated JSON", kartustoktest.Fault{Truncate: true}, "invalid_response"},
		{"not JSON", kartustoktest.Fault{InvalidJSON: true}, "invalid_response"},
		// Every row skipped, each keeping its last good value: the
		// refresh itself succeeds.
		{"wrong types", kartustoktest.Fault{WrongTypes: true}, "invalid_row"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testkit.EngineConfig()
				h := startSim(t, kartustoktest.Config{Locators: 2, Items: 50}, cfg)
				time.Sleep(10 * time.Second)
				synctest.Wait()
				before := h.series()

				h.server.SetFault(kartustok.EndpointStockSummary, tc.fault)
				h.company.Step(30) // the API's truth moves on; the exporter cannot see it
				time.Sleep(3 * cfg.StockInterval)
				synctest.Wait()
				ms := h.series()
				for k, v := range before {
					if strings.HasPrefix(k, "kartustok_stock_") && ms[k] != v {
						t.Errorf("%s = %v during the fault, want the last good %v", k, ms[k], v)
					}
				}
				if n, m := testkit.Count(ms, "kartustok_stock_on_hand"), testkit.Count(before, "kartustok_stock_on_hand"); n != m {
					t.Errorf("%d stock series during the fault, want %d", n, m)
				}
				key := fmt.Sprintf(`kartustok_api_errors_total{company="sinarjaya",endpoint="/stock/summary",reason=%q}`, tc.reason)
				if ms[key] == 0 {
					t.Errorf("%s = 0, want the fault counted", key)
				}
				if ms[`kartustok_sync_errors_total{company="sinarjaya",resource="stock"}`] == 0 && tc.reason != "invalid_row" {
					t.Error("stock sync errors not counted")
				}

				h.recovers(cfg)
			})
		})
	}
}

// TestIntegrationHealthNeverStarvedByBigCompany runs a company whose stock
// needs far more than the budget (12 locators × 3000 items: 360 stock pages
// and 33 catalog requests against 96 requests a minute) with the default
// timings for long enough to see two catalog refreshes, and checks that no
// two health checks are further apart than the health interval and a few
// seconds: the catalog's burst of item pages must not push health out.
func TestIntegrationHealthNeverStarvedByBigCompany(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testkit.EngineConfig()
		h := startSim(t, kartustoktest.Config{Locators: 12, Items: 3000}, cfg)
		if reserve, _, _ := h.client.Shares(); reserve != 3 {
			t.Fatalf("health reserve %d, want 3: what main reserves with the default timings", reserve)
		}
		start := time.Now()
		time.Sleep(35 * time.Minute)
		synctest.Wait()

		var last time.Time
		var worst time.Duration
		checks := 0
		for _, r := range h.server.Requests() {
			if r.Endpoint != kartustok.EndpointHealth {
				continue
			}
			checks++
			if !last.IsZero() {
				worst = max(worst, r.At.Sub(last))
			}
			last = r.At
		}
		ms := h.series()
		t.Logf("%d health checks in %v; longest gap %v; most requests in a window %d; catalogs %d; stock: %v requests per %v s cycle; 429s: %d",
			checks, time.Since(start), worst, h.server.MaxInWindow(cfg.Window), h.server.Count(kartustok.EndpointCompany, 0),
			ms[`kartustok_sync_planned_requests{company="sinarjaya",resource="stock"}`], ms[`kartustok_sync_cycle_seconds{company="sinarjaya",resource="stock"}`],
			h.server.Count("", http.StatusTooManyRequests))
		if limit := cfg.HealthInterval + 5*time.Second; worst > limit {
			t.Errorf("health checks up to %v apart, want at most %v", worst, limit)
		}
		if got := h.server.MaxInWindow(cfg.Window); got > cfg.Budget {
			t.Errorf("%d requests in one window, budget %d", got, cfg.Budget)
		}
		if n := h.server.Count("", http.StatusTooManyRequests); n != 0 {
			t.Errorf("%d answers were 429", n)
		}
		if !h.engine.Ready() {
			t.Error("never ready")
		}
	})
}

// TestIntegrationMinimumsOfTheModeOnly runs against an API that reports
// both kinds of minimum whatever the mode: only the company's mode's kind
// is exported.
func TestIntegrationMinimumsOfTheModeOnly(t *testing.T) {
	for _, tc := range []struct {
		mode             string
		wantItem, wantWh bool
	}{
		{kartustoktest.ModePerWarehouse, false, true},
		{kartustoktest.ModeUnion, true, false},
		{kartustoktest.ModeInactive, false, false},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := startSim(t, kartustoktest.Config{Locators: 2, Items: 50, MinimumStockMode: tc.mode, EmitAllMinimums: true}, testkit.EngineConfig())
				time.Sleep(10 * time.Second)
				synctest.Wait()
				ms := h.series()
				if n := testkit.Count(ms, "kartustok_item_minimum_quantity"); (n > 0) != tc.wantItem {
					t.Errorf("%d item minimums, want some: %v", n, tc.wantItem)
				}
				if n := testkit.Count(ms, "kartustok_stock_minimum_quantity"); (n > 0) != tc.wantWh {
					t.Errorf("%d per-warehouse minimums, want some: %v", n, tc.wantWh)
				}
			})
		})
	}
}
