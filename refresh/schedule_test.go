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
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
	"github.com/kartustok/kartustok_exporter/refresh"
)

// These tests run the exporter through the client's scheduler against the
// simulated company with Laravel's throttle on (120 requests per 60 s per
// token and client IP), inside a synctest bubble: the fake clock makes the
// timings exact, so the ratios they check do not flake.

const serverLimit = 120

// our429s returns the 429s the exporter was answered, from its own metrics.
func our429s(ms map[string]float64) float64 {
	n := 0.0
	for k, v := range ms {
		if strings.HasPrefix(k, "kartustok_api_requests_total{") && strings.Contains(k, `code="429"`) {
			n += v
		}
	}
	return n
}

// newTokenFile writes a token file for a new process.
func newTokenFile(t *testing.T, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(path, []byte(token), 0o600))
	return path
}

// stockFloor is the least a full stock pass can take: its pages at what a
// window leaves after the health checks (window ÷ health interval).
func stockFloor(pages int, cfg refresh.Config) time.Duration {
	perWindow := float64(cfg.Budget) - cfg.Window.Seconds()/cfg.HealthInterval.Seconds()
	return time.Duration(float64(pages) / perWindow * float64(cfg.Window))
}

// TestIntegrationStockPeriodNearTheFloor: 10 warehouses of about 50 pages
// each, far more than one window's budget. The stock period, over the
// passes of the last 30 minutes, must be within 7 % of the floor, the
// budget used at 90 % or more, and the metric must say the last measured
// period; the stretch is logged once, with the numbers. A single pass may
// take a window more than the mean: the budget goes out at the start of
// each window, and a pass that needs a few pages of the next one waits for
// it. While stock is behind its interval, as here, the catalogue yields to
// it and takes its items' pages 5 a window over several windows rather
// than in one burst, which makes that happen to more passes.
func TestIntegrationStockPeriodNearTheFloor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testkit.EngineConfig()
		h := startSim(t, kartustoktest.Config{Locators: 10, Items: 5000, Seed: 3}, cfg,
			kartustoktest.WithRateLimit(serverLimit, time.Minute))
		pages := 0
		for _, l := range activeLocators(h.company) {
			pages += (len(cardsOf(h.company, l)) + kartustok.PerPage - 1) / kartustok.PerPage
		}
		require.Greater(t, pages, 4*cfg.Budget, "the company needs many windows: %d pages", pages)
		time.Sleep(45 * time.Minute)
		synctest.Wait()
		ms := h.series()
		start := time.Now().Add(-30 * time.Minute)
		passes := passStarts(h, activeLocators(h.company)[0])
		var recent []time.Time
		for _, p := range passes {
			if p.After(start) {
				recent = append(recent, p)
			}
		}
		require.GreaterOrEqual(t, len(recent), 4, "passes in the last 30 minutes")
		period := recent[len(recent)-1].Sub(recent[0]) / time.Duration(len(recent)-1)
		// The metric is the period of the last pass that ended: the one
		// before the pass running now, or, should one have just started,
		// the one before that.
		metric := ms[`kartustok_sync_cycle_seconds{company="sinarjaya",resource="stock"}`]
		np := len(passes)
		assert.True(t, math.Abs(passes[np-1].Sub(passes[np-2]).Seconds()-metric) < 1 || math.Abs(passes[np-2].Sub(passes[np-3]).Seconds()-metric) < 1,
			"the metric %v s says a measured period", metric)
		floor := stockFloor(pages, cfg)
		ratio := float64(period) / float64(floor)
		n := 0
		for _, r := range h.server.Requests() {
			if !r.At.Before(start) {
				n++
			}
		}
		use := float64(n) / (30 * float64(cfg.Budget))
		t.Logf("%d stock pages a pass: mean period %s, floor %s, ratio %.3f; budget use over the last 30 min %.1f %% (%d requests); max in any 60 s %d; 429s %v",
			pages, period.Round(time.Millisecond), floor.Round(time.Millisecond), ratio, 100*use, n, h.server.MaxInWindow(time.Minute), our429s(ms))
		assert.LessOrEqual(t, ratio, 1.07, "stock period within 7 % of the floor")
		assert.GreaterOrEqual(t, ratio, 1.0, "no faster than the floor: the budget holds")
		assert.GreaterOrEqual(t, use, 0.90, "budget use")
		assert.LessOrEqual(t, h.server.MaxInWindow(time.Minute), cfg.Budget)
		assert.Zero(t, our429s(ms))
		assert.Equal(t, 1, strings.Count(h.logs.String(), "Stock refresh stretched"), "logged once")
		for _, want := range []string{"wanted_cycle=1m0s", fmt.Sprintf("stock_requests_per_cycle=%d", pages), "budget=96", "health_reserve=3"} {
			assert.Contains(t, h.logs.String(), want)
		}

		// Nine warehouses retired: the cycle fits again, said once.
		for _, l := range activeLocators(h.company)[1:] {
			h.company.SetLocatorActive(l, false)
		}
		time.Sleep(cfg.CatalogInterval + 5*time.Minute)
		synctest.Wait()
		ms = h.series()
		assert.Equal(t, 60.0, ms[`kartustok_sync_cycle_seconds{company="sinarjaya",resource="stock"}`])
		assert.Equal(t, 1, strings.Count(h.logs.String(), "Stock refresh is back at the wanted interval"))
		assert.Equal(t, 1, strings.Count(h.logs.String(), "Stock refresh stretched"))
	})
}

// TestIntegrationCatalogStretchesBeforeStock: a budget of 20 a 10 s
// window and a catalog wanted every 5 s, far more than the budget holds.
// The catalog is stretched, and stock still refreshes every warehouse.
func TestIntegrationCatalogStretchesBeforeStock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testkit.EngineConfig()
		cfg.Budget, cfg.Window = 20, 10*time.Second
		cfg.HealthInterval, cfg.CatalogInterval, cfg.StockInterval = 10*time.Second, 5*time.Second, 10*time.Second
		h := startSim(t, kartustoktest.Config{Locators: 4, Items: 400}, cfg,
			kartustoktest.WithRateLimit(25, 10*time.Second))
		time.Sleep(45 * time.Second)
		synctest.Wait()
		ms := h.series()
		t.Logf("after 45 s: ready %v, stock series %d of %d, catalog period %v s, stock period %v s, 429s %v",
			h.engine.Ready(), testkit.Count(ms, "kartustok_stock_on_hand"), len(h.company.StockPairs()),
			ms[`kartustok_sync_cycle_seconds{company="sinarjaya",resource="items"}`], ms[`kartustok_sync_cycle_seconds{company="sinarjaya",resource="stock"}`], our429s(ms))
		assert.True(t, h.engine.Ready(), "every warehouse refreshed within 45 s")
		h.assertMatchesCompany(ms)
		assert.Equal(t, len(h.company.StockPairs()), testkit.Count(ms, "kartustok_stock_on_hand"))
		assert.Greater(t, ms[`kartustok_sync_cycle_seconds{company="sinarjaya",resource="items"}`], 5.0, "the catalog is the one stretched")
		assert.Contains(t, h.logs.String(), "Catalog refresh stretched")
		assert.Zero(t, our429s(ms))
	})
}

// TestIntegrationRestartsGetNo429: a process killed in the middle of its
// work and started again at once knows nothing of what its predecessor
// sent; the server's count tells it. One restart and three quick ones, with
// a company whose stock keeps the budget busy.
func TestIntegrationRestartsGetNo429(t *testing.T) {
	for _, restarts := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d restarts", restarts), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testkit.EngineConfig()
				co := kartustoktest.NewCompany(kartustoktest.Config{Locators: 8, Items: 2000})
				srv := kartustoktest.NewHandlerServer(co, kartustoktest.WithRateLimit(serverLimit, time.Minute))
				token := co.AddToken(kartustoktest.TokenSpec{})
				h := runSim(t, co, srv, token, newTokenFile(t, token), cfg, nil)
				time.Sleep(90 * time.Second)
				for range restarts {
					h.stop() // SIGKILL: requests in flight are abandoned
					h = runSim(t, co, srv, token, newTokenFile(t, token), cfg, nil)
					time.Sleep(5 * time.Second)
				}
				time.Sleep(3 * time.Minute)
				synctest.Wait()
				ms := h.series()
				worst := srv.MaxInWindow(time.Minute)
				t.Logf("%d restarts: %d requests in the worst 60 s (server limit %d), %d 429s served", restarts, worst, serverLimit, srv.Count429())
				assert.LessOrEqual(t, worst, serverLimit)
				assert.Zero(t, srv.Count429())
				assert.True(t, h.engine.Ready())
				h.assertMatchesCompany(ms)
			})
		})
	}
}

// TestIntegrationSharedTokenGetsNo429: another integration on the same
// token and IP spent 100 of the server's 120 just before the exporter
// started. The exporter spends only what the server says remains until its
// window resets.
func TestIntegrationSharedTokenGetsNo429(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testkit.EngineConfig()
		co := kartustoktest.NewCompany(kartustoktest.Config{Locators: 4, Items: 1000})
		srv := kartustoktest.NewHandlerServer(co, kartustoktest.WithRateLimit(serverLimit, time.Minute))
		token := co.AddToken(kartustoktest.TokenSpec{})
		other := &http.Client{Transport: kartustoktest.InMemory(srv.Handler())}
		for range 100 {
			req, _ := http.NewRequest(http.MethodGet, "http://sinarjaya.kartustok.test/public/v1/health", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := other.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
		}
		h := runSim(t, co, srv, token, newTokenFile(t, token), cfg, nil)
		time.Sleep(3 * time.Minute)
		synctest.Wait()
		worst := srv.MaxInWindow(time.Minute)
		t.Logf("other integration spent 100: %d requests in the worst 60 s, %d 429s", worst, srv.Count429())
		assert.Zero(t, srv.Count429())
		assert.LessOrEqual(t, worst, serverLimit)
		assert.True(t, h.engine.Ready())
	})
}

// TestIntegrationServerSaysNoneRemain: a server that says
// X-RateLimit-Remaining: 0 on every answer. The exporter waits for the
// server's window to end after each answer instead of spending its own
// budget.
func TestIntegrationServerSaysNoneRemain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testkit.EngineConfig()
		h := startSim(t, kartustoktest.Config{Locators: 2, Items: 300}, cfg,
			withFault("*", kartustoktest.Fault{ClaimNoneRemaining: true}))
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		worst := h.server.MaxInWindow(time.Minute)
		t.Logf("the server says none remain: %d requests in the worst 60 s over 10 min, %d in all", worst, h.server.Count("", 0))
		assert.LessOrEqual(t, worst, 2, "one request a window, as the server's window ends")
		assert.Zero(t, h.server.Count429())
	})
}

// TestIntegrationStartIsPaced: a start sends one request, learns the
// server's count from it and spreads the rest: no burst of the whole budget
// in the first seconds.
func TestIntegrationStartIsPaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testkit.EngineConfig()
		h := startSim(t, kartustoktest.Config{Locators: 8, Items: 2000}, cfg, kartustoktest.WithRateLimit(serverLimit, time.Minute))
		time.Sleep(90 * time.Second)
		synctest.Wait()
		reqs := h.server.Requests()
		require.NotEmpty(t, reqs)
		first := reqs[0]
		in3s := 0
		for _, r := range reqs {
			if r.At.Sub(first.At) <= 3*time.Second {
				in3s++
			}
		}
		t.Logf("start: first request %s, %d requests in the first 3 s, %d in the first 60 s", first.Endpoint, in3s, h.server.MaxInWindow(time.Minute))
		assert.Equal(t, kartustok.EndpointHealth, first.Endpoint, "the first request is the health check")
		assert.LessOrEqual(t, in3s, 3*4*cfg.Budget/60+2, "spaced window ÷ (4 × budget) apart")
		assert.LessOrEqual(t, h.server.MaxInWindow(time.Minute), cfg.Budget)
	})
}

// passStarts returns when each stock pass started, from the server's log:
// the first page of the pass's first locator.
func passStarts(h *simHarness, first string) []time.Time {
	log := h.server.Requests()
	slices.SortFunc(log, func(a, b kartustoktest.LoggedRequest) int { return a.At.Compare(b.At) })
	var starts []time.Time
	for _, r := range log {
		q, _ := url.ParseQuery(r.Query)
		if r.Endpoint == kartustok.EndpointStockSummary && q.Get("locator_id") == first && q.Get("page") == "1" && q.Get("date_from") == q.Get("date_to") {
			starts = append(starts, r.At)
		}
	}
	return starts
}

// TestIntegrationStockFirstUnderATightBudget: a budget of 20 a 10 s window
// with health checks every 2 s and a catalogue wanted every 5 s, 6
// warehouses and 1,920 pairs. Stock comes first in its first pass, so
// every stock series is there within 45 s, with no 429, and the
// catalogue, which would otherwise take as many requests as stock, waits.
func TestIntegrationStockFirstUnderATightBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testkit.EngineConfig()
		cfg.Budget, cfg.Window = 20, 10*time.Second
		cfg.HealthInterval, cfg.CatalogInterval, cfg.StockInterval = 2*time.Second, 5*time.Second, 10*time.Second
		h := startSim(t, kartustoktest.Config{Locators: 6, Items: 320}, cfg, kartustoktest.WithRateLimit(25, 10*time.Second))
		pairs := len(h.company.StockPairs())
		start := time.Now()
		var whole time.Duration
		for time.Since(start) < 45*time.Second {
			time.Sleep(time.Second)
			synctest.Wait()
			if whole == 0 && testkit.Count(h.series(), "kartustok_stock_on_hand") == pairs {
				whole = time.Since(start)
			}
		}
		ms := h.series()
		n := countRequests(h.server.Requests(), start, time.Now())
		t.Logf("%d pairs: every stock series after %s; in 45 s stock pages %d, catalogue %d, health %d; 429s %v",
			pairs, whole, n[stockPage], n[catalogRequest], n[healthCheck], our429s(ms))
		assert.NotZero(t, whole, "every stock series within 45 s")
		h.assertMatchesCompany(ms)
		assert.Zero(t, our429s(ms))
		assert.Less(t, n[catalogRequest], n[stockPage], "the catalogue yields to stock")
	})
}
