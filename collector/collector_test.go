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

package collector

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/refresh"
)

// awkward holds every character a label value must survive.
const awkward = "PT \"Sinar\" \\ Jaya\nAbadi — Gudang ü 倉庫"

// testCompany is the company label of the tests' series.
const testCompany = "sinarjaya"

func quantity(v float64) *kartustok.Quantity {
	q := kartustok.Quantity(v)
	return &q
}

// fixedSource is a Source that holds one snapshot, as an engine that never
// runs does.
type fixedSource struct{ snap *refresh.Snapshot }

func (f fixedSource) Snapshot() *refresh.Snapshot { return f.snap }
func (f fixedSource) MaxStaleness() time.Duration { return testkit.EngineConfig().MaxStaleness }
func (f fixedSource) FlowMaxAge() time.Duration {
	return testkit.EngineConfig().FlowInterval + testkit.EngineConfig().MaxStaleness
}

func (f fixedSource) Budget() (int, time.Duration) {
	return testkit.EngineConfig().Budget, testkit.EngineConfig().Window
}
func fixedEngine(_ *testing.T, snap *refresh.Snapshot) fixedSource { return fixedSource{snap} }

// serveSource serves src as the exporter does: the families of live (a
// Collector, APIMetrics...) gathered by a pedantic registry, which checks
// every metric against its Desc, and the derived families a Renderer of src
// renders with the minimums mins returns (nil: the API's own).
func serveSource(src Source, mins func() Minimums, live ...prometheus.Collector) http.Handler {
	reg := prometheus.NewPedanticRegistry()
	companyOf(reg).MustRegister(live...)
	return NewHandler(reg, Renderers(NewRenderer(src, mins, testCompany)), HandlerOpts{})
}

// companyOf registers with reg what the exporter registers per company:
// every series gets the company label.
func companyOf(reg prometheus.Registerer) prometheus.Registerer {
	return prometheus.WrapRegistererWith(prometheus.Labels{"company": testCompany}, reg)
}

// fixedMinimums returns a minimums func for serveSource that always returns
// m.
func fixedMinimums(m Minimums) func() Minimums { return func() Minimums { return m } }

// served is a Gatherer of what h serves in the text format, parsed back
// and sorted as a registry sorts what it gathers.
func served(t testing.TB, h http.Handler) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		body, _ := testkit.Scrape(t, h, "/metrics", "", "")
		return parseText(body)
	})
}

// parseText parses the text format into families sorted by name, their
// metrics sorted by label values in label name order.
func parseText(body string) ([]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	out := slices.Collect(maps.Values(fams))
	slices.SortFunc(out, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	for _, mf := range out {
		key := func(m *dto.Metric) []string {
			ls := slices.Clone(m.GetLabel())
			slices.SortFunc(ls, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
			vs := make([]string, len(ls))
			for i, l := range ls {
				vs[i] = l.GetValue()
			}
			return vs
		}
		slices.SortStableFunc(mf.Metric, func(a, b *dto.Metric) int { return slices.Compare(key(a), key(b)) })
	}
	return out, nil
}

func fixedSnapshot(fetched time.Time) *refresh.Snapshot {
	s := &refresh.Snapshot{
		HealthKnown: true, Up: true,
		TokenKnown: true, TokenValid: true,
		Scopes:      map[string]bool{kartustok.ScopeStock: true, kartustok.ScopeItem: false},
		TokenExpiry: time.Unix(1800000000, 0),
		Company: &kartustok.Company{
			ID: "c1", Name: awkward, Subdomain: "sinarjaya", Timezone: "Asia/Jakarta",
			MinimumStockMode: kartustok.MinimumStockPerWarehouse,
		},
		Location:      time.UTC,
		CategoryNames: map[kartustok.ID]string{"cat1": "Bahan Baku"},
		Locators: []kartustok.Locator{
			{ID: "L1", Code: "GDG-01", Name: "Gudang Utama", Active: true},
			{ID: "L2", Code: "OLD", Name: "Gudang Lama", Active: false},
		},
		Items: []kartustok.Item{
			{ID: "i1", Code: "KS-1", Name: `Tepung "Segitiga" 25 kg`, CategoryID: "cat1", UOM: "sak", MinimumQty: quantity(40), Active: true},
			{ID: "i2", Code: "KS-2", Name: "Gula", CategoryID: "cat1", CategoryName: "Pemanis", UOM: "kg", Active: false},
		},
		LocatorsKnown: true, ItemsKnown: true,
		Stock: map[kartustok.ID]*refresh.LocatorStock{
			"L1": {Fetched: fetched, Rows: []refresh.StockEntry{
				{ItemID: "i1", OnHand: 12.5, Minimum: 5, HasMinimum: true},
				{ItemID: "i2", OnHand: 0},
			}},
		},
		Ready: true,
	}
	for r := range refresh.NumResources {
		s.Sync[r] = refresh.Status{
			LastSuccess:     time.Unix(1700000000, 0),
			LastDuration:    1500 * time.Millisecond,
			Errors:          uint64(r),
			PlannedRequests: 1,
			Cycle:           time.Minute,
		}
	}
	s.Sync[refresh.ResourceHealth].LastSuccess = time.Time{} // never succeeded: absent
	return s
}

type fakeRateLimit struct{ status kartustok.RateLimitStatus }

func (f fakeRateLimit) RateLimit() kartustok.RateLimitStatus { return f.status }

// TestExposition pins what the exporter serves of a snapshot: the live
// families of the Collector and the derived ones of the Renderer, with
// their HELP and TYPE, through the handler.
func TestExposition(t *testing.T) {
	e := fixedEngine(t, fixedSnapshot(time.Now()))
	h := serveSource(e, nil, NewCollector(e, WithRateLimit(fakeRateLimit{kartustok.RateLimitStatus{Known: true, Limit: 120, Remaining: 77}})))

	want := `
# HELP kartustok_up Whether the last health check (GET /health) got an answer: 1 for 200, or 429 while the API throttles; 0 for no answer, an error status or an unreadable answer. Cached; refreshed in the background.
# TYPE kartustok_up gauge
kartustok_up{company="sinarjaya"} 1
# HELP kartustok_token_valid Whether the API accepts the token: 0 after a 401 (invalid, inactive, expired or revoked token), 1 after an accepted call. Cached; refreshed in the background.
# TYPE kartustok_token_valid gauge
kartustok_token_valid{company="sinarjaya"} 1
# HELP kartustok_token_scope_granted Whether the token has the scope (1) or the API refused a call needing it (0), from the last such call or the scope list of /meta/company; absent until known. Cached; refreshed in the background.
# TYPE kartustok_token_scope_granted gauge
kartustok_token_scope_granted{company="sinarjaya",scope="item.read"} 0
kartustok_token_scope_granted{company="sinarjaya",scope="stock.read"} 1
# HELP kartustok_token_expiry_timestamp_seconds Unix time at which the API token expires, from /meta/company, else the configured expiry (--kartustok.token-expires-at or token_expires_at); absent when unknown. Cached; refreshed in the background.
# TYPE kartustok_token_expiry_timestamp_seconds gauge
kartustok_token_expiry_timestamp_seconds{company="sinarjaya"} 1.8e+09
# HELP kartustok_company_info Information about the KartuStok company, value 1. Cached; refreshed in the background.
# TYPE kartustok_company_info gauge
kartustok_company_info{company="sinarjaya",company_id="c1",company_name="PT \"Sinar\" \\ Jaya\nAbadi — Gudang ü 倉庫",minimum_stock_mode="per_warehouse",subdomain="sinarjaya",timezone="Asia/Jakarta"} 1
# HELP kartustok_locator_info Information about a locator (warehouse), value 1; join it on locator_id for names. Cached; refreshed in the background.
# TYPE kartustok_locator_info gauge
kartustok_locator_info{active="true",company="sinarjaya",locator_code="GDG-01",locator_id="L1",locator_name="Gudang Utama"} 1
kartustok_locator_info{active="false",company="sinarjaya",locator_code="OLD",locator_id="L2",locator_name="Gudang Lama"} 1
# HELP kartustok_item_info Information about an item, value 1; join it on item_id for codes, names and units. Cached; refreshed in the background.
# TYPE kartustok_item_info gauge
kartustok_item_info{active="true",category_id="cat1",category_name="Bahan Baku",company="sinarjaya",item_code="KS-1",item_id="i1",item_name="Tepung \"Segitiga\" 25 kg",uom="sak"} 1
kartustok_item_info{active="false",category_id="cat1",category_name="Pemanis",company="sinarjaya",item_code="KS-2",item_id="i2",item_name="Gula",uom="kg"} 1
# HELP kartustok_item_lead_time_seconds Time to restock an active item in seconds: lead_time_days in the minimums file (the item's, else its category's, else the file's), else 7 days. Cached; refreshed in the background.
# TYPE kartustok_item_lead_time_seconds gauge
kartustok_item_lead_time_seconds{company="sinarjaya",item_id="i1"} 604800
# HELP kartustok_stock_on_hand Stock on hand of an item in an active locator (warehouse), in the item's unit of measure, from /stock/summary; absent once older than --sync.max-staleness. Cached; refreshed in the background.
# TYPE kartustok_stock_on_hand gauge
kartustok_stock_on_hand{company="sinarjaya",item_id="i1",locator_id="L1"} 12.5
kartustok_stock_on_hand{company="sinarjaya",item_id="i2",locator_id="L1"} 0
# HELP kartustok_stock_minimum_quantity Minimum stock of an item in a locator (warehouse), only when set: from the minimums file, else KartuStok's per-warehouse minimum. Cached; refreshed in the background.
# TYPE kartustok_stock_minimum_quantity gauge
kartustok_stock_minimum_quantity{company="sinarjaya",item_id="i1",locator_id="L1"} 5
# HELP kartustok_api_rate_limit_remaining Requests left in the API's rate-limit window, from the X-RateLimit-Remaining header of the last response that carried a plausible one (0 to X-RateLimit-Limit).
# TYPE kartustok_api_rate_limit_remaining gauge
kartustok_api_rate_limit_remaining{company="sinarjaya"} 77
# HELP kartustok_api_request_budget Requests per rate-limit window the exporter allows itself (the rate limit times the budget, by flag or in the companies file).
# TYPE kartustok_api_request_budget gauge
kartustok_api_request_budget{company="sinarjaya"} 96
# HELP kartustok_sync_last_success_timestamp_seconds Unix time at which the last successful refresh of the resource ended; absent until the first success.
# TYPE kartustok_sync_last_success_timestamp_seconds gauge
kartustok_sync_last_success_timestamp_seconds{company="sinarjaya",resource="categories"} 1.7e+09
kartustok_sync_last_success_timestamp_seconds{company="sinarjaya",resource="company"} 1.7e+09
kartustok_sync_last_success_timestamp_seconds{company="sinarjaya",resource="flow"} 1.7e+09
kartustok_sync_last_success_timestamp_seconds{company="sinarjaya",resource="items"} 1.7e+09
kartustok_sync_last_success_timestamp_seconds{company="sinarjaya",resource="locators"} 1.7e+09
kartustok_sync_last_success_timestamp_seconds{company="sinarjaya",resource="stock"} 1.7e+09
# HELP kartustok_sync_duration_seconds Duration in seconds of the last refresh of the resource, successful or not.
# TYPE kartustok_sync_duration_seconds gauge
kartustok_sync_duration_seconds{company="sinarjaya",resource="categories"} 1.5
kartustok_sync_duration_seconds{company="sinarjaya",resource="company"} 1.5
kartustok_sync_duration_seconds{company="sinarjaya",resource="flow"} 1.5
kartustok_sync_duration_seconds{company="sinarjaya",resource="health"} 1.5
kartustok_sync_duration_seconds{company="sinarjaya",resource="items"} 1.5
kartustok_sync_duration_seconds{company="sinarjaya",resource="locators"} 1.5
kartustok_sync_duration_seconds{company="sinarjaya",resource="stock"} 1.5
# HELP kartustok_sync_errors_total Failed refreshes of the resource; for stock, failed locator fetches.
# TYPE kartustok_sync_errors_total counter
kartustok_sync_errors_total{company="sinarjaya",resource="categories"} 2
kartustok_sync_errors_total{company="sinarjaya",resource="company"} 1
kartustok_sync_errors_total{company="sinarjaya",resource="flow"} 6
kartustok_sync_errors_total{company="sinarjaya",resource="health"} 0
kartustok_sync_errors_total{company="sinarjaya",resource="items"} 4
kartustok_sync_errors_total{company="sinarjaya",resource="locators"} 3
kartustok_sync_errors_total{company="sinarjaya",resource="stock"} 5
# HELP kartustok_sync_planned_requests Requests one full refresh of the resource needs, from the page counts of the last refresh.
# TYPE kartustok_sync_planned_requests gauge
kartustok_sync_planned_requests{company="sinarjaya",resource="categories"} 1
kartustok_sync_planned_requests{company="sinarjaya",resource="company"} 1
kartustok_sync_planned_requests{company="sinarjaya",resource="flow"} 1
kartustok_sync_planned_requests{company="sinarjaya",resource="health"} 1
kartustok_sync_planned_requests{company="sinarjaya",resource="items"} 1
kartustok_sync_planned_requests{company="sinarjaya",resource="locators"} 1
kartustok_sync_planned_requests{company="sinarjaya",resource="stock"} 1
# HELP kartustok_sync_cycle_seconds Seconds between the starts of the resource's last two complete refresh cycles; until two have run, the interval (for stock, the period the budget plan predicts).
# TYPE kartustok_sync_cycle_seconds gauge
kartustok_sync_cycle_seconds{company="sinarjaya",resource="categories"} 60
kartustok_sync_cycle_seconds{company="sinarjaya",resource="company"} 60
kartustok_sync_cycle_seconds{company="sinarjaya",resource="flow"} 60
kartustok_sync_cycle_seconds{company="sinarjaya",resource="health"} 60
kartustok_sync_cycle_seconds{company="sinarjaya",resource="items"} 60
kartustok_sync_cycle_seconds{company="sinarjaya",resource="locators"} 60
kartustok_sync_cycle_seconds{company="sinarjaya",resource="stock"} 60
# HELP kartustok_sync_skipped_total Refreshes of the resource left out because nothing changed: for stock, locator reads skipped because the locator's count of the day's movements had not changed.
# TYPE kartustok_sync_skipped_total counter
kartustok_sync_skipped_total{company="sinarjaya",resource="stock"} 0
`
	if err := testutil.GatherAndCompare(served(t, h), strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	problems, err := testutil.GatherAndLint(served(t, h))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestEmptySnapshot(t *testing.T) {
	// Before any refresh only the plan and the error counters exist:
	// nothing claims a value the exporter does not know.
	client, err := kartustok.New("https://sinarjaya.kartustok.com", kartustok.StaticToken("t"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := refresh.New(client, testkit.EngineConfig()) // never run
	if err != nil {
		t.Fatal(err)
	}
	ms := testkit.MustGather(t, served(t, serveSource(e, nil, NewCollector(e))))
	for k := range ms {
		if !strings.HasPrefix(k, "kartustok_sync_") && k != `kartustok_api_request_budget{company="sinarjaya"}` {
			t.Errorf("unexpected series before any refresh: %s", k)
		}
		if strings.HasPrefix(k, "kartustok_sync_last_success") {
			t.Errorf("last success exported before any success: %s", k)
		}
	}
	// Every resource but flow, which this configuration turns off.
	if got := testkit.Count(ms, "kartustok_sync_errors_total"); got != int(refresh.NumResources)-1 {
		t.Errorf("%d sync error series, want %d", got, refresh.NumResources-1)
	}
}

func TestStaleLocatorsDropped(t *testing.T) {
	cfg := testkit.EngineConfig()
	e := fixedEngine(t, fixedSnapshot(time.Now().Add(-cfg.MaxStaleness-time.Second)))
	ms := testkit.MustGather(t, served(t, serveSource(e, nil)))
	if n := testkit.Count(ms, "kartustok_stock_on_hand") + testkit.Count(ms, "kartustok_stock_minimum_quantity"); n != 0 {
		t.Errorf("%d stock series older than max staleness exported", n)
	}
	if n := testkit.Count(ms, "kartustok_item_info"); n != 2 {
		t.Errorf("item_info series = %d, want 2: only stock expires", n)
	}
}

// overrides is a Minimums that replaces the minimum of item i2 in every
// locator and removes every item-wide minimum.
type overrides struct{}

func (overrides) StockMinimum(l *kartustok.Locator, it *kartustok.Item, v float64, set bool) (float64, bool) {
	if l != nil && l.Code == "GDG-01" && it != nil && it.Code == "KS-2" {
		return 99, true
	}
	return v, set
}

func (overrides) ItemMinimum(*kartustok.Item, float64, bool) (float64, bool) { return 0, false }

func TestMinimumsOverride(t *testing.T) {
	e := fixedEngine(t, fixedSnapshot(time.Now()))
	ms := testkit.MustGather(t, served(t, serveSource(e, fixedMinimums(overrides{}))))
	if v := ms[`kartustok_stock_minimum_quantity{company="sinarjaya",item_id="i2",locator_id="L1"}`]; v != 99 {
		t.Errorf("overridden minimum = %v, want 99", v)
	}
	if v := ms[`kartustok_stock_minimum_quantity{company="sinarjaya",item_id="i1",locator_id="L1"}`]; v != 5 {
		t.Errorf("API minimum = %v, want 5 where the override is silent", v)
	}
	if n := testkit.Count(ms, "kartustok_item_minimum_quantity"); n != 0 {
		t.Errorf("%d item minimums, want none after the override removed them", n)
	}
}

// TestLabelValuesRoundTrip serves the metrics in both exposition formats
// and parses them back: label values must come out exactly as the API sent
// them.
func TestLabelValuesRoundTrip(t *testing.T) {
	e := fixedEngine(t, fixedSnapshot(time.Now()))
	srv := httptest.NewServer(serveSource(e, nil, NewCollector(e)))
	defer srv.Close()

	for _, accept := range []string{"text/plain;version=0.0.4", "application/openmetrics-text;version=1.0.0"} {
		t.Run(accept, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			req.Header.Set("Accept", accept)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			format := expfmt.ResponseFormat(resp.Header)
			dec := expfmt.NewDecoder(resp.Body, format)
			found := false
			for {
				var mf dto.MetricFamily
				if err := dec.Decode(&mf); err != nil {
					break
				}
				if mf.GetName() != "kartustok_company_info" {
					continue
				}
				for _, lp := range mf.GetMetric()[0].GetLabel() {
					if lp.GetName() == "company_name" {
						found = true
						if lp.GetValue() != awkward {
							t.Errorf("company_name = %q, want %q", lp.GetValue(), awkward)
						}
					}
				}
			}
			if !found {
				t.Errorf("kartustok_company_info not found in the %s exposition", format)
			}
		})
	}
}

func TestAPIMetrics(t *testing.T) {
	m := NewAPIMetrics()
	m.ObserveRequest(kartustok.RequestInfo{Endpoint: kartustok.EndpointStockSummary, Status: 200, Duration: 120 * time.Millisecond})
	m.ObserveRequest(kartustok.RequestInfo{Endpoint: kartustok.EndpointStockSummary, Status: 503, Kind: kartustok.KindServerError, Duration: time.Second})
	m.ObserveRequest(kartustok.RequestInfo{Endpoint: kartustok.EndpointHealth, Kind: kartustok.KindTimeout, Duration: 10 * time.Second})
	m.ObserveBudgetWait(1500 * time.Millisecond)

	reg := prometheus.NewPedanticRegistry()
	companyOf(reg).MustRegister(m)
	ms := testkit.MustGather(t, reg)
	for k, want := range map[string]float64{
		`kartustok_api_requests_total{code="200",company="sinarjaya",endpoint="/stock/summary"}`:             1,
		`kartustok_api_requests_total{code="503",company="sinarjaya",endpoint="/stock/summary"}`:             1,
		`kartustok_api_requests_total{code="error",company="sinarjaya",endpoint="/health"}`:                  1,
		`kartustok_api_errors_total{company="sinarjaya",endpoint="/stock/summary",reason="server_error"}`:    1,
		`kartustok_api_errors_total{company="sinarjaya",endpoint="/health",reason="timeout"}`:                1,
		`kartustok_api_errors_total{company="sinarjaya",endpoint="/items",reason="rate_limited"}`:            0,
		`kartustok_api_request_duration_seconds{company="sinarjaya",endpoint="/stock/summary"}`:              2,
		`kartustok_api_budget_wait_seconds_total{company="sinarjaya"}`:                                       1.5,
		`kartustok_api_errors_total{company="sinarjaya",endpoint="/item-categories",reason="unauthorized"}`:  0,
		`kartustok_api_errors_total{company="sinarjaya",endpoint="/meta/company",reason="invalid_response"}`: 0,
	} {
		got, ok := ms[k]
		if !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	if n := testkit.Count(ms, "kartustok_api_errors_total"); n != len(engineEndpoints)*len(errorKinds)+len(listEndpoints)+len(pagedEndpoints) {
		t.Errorf("%d error series, want every engine endpoint × reason", n)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}
