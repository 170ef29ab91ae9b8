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
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/collector"
	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/refresh"
)

// syncBuffer is a log sink that tests read while the engine writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness runs an engine over a fake API inside a synctest bubble.
type harness struct {
	t       *testing.T
	api     *fakeAPI
	e       *refresh.Engine
	handler http.Handler // /metrics
	logs    *syncBuffer
	stop    func()
}

// startEngine must be called inside synctest.Test; the engine stops when
// the test ends.
func startEngine(t *testing.T, api *fakeAPI, cfg refresh.Config) *harness {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Logger = log.NewLogfmtLogger(logs)
	e, err := refresh.New(api, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	h := &harness{t: t, api: api, e: e, handler: exporterHandler(t, e, nil, collector.NewCollector(e)), logs: logs, stop: func() { cancel(); <-done }}
	t.Cleanup(h.stop)
	return h
}

// metrics scrapes /metrics into "name{label="value",...}" → value.
func (h *harness) metrics() map[string]float64 {
	h.t.Helper()
	return testkit.MustGather(h.t, served(h.t, h.handler))
}

// exporterHandler serves e's snapshots as the exporter does: the families
// of live (a Collector, APIMetrics...) gathered by a pedantic registry,
// which checks every metric against its Desc, and the derived families a
// Renderer of e renders with mins (nil: the API's own). An error gathering
// fails the test.
func exporterHandler(t *testing.T, e *refresh.Engine, mins collector.Minimums, live ...prometheus.Collector) http.Handler {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	prometheus.WrapRegistererWith(prometheus.Labels{"company": testCompany}, reg).MustRegister(live...)
	var minsFunc func() collector.Minimums
	if mins != nil {
		minsFunc = func() collector.Minimums { return mins }
	}
	return collector.NewHandler(reg, collector.Renderers(collector.NewRenderer(e, minsFunc, testCompany)), collector.HandlerOpts{ErrorLog: testLog{t}})
}

// testCompany is the company label of the tests' series: the simulated
// company's subdomain.
const testCompany = "sinarjaya"

// testLog fails the test with what the handler logs.
type testLog struct{ t *testing.T }

func (l testLog) Println(v ...any) { l.t.Error(v...) }

// served is a Gatherer of what h serves in the text format, parsed back.
func served(t *testing.T, h http.Handler) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		body, _ := testkit.Scrape(t, h, "/metrics", "", "")
		return parseText(body)
	})
}

func TestEngineFirstSyncReadyAndInactiveLocator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI(3, 5)
		h := startEngine(t, api, testkit.EngineConfig())
		time.Sleep(5 * time.Second)
		synctest.Wait()

		if !h.e.Ready() {
			t.Fatal("not ready after the first stock cycle")
		}
		ms := h.metrics()
		if got := testkit.Count(ms, "kartustok_stock_on_hand"); got != 15 {
			t.Errorf("stock series = %d, want 15", got)
		}
		if v := ms[`kartustok_stock_on_hand{company="sinarjaya",item_id="i4",locator_id="L2"}`]; v != 10 {
			t.Errorf("on hand = %v, want 10", v)
		}
		if _, ok := ms[`kartustok_locator_info{active="false",company="sinarjaya",locator_code="OLD",locator_id="Lx",locator_name="Gudang Lama"}`]; !ok {
			t.Error("inactive locator missing from locator_info")
		}
		for _, c := range api.callsSince(kartustok.EndpointStockSummary, time.Time{}) {
			if c.Filter.LocatorID == "Lx" {
				t.Error("stock of an inactive locator was fetched")
			}
			if c.Filter.DateFrom != "2000-01-01" || c.Filter.DateTo != "2000-01-01" {
				t.Errorf("dates = %s..%s, want the company's today 2000-01-01", c.Filter.DateFrom, c.Filter.DateTo)
			}
		}
		for _, k := range []string{`kartustok_up{company="sinarjaya"}`, `kartustok_token_valid{company="sinarjaya"}`, `kartustok_token_scope_granted{company="sinarjaya",scope="stock.read"}`} {
			if ms[k] != 1 {
				t.Errorf("%s = %v, want 1", k, ms[k])
			}
		}
		for res := range refresh.NumResources {
			r := res.String()
			if res == refresh.ResourceFlow {
				// Off in this configuration: no series at all.
				if _, ok := ms[fmt.Sprintf(`kartustok_sync_errors_total{company="sinarjaya",resource=%q}`, r)]; ok {
					t.Errorf("sync_errors_total{resource=%q} exported although flow is off", r)
				}
				continue
			}
			if _, ok := ms[fmt.Sprintf(`kartustok_sync_errors_total{company="sinarjaya",resource=%q}`, r)]; !ok {
				t.Errorf("sync_errors_total{resource=%q} not initialised", r)
			}
			if _, ok := ms[fmt.Sprintf(`kartustok_sync_last_success_timestamp_seconds{company="sinarjaya",resource=%q}`, r)]; !ok {
				t.Errorf("no last success for %s", r)
			}
		}
	})
}

func TestEngineNotReadyBeforeEveryLocator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI(2, 3)
		api.setLocErr("L1", httpErr(kartustok.EndpointStockSummary, 500))
		h := startEngine(t, api, testkit.EngineConfig())
		time.Sleep(90 * time.Second)
		synctest.Wait()
		if h.e.Ready() {
			t.Fatal("ready although locator L1 never succeeded")
		}
		api.setLocErr("L1", nil)
		time.Sleep(time.Minute)
		synctest.Wait()
		if !h.e.Ready() {
			t.Fatal("not ready after L1 succeeded")
		}
	})
}

func TestEngineCompanyTimeZone(t *testing.T) {
	for _, tc := range []struct {
		name, zone string
		healthZone *time.Location
		want       string
		warn       bool
	}{
		// The bubble starts at 2000-01-01 00:00 UTC, still 1999 in
		// Los Angeles: a date computed in UTC would be the wrong day.
		{"Los Angeles", "America/Los_Angeles", nil, "1999-12-31", false},
		{"Jakarta", "Asia/Jakarta", nil, "2000-01-01", false},
		// An unknown zone: the day comes from /health's offset, and
		// without one no date is sent (the API's own today), never UTC's.
		{"unknown, health at -08:00", "Mars/Olympus_Mons", time.FixedZone("", -8*3600), "1999-12-31", true},
		{"empty, health at -08:00", "", time.FixedZone("", -8*3600), "1999-12-31", true},
		{"unknown, health without a time", "Mars/Olympus_Mons", nil, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				api := newFakeAPI(1, 1)
				api.company.Timezone = tc.zone
				api.healthZone = tc.healthZone
				h := startEngine(t, api, testkit.EngineConfig())
				synctest.Wait()
				calls := api.callsSince(kartustok.EndpointStockSummary, time.Time{})
				if len(calls) == 0 {
					t.Fatal("no stock call")
				}
				if got := calls[0].Filter.DateFrom; got != tc.want {
					t.Errorf("date_from = %s, want %s", got, tc.want)
				}
				if warned := strings.Contains(h.logs.String(), "Unknown company time zone"); warned != tc.warn {
					t.Errorf("warning logged = %v, want %v", warned, tc.warn)
				}
			})
		})
	}
}

func TestEngineWarnsWhenCycleOutlivesStaleness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI(10, 3)
		for _, l := range api.locators {
			api.setBalances(l.ID, 10, 20)
		}
		cfg := testkit.EngineConfig()
		cfg.MaxStaleness = 2 * time.Minute // below the 135 s stretched cycle
		h := startEngine(t, api, cfg)
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if n := strings.Count(h.logs.String(), "stock series will vanish between refreshes"); n != 1 {
			t.Errorf("warning logged %d times, want once", n)
		}
	})
}

func TestEngineLocatorSwapIsAtomic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI(3, 50)
		cfg := testkit.EngineConfig()
		cfg.StockInterval = time.Second
		cfg.Budget = 1000 // so that the stock cycle is not stretched
		var version atomic.Int64
		api.hook = func(f kartustok.StockSummaryFilter) {
			// Every fetch of a locator answers a new, uniform balance.
			api.setBalances(f.LocatorID, float64(version.Add(1)), 1)
		}
		h := startEngine(t, api, cfg)
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				for range 100 {
					mfs, err := served(t, h.handler).Gather()
					if err != nil {
						t.Error(err)
						return
					}
					perLocator := map[string]map[float64]bool{}
					for _, mf := range mfs {
						if mf.GetName() != "kartustok_stock_on_hand" {
							continue
						}
						for _, m := range mf.GetMetric() {
							var loc string
							for _, l := range m.GetLabel() {
								if l.GetName() == "locator_id" {
									loc = l.GetValue()
								}
							}
							if perLocator[loc] == nil {
								perLocator[loc] = map[float64]bool{}
							}
							perLocator[loc][m.GetGauge().GetValue()] = true
						}
					}
					for loc, vals := range perLocator {
						if len(vals) != 1 {
							t.Errorf("scrape saw locator %s half-updated: values %v", loc, vals)
						}
					}
					time.Sleep(50 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		if n := version.Load(); n < 12 {
			t.Fatalf("only %d fetches happened during the scrapes", n)
		}
	})
}

func TestEngineKeepsLastGoodUntilMaxStaleness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI(2, 2)
		cfg := testkit.EngineConfig()
		cfg.MaxStaleness = 10 * time.Minute
		h := startEngine(t, api, cfg)
		synctest.Wait()
		time.Sleep(time.Second)
		synctest.Wait()
		api.setBalances("L0", 7, 1)
		api.setLocErr("L0", httpErr(kartustok.EndpointStockSummary, 503))
		api.setBalances("L1", 8, 1)

		time.Sleep(9 * time.Minute)
		synctest.Wait()
		ms := h.metrics()
		if v, ok := ms[`kartustok_stock_on_hand{company="sinarjaya",item_id="i0",locator_id="L0"}`]; !ok || v != 10 {
			t.Errorf("failing locator: on hand = %v (present %v), want the last good 10", v, ok)
		}
		if v := ms[`kartustok_stock_on_hand{company="sinarjaya",item_id="i0",locator_id="L1"}`]; v != 8 {
			t.Errorf("healthy locator: on hand = %v, want 8", v)
		}
		if got := ms[`kartustok_sync_errors_total{company="sinarjaya",resource="stock"}`]; got < 8 {
			t.Errorf("stock errors = %v, want one per failed fetch (≥ 8)", got)
		}

		time.Sleep(2 * time.Minute)
		synctest.Wait()
		ms = h.metrics()
		for k, v := range ms {
			if strings.Contains(k, `locator_id="L0"`) && strings.HasPrefix(k, "kartustok_stock_") {
				t.Errorf("stale series still exported: %s = %v", k, v)
			}
		}
		if got := testkit.Count(ms, "kartustok_stock_on_hand"); got != 2 {
			t.Errorf("stock series = %d, want L1's 2", got)
		}

		api.setLocErr("L0", nil)
		time.Sleep(time.Minute)
		synctest.Wait()
		if v := h.metrics()[`kartustok_stock_on_hand{company="sinarjaya",item_id="i0",locator_id="L0"}`]; v != 7 {
			t.Errorf("recovered locator: on hand = %v, want 7", v)
		}
	})
}

func TestEngineRefusedTokenPausesCatalogAndStock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI(2, 2)
		h := startEngine(t, api, testkit.EngineConfig())
		time.Sleep(10 * time.Second)
		synctest.Wait()

		for _, ep := range []string{kartustok.EndpointHealth, kartustok.EndpointCompany, kartustok.EndpointItemCategories, kartustok.EndpointLocators, kartustok.EndpointItems, kartustok.EndpointStockSummary} {
			api.setErr(ep, httpErr(ep, 401))
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if v := h.metrics()[`kartustok_token_valid{company="sinarjaya"}`]; v != 0 {
			t.Fatalf("token_valid = %v after 401, want 0", v)
		}
		revoked := time.Now()
		time.Sleep(20 * time.Minute) // within --sync.max-staleness
		synctest.Wait()
		ms := h.metrics()
		if v := ms[`kartustok_up{company="sinarjaya"}`]; v != 0 {
			t.Errorf("up = %v while health gets 401, want 0", v)
		}
		if n := len(api.callsSince(kartustok.EndpointHealth, revoked)); n < 39 || n > 41 {
			t.Errorf("%d health checks in 20 min while refused, want one per 30 s", n)
		}
		for _, c := range api.callsSince("", revoked) {
			if c.Endpoint != kartustok.EndpointHealth {
				t.Errorf("called %s while the token was refused", c.Endpoint)
			}
		}
		if v := ms[`kartustok_stock_on_hand{company="sinarjaya",item_id="i0",locator_id="L0"}`]; v != 10 {
			t.Errorf("on hand = %v while refused, want the last good 10", v)
		}
		if strings.Count(h.logs.String(), "The API refused the token") != 1 {
			t.Errorf("refusal should be logged once:\n%s", h.logs.String())
		}

		for ep := range api.errs {
			api.setErr(ep, nil)
		}
		api.setBalances("L0", 3, 1)
		recovered := time.Now()
		time.Sleep(time.Minute)
		synctest.Wait()
		ms = h.metrics()
		if v := ms[`kartustok_token_valid{company="sinarjaya"}`]; v != 1 {
			t.Errorf("token_valid = %v after recovery, want 1", v)
		}
		if v := ms[`kartustok_stock_on_hand{company="sinarjaya",item_id="i0",locator_id="L0"}`]; v != 3 {
			t.Errorf("on hand = %v after recovery, want 3", v)
		}
		if len(api.callsSince(kartustok.EndpointCompany, recovered)) == 0 {
			t.Error("catalog did not resume after recovery")
		}
	})
}

func TestEngineForbiddenScopeOnlyStopsThatResource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI(2, 2)
		api.setErr(kartustok.EndpointItems, &kartustok.Error{Kind: kartustok.KindForbidden, Endpoint: kartustok.EndpointItems, Status: 403, Forbidden: kartustok.ForbiddenScope})
		h := startEngine(t, api, testkit.EngineConfig())
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		ms := h.metrics()
		if v, ok := ms[`kartustok_token_scope_granted{company="sinarjaya",scope="item.read"}`]; !ok || v != 0 {
			t.Errorf("item.read = %v (present %v), want 0", v, ok)
		}
		if v := ms[`kartustok_token_scope_granted{company="sinarjaya",scope="stock.read"}`]; v != 1 {
			t.Errorf("stock.read = %v, want 1", v)
		}
		if v := ms[`kartustok_token_valid{company="sinarjaya"}`]; v != 1 {
			t.Errorf("token_valid = %v on 403, want 1", v)
		}
		if got := testkit.Count(ms, "kartustok_stock_on_hand"); got != 4 {
			t.Errorf("stock series = %d, want 4 despite the forbidden items", got)
		}
		if _, ok := ms[`kartustok_token_scope_granted{company="sinarjaya",scope="category.read"}`]; !ok {
			t.Error("category.read unknown after a successful categories call")
		}
		// A 403 does not pass by itself: no quick retries.
		if n := len(api.callsSince(kartustok.EndpointItems, time.Time{})); n != 1 {
			t.Errorf("items called %d times in 5 min, want 1 (next at the catalog interval)", n)
		}

		api.setErr(kartustok.EndpointItems, nil)
		time.Sleep(15 * time.Minute)
		synctest.Wait()
		if v := h.metrics()[`kartustok_token_scope_granted{company="sinarjaya",scope="item.read"}`]; v != 1 {
			t.Errorf("item.read = %v after success, want 1", v)
		}
	})
}

func TestEngineScopesAndExpiryFromCompany(t *testing.T) {
	flag := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	exp := time.Date(2000, 2, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		token  *kartustok.TokenInfo
		want   time.Time
		scopes int
	}{
		{"no token object", nil, flag, 4}, // meta, category, locator, stock: the calls made
		{"expiry reported", &kartustok.TokenInfo{Scopes: []string{kartustok.ScopeMeta, kartustok.ScopeStock}, ExpiresAt: &exp}, exp, 5},
		{"no expiry reported", &kartustok.TokenInfo{}, flag, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				api := newFakeAPI(1, 1)
				api.company.Token = tc.token
				api.setErr(kartustok.EndpointItems, &kartustok.Error{Kind: kartustok.KindTimeout, Endpoint: kartustok.EndpointItems})
				cfg := testkit.EngineConfig()
				cfg.TokenExpiresAt = flag
				h := startEngine(t, api, cfg)
				synctest.Wait()
				ms := h.metrics()
				if v := ms[`kartustok_token_expiry_timestamp_seconds{company="sinarjaya"}`]; v != float64(tc.want.Unix()) {
					t.Errorf("expiry = %v, want %v", v, tc.want.Unix())
				}
				if got := testkit.Count(ms, "kartustok_token_scope_granted"); got != tc.scopes {
					t.Errorf("%d scope series, want %d", got, tc.scopes)
				}
			})
		})
	}
}

func TestEngineNeverExportsZeroForFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI(1, 3)
		h := startEngine(t, api, testkit.EngineConfig())
		synctest.Wait()
		for _, err := range []error{
			httpErr(kartustok.EndpointStockSummary, 500),
			&kartustok.Error{Kind: kartustok.KindInvalidResponse, Endpoint: kartustok.EndpointStockSummary, Status: 200},
			&kartustok.Error{Kind: kartustok.KindTimeout, Endpoint: kartustok.EndpointStockSummary},
		} {
			api.setErr(kartustok.EndpointStockSummary, err)
			time.Sleep(time.Minute)
			synctest.Wait()
			ms := h.metrics()
			for _, it := range []string{"i0", "i1", "i2"} {
				if v := ms[fmt.Sprintf(`kartustok_stock_on_hand{company="sinarjaya",item_id=%q,locator_id="L0"}`, it)]; v != 10 {
					t.Errorf("after %v: %s on hand = %v, want the last good 10", err, it, v)
				}
			}
			if v := ms[`kartustok_token_valid{company="sinarjaya"}`]; v != 1 {
				t.Errorf("after %v: token_valid = %v, want 1", err, v)
			}
		}
	})
}

func TestEngineDropsStockOfDeactivatedLocator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI(2, 2)
		cfg := testkit.EngineConfig()
		cfg.CatalogInterval = 2 * time.Minute
		h := startEngine(t, api, cfg)
		synctest.Wait()
		api.mu.Lock()
		api.locators[1].Active = false
		api.mu.Unlock()
		time.Sleep(3 * time.Minute)
		synctest.Wait()
		ms := h.metrics()
		for k := range ms {
			if strings.HasPrefix(k, "kartustok_stock_on_hand") && strings.Contains(k, `"L1"`) {
				t.Errorf("stock of a deactivated locator still exported: %s", k)
			}
		}
		if got := testkit.Count(ms, "kartustok_stock_on_hand"); got != 2 {
			t.Errorf("stock series = %d, want 2", got)
		}
	})
}

func TestNewValidatesConfig(t *testing.T) {
	cfg := testkit.EngineConfig()
	cfg.Budget = 0
	if _, err := refresh.New(newFakeAPI(1, 1), cfg); err == nil {
		t.Error("budget 0 accepted")
	}
	cfg = testkit.EngineConfig()
	cfg.StockInterval = 0
	if _, err := refresh.New(newFakeAPI(1, 1), cfg); err == nil {
		t.Error("zero stock interval accepted")
	}
}

// TestConfigValidateNamesTheFlags: every problem a user can set up is
// reported at once, in terms of the flag that sets it, with the fix.
func TestConfigValidateNamesTheFlags(t *testing.T) {
	assert.Empty(t, testkit.EngineConfig().Validate())
	cfg := testkit.EngineConfig()
	cfg.StockInterval = cfg.MaxStaleness
	cfg.HealthInterval = time.Millisecond
	cfg.FlowInterval = 30 * time.Second
	cfg.FullStockInterval = time.Hour
	var msgs []string
	for _, p := range cfg.Validate() {
		msgs = append(msgs, p.Error())
	}
	assert.Equal(t, []string{
		"--sync.health-interval must be at least 1s, got 1ms",
		"--sync.stock-interval 30m0s must be shorter than --sync.max-staleness 30m0s, or every stock series vanishes for part of each cycle: lower --sync.stock-interval or raise --sync.max-staleness",
		"--sync.full-stock-interval 1h0m0s must be shorter than --sync.max-staleness 30m0s, or an unchanged warehouse's stock would expire between its full reads",
		"--sync.flow-interval must be 0 (off) or at least 1m, got 30s",
	}, msgs)
}

func TestEngineLogsAnUnknownMinimumStockModeOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI(1, 1)
		api.company.MinimumStockMode = "per_bin"
		cfg := testkit.EngineConfig()
		cfg.CatalogInterval = time.Minute
		h := startEngine(t, api, cfg)
		time.Sleep(5 * time.Minute) // five catalog refreshes
		synctest.Wait()
		if n := strings.Count(h.logs.String(), "Unknown minimum stock mode"); n != 1 {
			t.Errorf("unknown mode logged %d times, want once:\n%s", n, h.logs.String())
		}
	})
}

// TestEngineScopesFromCallsWin: /meta/company's scope list only fills in
// scopes no call has answered for, so the metric does not flip between
// the list and the calls on every catalog refresh.
func TestEngineScopesFromCallsWin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI(1, 1)
		// The list omits stock.read and item.read, yet stock calls succeed:
		// the calls are right. It also omits locator.read... which calls
		// also prove granted. It lists category.read, which is refused.
		api.company.Token = &kartustok.TokenInfo{Scopes: []string{kartustok.ScopeMeta, kartustok.ScopeCategory}}
		api.setErr(kartustok.EndpointItemCategories, &kartustok.Error{Kind: kartustok.KindForbidden, Endpoint: kartustok.EndpointItemCategories, Status: 403, Forbidden: kartustok.ForbiddenScope})
		cfg := testkit.EngineConfig()
		cfg.CatalogInterval = time.Minute
		h := startEngine(t, api, cfg)
		want := map[string]float64{
			kartustok.ScopeMeta: 1, kartustok.ScopeCategory: 0, kartustok.ScopeLocator: 1,
			kartustok.ScopeItem: 1, kartustok.ScopeStock: 1,
		}
		for step := range 12 {
			time.Sleep(15 * time.Second) // four samples per catalog refresh
			synctest.Wait()
			ms := h.metrics()
			for sc, v := range want {
				if got, ok := ms[`kartustok_token_scope_granted{company="sinarjaya",scope="`+sc+`"}`]; !ok || got != v {
					t.Fatalf("after %v: scope %s = %v (present %v), want %v", time.Duration(step+1)*15*time.Second, sc, got, ok, v)
				}
			}
		}
	})
}

// TestEngineScopeListFillsUnknownScopes: a scope no call has needed yet
// comes from the list.
func TestEngineScopeListFillsUnknownScopes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI(0, 1) // no active locator: stock is never called
		api.company.Token = &kartustok.TokenInfo{Scopes: []string{kartustok.ScopeMeta, kartustok.ScopeItem, kartustok.ScopeCategory, kartustok.ScopeLocator}}
		h := startEngine(t, api, testkit.EngineConfig())
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if v, ok := h.metrics()[`kartustok_token_scope_granted{company="sinarjaya",scope="stock.read"}`]; !ok || v != 0 {
			t.Errorf("stock.read = %v (present %v), want 0 from the list", v, ok)
		}
	})
}

// TestEngineWarnsWhenStockRunsWithoutTheCompanyTimeZone: without
// /meta/company the company's today is computed in UTC, the wrong day for
// hours in most zones; that is said once, with the reason.
func TestEngineWarnsWhenStockRunsWithoutTheCompanyTimeZone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI(1, 1)
		api.setErr(kartustok.EndpointCompany, &kartustok.Error{Kind: kartustok.KindForbidden, Endpoint: kartustok.EndpointCompany, Status: 403, Forbidden: kartustok.ForbiddenScope})
		cfg := testkit.EngineConfig()
		h := startEngine(t, api, cfg)
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		logs := h.logs.String()
		if n := strings.Count(logs, "without the company time zone"); n != 1 {
			t.Errorf("warning logged %d times, want once:\n%s", n, logs)
		}
		if !strings.Contains(logs, "403") {
			t.Errorf("the warning does not give the reason:\n%s", logs)
		}
		// The company is tried again on the catalog schedule; once it
		// answers, stock uses its zone.
		before := len(api.callsSince(kartustok.EndpointCompany, time.Time{}))
		api.setErr(kartustok.EndpointCompany, nil)
		time.Sleep(cfg.CatalogInterval + cfg.StockInterval)
		synctest.Wait()
		if after := len(api.callsSince(kartustok.EndpointCompany, time.Time{})); after <= before {
			t.Fatal("the company was not tried again")
		}
		if loc := h.e.Snapshot().Location; loc.String() != "Asia/Jakarta" {
			t.Errorf("location %v after the company answered, want Asia/Jakarta", loc)
		}
	})
}

// TestEngineUnreadableTokenExpiry: an expires_at the client could not read
// is warned about once and the flag's expiry is used.
func TestEngineUnreadableTokenExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI(1, 1)
		api.company.Token = &kartustok.TokenInfo{Scopes: []string{kartustok.ScopeMeta}, ExpiresAtRaw: "31/01/2027"}
		cfg := testkit.EngineConfig()
		cfg.CatalogInterval = time.Minute
		cfg.TokenExpiresAt = time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)
		h := startEngine(t, api, cfg)
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if v := h.metrics()[`kartustok_token_expiry_timestamp_seconds{company="sinarjaya"}`]; v != float64(cfg.TokenExpiresAt.Unix()) {
			t.Errorf("expiry %v, want the flag's %v", v, cfg.TokenExpiresAt.Unix())
		}
		logs := h.logs.String()
		if n := strings.Count(logs, "Cannot read the token expiry"); n != 1 {
			t.Errorf("warned %d times, want once:\n%s", n, logs)
		}
		if !strings.Contains(logs, "31/01/2027") || !strings.Contains(logs, "2027-01-31T00:00:00Z") {
			t.Errorf("the warning lacks the value or the fallback:\n%s", logs)
		}
	})
}

// TestEngineStockStopsOnAFailureWithoutRequest: an error with no kind (the
// token file unreadable) sent no request and would fail every locator
// alike, so the stock pass stops at the first instead of logging one error
// per locator.
func TestEngineStockStopsOnAFailureWithoutRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI(3, 2)
		api.setErr(kartustok.EndpointStockSummary, errors.New("reading token file /run/token: file is empty"))
		startEngine(t, api, testkit.EngineConfig())
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if n := len(api.callsSince(kartustok.EndpointStockSummary, time.Time{})); n != 1 {
			t.Errorf("%d stock calls in the first pass, want 1", n)
		}
	})
}

func TestEngineCallsOnCatalogAfterEachRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen []*refresh.Snapshot
		cfg := testkit.EngineConfig()
		cfg.OnCatalog = func(s *refresh.Snapshot) { seen = append(seen, s) }
		api := newFakeAPI(2, 3)
		startEngine(t, api, cfg)
		synctest.Wait()
		if len(seen) != 1 || !seen[0].ItemsKnown || len(seen[0].Items) != 3 || len(seen[0].Locators) != 3 {
			t.Fatalf("after the first catalog refresh: %d calls", len(seen))
		}
		api.mu.Lock()
		api.items = api.items[:2]
		api.mu.Unlock()
		time.Sleep(cfg.CatalogInterval)
		synctest.Wait()
		if len(seen) != 2 || len(seen[1].Items) != 2 {
			t.Fatalf("after the second: %d calls", len(seen))
		}
	})
}

// TestCatalogVersionChangesOnlyWithTheCatalog: a catalogue refresh that
// finds everything as it was leaves the version, so that nothing derived
// from the catalogue is rebuilt; a changed item moves it.
func TestCatalogVersionChangesOnlyWithTheCatalog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI(2, 3)
		cfg := testkit.EngineConfig()
		h := startEngine(t, api, cfg)
		synctest.Wait()
		v := h.e.Snapshot().CatalogVersion
		require.NotZero(t, v)
		time.Sleep(cfg.CatalogInterval)
		synctest.Wait()
		assert.Equal(t, v, h.e.Snapshot().CatalogVersion, "nothing changed")
		api.mu.Lock()
		api.items[1].Name = "Renamed"
		api.mu.Unlock()
		time.Sleep(cfg.CatalogInterval)
		synctest.Wait()
		assert.Greater(t, h.e.Snapshot().CatalogVersion, v)
	})
}

// summaryLocators returns the locators whose stock was read (one call to
// GET /stock/summary each) at or after t.
func summaryLocators(api *fakeAPI, t time.Time) []kartustok.ID {
	var ids []kartustok.ID
	for _, c := range api.callsSince(kartustok.EndpointStockSummary, t) {
		ids = append(ids, c.Filter.LocatorID)
	}
	return ids
}

// TestEngineSkipsUnchangedLocatorsBetweenFullReads: with a full stock
// interval longer than the stock interval, a pass asks each locator's count
// of the day's movements and reads the stock of only those whose count
// changed, until the full stock interval since a locator's last read has
// passed. A locator's first read asks no count: it must be read anyway.
func TestEngineSkipsUnchangedLocatorsBetweenFullReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI(2, 2)
		cfg := testkit.EngineConfig()
		cfg.FullStockInterval = 15 * time.Minute
		h := startEngine(t, api, cfg)
		synctest.Wait()
		require.ElementsMatch(t, []kartustok.ID{"L0", "L1"}, summaryLocators(api, time.Time{}), "the first pass reads every locator")
		assert.Empty(t, api.callsSince(kartustok.EndpointStockDetail, time.Time{}), "a count before a locator's first read")
		time.Sleep(time.Second)
		synctest.Wait()

		// The second pass counts each locator's movements, the baseline
		// the next pass compares with, and reads it: there is no count of
		// its first read to compare with.
		since := time.Now()
		time.Sleep(cfg.StockInterval)
		synctest.Wait()
		assert.Len(t, api.callsSince(kartustok.EndpointStockDetail, since), 2, "one count per locator")
		assert.ElementsMatch(t, []kartustok.ID{"L0", "L1"}, summaryLocators(api, since))

		// Nothing moved: the pass counts each locator's movements and
		// reads no stock, even of a balance that changed.
		api.setBalances("L1", 8, 1)
		since = time.Now()
		time.Sleep(cfg.StockInterval)
		synctest.Wait()
		assert.Len(t, api.callsSince(kartustok.EndpointStockDetail, since), 2, "one count per locator")
		assert.Empty(t, summaryLocators(api, since))
		ms := h.metrics()
		assert.Equal(t, 2.0, ms[`kartustok_sync_skipped_total{company="sinarjaya",resource="stock"}`])
		assert.Equal(t, 10.0, ms[`kartustok_stock_on_hand{company="sinarjaya",item_id="i0",locator_id="L1"}`])

		// L0's count changed: it alone is read.
		api.setMoves("L0", 3)
		api.setBalances("L0", 7, 1)
		since = time.Now()
		time.Sleep(cfg.StockInterval)
		synctest.Wait()
		assert.Len(t, api.callsSince(kartustok.EndpointStockDetail, since), 2, "one count per locator")
		assert.Equal(t, []kartustok.ID{"L0"}, summaryLocators(api, since))
		ms = h.metrics()
		assert.Equal(t, 3.0, ms[`kartustok_sync_skipped_total{company="sinarjaya",resource="stock"}`])
		assert.Equal(t, 7.0, ms[`kartustok_stock_on_hand{company="sinarjaya",item_id="i0",locator_id="L0"}`])
		assert.Equal(t, 10.0, ms[`kartustok_stock_on_hand{company="sinarjaya",item_id="i0",locator_id="L1"}`])

		// L1, unchanged since the second pass, is read in full once the
		// full stock interval has passed; L0, read two passes later, not
		// yet.
		since = time.Now()
		time.Sleep(cfg.FullStockInterval - 2*cfg.StockInterval)
		synctest.Wait()
		assert.Equal(t, []kartustok.ID{"L1"}, summaryLocators(api, since))
		assert.Equal(t, 8.0, h.metrics()[`kartustok_stock_on_hand{company="sinarjaya",item_id="i0",locator_id="L1"}`])
	})
}

// TestEngineCountsOnlyWhereTheyCanSpareReads: when the counts of a pass
// alone take so long that a locator is visited less often than every half
// full stock interval, every read is due at its visit and no count could
// spare one: no pass asks any, and every pass reads every locator.
func TestEngineCountsOnlyWhereTheyCanSpareReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI(200, 2)
		cfg := testkit.EngineConfig()
		cfg.FullStockInterval = 15 * time.Minute
		cfg.Budget = 20 // 200 counts at under 17 a minute: over 11 minutes a pass
		h := startEngine(t, api, cfg)
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Empty(t, api.callsSince(kartustok.EndpointStockDetail, time.Time{}), "movement counts that could spare no read")
		ms := h.metrics()
		assert.Zero(t, ms[`kartustok_sync_skipped_total{company="sinarjaya",resource="stock"}`])
		assert.Equal(t, 200.0, ms[`kartustok_sync_planned_requests{company="sinarjaya",resource="stock"}`], "the plan counts pages only")
		reads := map[kartustok.ID]int{}
		for _, c := range api.callsSince(kartustok.EndpointStockSummary, time.Time{}) {
			reads[c.Filter.LocatorID]++
		}
		assert.Len(t, reads, 200)
		assert.Equal(t, reads["L0"], reads["L199"])
		assert.Greater(t, reads["L0"], 1)
	})
}
