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
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/collector"
	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

// These tests run the real client and engine against a simulated company
// that misbehaves as real APIs do: pages that disagree, rows that cannot be
// read, texts of any size, a token file that goes missing. Each proves that
// every true row is exported, or that the last good data is kept with the
// error counted: never a wrong value, never a made-up 0.

// withFault injects f on endpoint before the engine sends its first
// request, as a restart against a misbehaving API meets it.
func withFault(endpoint string, f kartustoktest.Fault) kartustoktest.Option {
	return func(s *kartustoktest.Server) { s.SetFault(endpoint, f) }
}

// pairMinimums gives single (warehouse code, item code) pairs a minimum of
// their own, as a minimums file's items[].warehouses[] entries do.
type pairMinimums struct {
	stock map[[2]string]float64
	pairs map[string][]string
}

func (m *pairMinimums) StockMinimum(l *kartustok.Locator, it *kartustok.Item, apiValue float64, apiSet bool) (float64, bool) {
	if l != nil && it != nil {
		if v, ok := m.stock[[2]string{l.Code, it.Code}]; ok {
			return v, true
		}
	}
	return apiValue, apiSet
}

func (m *pairMinimums) ItemMinimum(_ *kartustok.Item, apiValue float64, apiSet bool) (float64, bool) {
	return apiValue, apiSet
}

func (m *pairMinimums) MinimumPairs() map[string][]string { return m.pairs }

var _ collector.PairMinimums = (*pairMinimums)(nil)

// stockKey is the series name of a pair's stock on hand.
func stockKey(locator, item string) string {
	return fmt.Sprintf(`kartustok_stock_on_hand{company="sinarjaya",item_id=%q,locator_id=%q}`, item, locator)
}

// assertAbsent checks that ms has no series k, without printing all of ms.
func assertAbsent(t *testing.T, ms map[string]float64, k, msg string) {
	t.Helper()
	if v, ok := ms[k]; ok {
		t.Errorf("%s = %v: %s", k, v, msg)
	}
}

// stockOf returns the stock series of ms.
func stockOf(ms map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range ms {
		if strings.HasPrefix(k, "kartustok_stock_on_hand{") {
			out[k] = v
		}
	}
	return out
}

// cardsOf returns the items a locator's stock summary lists, in its order.
func cardsOf(co *kartustoktest.Company, locator string) []string {
	var out []string
	for _, p := range co.StockPairs() {
		if p.LocatorID == locator {
			out = append(out, p.ItemID)
		}
	}
	return out
}

// activeLocators returns the IDs of the company's active locators.
func activeLocators(co *kartustoktest.Company) []string {
	var out []string
	for _, id := range co.LocatorIDs() {
		if l, _ := co.Locator(id); l.Active {
			out = append(out, id)
		}
	}
	return out
}

func TestIntegrationPagingLies(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault kartustoktest.Fault
		// recovers is set when every true row must be exported despite
		// the fault; otherwise the last good values must stay.
		recovers bool
		reason   string // the error counted when it does not recover
	}{
		{"a row inserted before the cursor once", kartustoktest.Fault{Shift: 1, Times: 2}, true, ""},
		{"rows inserted before the cursor on every read", kartustoktest.Fault{Shift: 1}, false, "inconsistent_pages"},
		{"server ignores page", kartustoktest.Fault{IgnorePage: true}, false, "inconsistent_pages"},
		{"server ignores page and echoes it", kartustoktest.Fault{IgnorePage: true, EchoPage: true}, false, "inconsistent_pages"},
		{"meta.total changes between pages", kartustoktest.Fault{TotalDrift: 20}, false, "inconsistent_pages"},
		{"last_page understated", kartustoktest.Fault{LastPage: 1}, true, ""},
		{"last_page understated without a total", kartustoktest.Fault{LastPage: 1, NoTotal: true}, false, "inconsistent_pages"},
		{"endless listing", kartustoktest.Fault{EndlessPages: true}, false, "invalid_response"},
		{"no meta at all", kartustoktest.Fault{NoMeta: true}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testkit.EngineConfig()
				h, before := startReady(t, kartustoktest.Config{Locators: 3, Items: 250}, cfg)
				for _, l := range activeLocators(h.company) {
					require.Greater(t, len(cardsOf(h.company, l)), kartustok.PerPage, "each warehouse takes several pages")
				}

				h.server.SetFault(kartustok.EndpointStockSummary, tc.fault)
				h.company.Step(40) // the truth moves on
				start := h.server.Count(kartustok.EndpointStockSummary, 0)
				time.Sleep(cfg.StockInterval + 30*time.Second)
				synctest.Wait()
				ms := h.series()
				spent := h.server.Count(kartustok.EndpointStockSummary, 0) - start
				errKey := func(reason string) string {
					return fmt.Sprintf(`kartustok_api_errors_total{company="sinarjaya",endpoint="/stock/summary",reason=%q}`, reason)
				}
				rereads := ms[`kartustok_api_listing_rereads_total{company="sinarjaya",endpoint="/stock/summary"}`]
				if tc.recovers {
					h.assertMatchesCompany(ms)
					assert.Equal(t, len(h.company.StockPairs()), testkit.Count(ms, "kartustok_stock_on_hand"), "every true row exported")
					assert.Zero(t, ms[errKey("inconsistent_pages")])
				} else {
					assert.Equal(t, stockOf(before), stockOf(ms), "the last good values stay, none wrong, none made up")
					assert.Positive(t, ms[errKey(tc.reason)], "the error is counted")
				}
				t.Logf("%s: %d stock series of %d true pairs; %d /stock/summary requests in one stock cycle; rereads %v; errors %s=%v",
					tc.name, testkit.Count(ms, "kartustok_stock_on_hand"), len(h.company.StockPairs()), spent, rereads,
					tc.reason, ms[errKey(tc.reason)])

				h.server.ClearFaults()
				time.Sleep(cfg.StockInterval + 10*time.Second)
				synctest.Wait()
				h.assertMatchesCompany(h.series())
			})
		})
	}
}

func TestIntegrationItemListingLieKeepsTheCatalog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testkit.EngineConfig()
		cfg.CatalogInterval = 2 * time.Minute
		h := startSim(t, kartustoktest.Config{Locators: 2, Items: 250}, cfg)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		before := h.series()
		require.Equal(t, 250, testkit.Count(before, "kartustok_item_info"))

		h.server.SetFault(kartustok.EndpointItems, kartustoktest.Fault{IgnorePage: true})
		time.Sleep(cfg.CatalogInterval + time.Minute)
		synctest.Wait()
		ms := h.series()
		assert.Equal(t, 250, testkit.Count(ms, "kartustok_item_info"), "the last good catalog stays")
		assert.Positive(t, ms[`kartustok_api_errors_total{company="sinarjaya",endpoint="/items",reason="inconsistent_pages"}`])
		assert.Positive(t, ms[`kartustok_sync_errors_total{company="sinarjaya",resource="items"}`])
		assert.Equal(t, before[`kartustok_sync_last_success_timestamp_seconds{company="sinarjaya",resource="items"}`],
			ms[`kartustok_sync_last_success_timestamp_seconds{company="sinarjaya",resource="items"}`], "a failed listing is no success")
	})
}

func TestIntegrationEndlessListingCostsLittle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testkit.EngineConfig()
		h := startSim(t, kartustoktest.Config{Locators: 2, Items: 250}, cfg,
			withFault(kartustok.EndpointItems, kartustoktest.Fault{EndlessPages: true, LastPage: 1_000_000_000}))
		time.Sleep(200 * time.Second)
		synctest.Wait()
		ms := h.series()
		items := h.server.Count(kartustok.EndpointItems, 0)
		t.Logf("endless item listing: %d /items requests in 200 s, %d item series, invalid_response=%v", items, testkit.Count(ms, "kartustok_item_info"),
			ms[`kartustok_api_errors_total{company="sinarjaya",endpoint="/items",reason="invalid_response"}`])
		// The claimed total shows at once that the listing cannot be
		// read: one request per attempt, not hundreds of pages.
		assert.LessOrEqual(t, items, 12)
		assert.Positive(t, ms[`kartustok_api_errors_total{company="sinarjaya",endpoint="/items",reason="invalid_response"}`])
		assert.Zero(t, testkit.Count(ms, "kartustok_item_info"))
		assert.True(t, h.engine.Ready(), "stock does not wait for the items")
	})
}

func TestIntegrationBadRowsCostOnlyThemselves(t *testing.T) {
	for _, value := range []string{`"abc"`, `null`, `true`, `1e400`, `"NaN"`, ``} {
		name := value
		if name == "" {
			name = "missing"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testkit.EngineConfig()
				cfg.MaxStaleness = 5 * time.Minute
				const bad = 150 // the 151st row of every warehouse, on page 2
				fault := kartustoktest.Fault{RowField: "ending_qty", RowValue: value, RowIndex: bad}
				// A restart that meets the bad row: the warehouse is
				// still exported and the exporter gets ready.
				h := startSim(t, kartustoktest.Config{Locators: 3, Items: 250}, cfg,
					withFault(kartustok.EndpointStockSummary, fault))
				time.Sleep(10 * time.Second)
				synctest.Wait()
				require.True(t, h.engine.Ready(), "/-/ready")
				ms := h.series()
				locs := activeLocators(h.company)
				badPairs := map[string]bool{}
				for _, l := range locs {
					badPairs[stockKey(l, cardsOf(h.company, l)[bad])] = true
				}
				for k := range badPairs {
					assertAbsent(t, ms, k, "a skipped row exports nothing, never 0")
				}
				h.assertMatchesCompany(ms)
				assert.Equal(t, len(h.company.StockPairs())-len(badPairs), testkit.Count(ms, "kartustok_stock_on_hand"), "every other row exported")
				assert.Equal(t, float64(len(locs)), ms[`kartustok_api_errors_total{company="sinarjaya",endpoint="/stock/summary",reason="invalid_row"}`], "one skipped row per warehouse")
				assert.Contains(t, h.logs.String(), "Skipped rows the API sent that cannot be used")
				assert.Contains(t, h.logs.String(), "ending_qty")

				// Once readable, the rows come back; spoiled again after
				// the truth moved, they keep the last good value, until
				// that is older than the max staleness.
				h.server.ClearFaults()
				time.Sleep(cfg.StockInterval)
				synctest.Wait()
				good := h.series()
				h.assertMatchesCompany(good)
				for k := range badPairs {
					_, ok := good[k]
					require.True(t, ok, k)
				}
				h.server.SetFault(kartustok.EndpointStockSummary, fault)
				h.company.Step(400)
				// New stock cards may move another item to the spoiled
				// position.
				badPairs = map[string]bool{}
				for _, l := range locs {
					badPairs[stockKey(l, cardsOf(h.company, l)[bad])] = true
				}
				time.Sleep(cfg.StockInterval)
				synctest.Wait()
				ms = h.series()
				for k := range badPairs {
					if v, ok := good[k]; ok {
						assert.Equal(t, v, ms[k], "%s keeps its last good value", k)
					} else {
						assertAbsent(t, ms, k, "a new row skipped has no value to keep")
					}
				}
				time.Sleep(cfg.MaxStaleness)
				synctest.Wait()
				ms = h.series()
				for k := range badPairs {
					assertAbsent(t, ms, k, "past the max staleness the last good value is dropped")
				}
				h.assertMatchesCompany(ms)
			})
		})
	}
}

// TestIntegrationNoFalseZeros names pairs in a minimums file, which makes
// a pair without a row export 0, and checks that no 0 is ever made up for a
// row that a paging lie lost or that could not be read.
func TestIntegrationNoFalseZeros(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fault   kartustoktest.Fault
		restart bool // the fault is there from the first request
		unkeyed bool // a skipped row's item cannot be read
	}{
		{"row lost to an understated last_page", kartustoktest.Fault{LastPage: 1, NoTotal: true}, false, false},
		{"row lost to a shift", kartustoktest.Fault{Shift: 3}, false, false},
		{"row whose item cannot be read", kartustoktest.Fault{RowField: "item_id", RowValue: `{"id":1}`, RowIndex: 150}, false, true},
		{"row whose item cannot be read, after a restart", kartustoktest.Fault{RowField: "item_id", RowValue: `{"id":1}`, RowIndex: 150}, true, true},
		{"row whose quantity cannot be read, after a restart", kartustoktest.Fault{RowField: "ending_qty", RowValue: `"abc"`, RowIndex: 150}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testkit.EngineConfig()
				co := kartustoktest.NewCompany(kartustoktest.Config{Locators: 2, Items: 250})
				loc := activeLocators(co)[0]
				locInfo, _ := co.Locator(loc)
				watched := cardsOf(co, loc)[150] // on page 2
				var absent string
				for _, it := range co.ItemIDs() {
					if info, _ := co.Item(it); info.Active && !co.Stocked(loc, it) {
						absent = it
						break
					}
				}
				require.NotEmpty(t, absent, "an item the warehouse never held")
				code := func(id string) string { info, _ := co.Item(id); return info.Code }
				mins := &pairMinimums{
					stock: map[[2]string]float64{{locInfo.Code, code(watched)}: 1e9, {locInfo.Code, code(absent)}: 5},
					pairs: map[string][]string{code(watched): {locInfo.Code}, code(absent): {locInfo.Code}},
				}
				var opts []kartustoktest.Option
				if tc.restart {
					opts = append(opts, withFault(kartustok.EndpointStockSummary, tc.fault))
				}
				h := startSimCompany(t, co, cfg, mins, opts...)
				time.Sleep(10 * time.Second)
				synctest.Wait()
				if !tc.restart {
					ms := h.series()
					require.Equal(t, co.OnHand(loc, watched), ms[stockKey(loc, watched)])
					h.server.SetFault(kartustok.EndpointStockSummary, tc.fault)
					time.Sleep(3 * cfg.StockInterval)
					synctest.Wait()
				}
				ms := h.series()
				if tc.unkeyed {
					// The unreadable row may be the absent item's.
					assertAbsent(t, ms, stockKey(loc, absent), "no 0 while a skipped row may be the item's")
				} else {
					v, ok := ms[stockKey(loc, absent)]
					assert.True(t, ok && v == 0, "a pair the complete listing lacks is 0, got %v (present %v)", v, ok)
				}
				if tc.restart {
					assertAbsent(t, ms, stockKey(loc, watched), "no value at all, never 0")
				} else {
					assert.Equal(t, co.OnHand(loc, watched), ms[stockKey(loc, watched)], "the last good value, never 0")
				}
				for k, v := range stockOf(ms) {
					if v == 0 && k != stockKey(loc, absent) {
						parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(k, `kartustok_stock_on_hand{company="sinarjaya",item_id="`), `"}`), `",locator_id="`)
						assert.Zero(t, co.OnHand(parts[1], parts[0]), "%s is 0 only where the truth is", k)
					}
				}
			})
		})
	}
}

func TestIntegrationUnreadableTokenIsItsOwnState(t *testing.T) {
	for _, apiDown := range []bool{false, true} {
		t.Run(fmt.Sprintf("api down %v", apiDown), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testkit.EngineConfig()
				h := startSim(t, kartustoktest.Config{Locators: 2, Items: 50}, cfg)
				time.Sleep(10 * time.Second)
				synctest.Wait()
				if apiDown {
					h.server.SetFault(kartustok.EndpointHealth, kartustoktest.Fault{Status: 503})
					time.Sleep(cfg.HealthInterval)
					synctest.Wait()
				}
				before := h.series()
				wantUp := 1.0
				if apiDown {
					wantUp = 0
				}
				require.Equal(t, wantUp, before[`kartustok_up{company="sinarjaya"}`])
				require.Equal(t, 1.0, before[`kartustok_token_loaded{company="sinarjaya"}`])

				require.NoError(t, os.Remove(h.tokenFile))
				sent := h.server.Count("", 0)
				time.Sleep(10 * cfg.HealthInterval)
				synctest.Wait()
				ms := h.series()
				assert.Equal(t, 0.0, ms[`kartustok_token_loaded{company="sinarjaya"}`])
				assert.Equal(t, wantUp, ms[`kartustok_up{company="sinarjaya"}`], "kartustok_up keeps what the API last answered")
				assert.Equal(t, 1.0, ms[`kartustok_token_valid{company="sinarjaya"}`])
				assert.Equal(t, sent, h.server.Count("", 0), "no request is sent without a token")
				assert.Equal(t, stockOf(before), stockOf(ms), "the last good stock stays")
				logs := h.logs.String()
				assert.Equal(t, 1, strings.Count(logs, "Cannot read the API token"), "said once")
				if _, after, ok := strings.Cut(logs, "Cannot read the API token"); ok {
					assert.NotContains(t, after, "Health check failed")
				}

				h.server.ClearFaults()
				require.NoError(t, os.WriteFile(h.tokenFile, []byte(h.token), 0o600))
				time.Sleep(cfg.HealthInterval + cfg.StockInterval)
				synctest.Wait()
				ms = h.series()
				assert.Equal(t, 1.0, ms[`kartustok_token_loaded{company="sinarjaya"}`])
				assert.Equal(t, 1.0, ms[`kartustok_up{company="sinarjaya"}`])
				assert.Contains(t, h.logs.String(), "The API token can be read again")
				h.company.Step(10)
				time.Sleep(cfg.StockInterval)
				synctest.Wait()
				h.assertMatchesCompany(h.series())
			})
		})
	}
}

func TestIntegrationHostileSizes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		huge := `"` + strings.Repeat("Tepung ", (1<<20)/7) + `"` // a 1 MiB name
		h := startSim(t, kartustoktest.Config{Locators: 2, Items: 30}, testkit.EngineConfig(),
			withFault(kartustok.EndpointItems, kartustoktest.Fault{RowField: "name", RowValue: huge, RowIndex: 3}),
			withFault(kartustok.EndpointLocators, kartustoktest.Fault{RowField: "name", RowValue: huge, RowIndex: 0}))
		time.Sleep(10 * time.Second)
		synctest.Wait()
		fams, err := parseText(h.scrape())
		require.NoError(t, err)
		longest := 0
		for _, mf := range fams {
			for _, m := range mf.GetMetric() {
				for _, lp := range m.GetLabel() {
					longest = max(longest, len(lp.GetValue()))
				}
			}
		}
		assert.LessOrEqual(t, longest, kartustok.MaxLabelBytes)
		assert.Equal(t, kartustok.MaxLabelBytes, longest, "the names are cut, not dropped")
		ms := h.series()
		assert.Equal(t, 1.0, ms[`kartustok_api_truncated_texts_total{company="sinarjaya",endpoint="/items"}`])
		assert.Equal(t, 1.0, ms[`kartustok_api_truncated_texts_total{company="sinarjaya",endpoint="/locators"}`])
		assert.Equal(t, 30, testkit.Count(ms, "kartustok_item_info"))
		h.assertMatchesCompany(ms)

		// A body over the cap is refused whole; the last good catalog stays.
		h.server.ClearFaults()
		h.server.SetFault(kartustok.EndpointItems, kartustoktest.Fault{OversizeBytes: kartustok.DefaultMaxBodyBytes + 1})
		time.Sleep(testkit.EngineConfig().CatalogInterval)
		synctest.Wait()
		ms = h.series()
		assert.Equal(t, 30, testkit.Count(ms, "kartustok_item_info"))
		assert.Positive(t, ms[`kartustok_api_errors_total{company="sinarjaya",endpoint="/items",reason="invalid_response"}`])
		assert.Contains(t, h.logs.String(), "body larger than the 4194304-byte limit")
	})
}
