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
	"net/url"
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

// flowConfig is testConfig with the exporter's defaults for cheap
// refreshes and flow.
func flowConfig() refresh.Config {
	cfg := testkit.EngineConfig()
	cfg.FullStockInterval = 15 * time.Minute
	cfg.FlowInterval = time.Hour
	return cfg
}

// companyDay returns the company's date d days after today.
func companyDay(c *kartustoktest.Company, d int) string {
	y, m, day := time.Now().In(c.Location()).Date()
	return time.Date(y, m, day+d, 12, 0, 0, 0, c.Location()).Format(time.DateOnly)
}

// assertFlowMatchesCompany checks the flow series against the simulator's
// ledger: the day's in and out of every pair with a row (and no series for
// the others) and, unless dayOnly is set (the ledger moved since the last
// flow refresh), those over the 30 days that end today and the day's
// movements of each locator by type.
func (h *simHarness) assertFlowMatchesCompany(ms map[string]float64, dayOnly bool) {
	h.t.Helper()
	c := h.company
	today, from := companyDay(c, 0), companyDay(c, -(refresh.FlowDays-1))
	periods := []struct{ period, from string }{{"today", today}, {"30d", from}}
	if dayOnly {
		periods = periods[:1]
	}
	for _, p := range periods {
		want := 0
		for _, loc := range c.LocatorIDs() {
			for _, item := range c.ItemIDs() {
				in, out, ok := c.Flow(loc, item, p.from, today)
				if !ok {
					continue
				}
				want++
				for name, v := range map[string]float64{"kartustok_stock_inflow_quantity": in, "kartustok_stock_outflow_quantity": out} {
					key := fmt.Sprintf(`%s{company="sinarjaya",item_id=%q,locator_id=%q,period=%q}`, name, item, loc, p.period)
					got, ok := ms[key]
					if assert.True(h.t, ok, "%s missing", key) {
						assert.InDelta(h.t, v, got, 0, key)
					}
				}
			}
		}
		require.Positive(h.t, want)
		n := 0
		for k := range ms {
			if strings.HasPrefix(k, "kartustok_stock_inflow_quantity{") && strings.Contains(k, fmt.Sprintf("period=%q", p.period)) {
				n++
			}
		}
		assert.Equal(h.t, want, n, "%s inflow series, one per pair with a row", p.period)
	}
	if dayOnly {
		return
	}
	for _, loc := range c.LocatorIDs() {
		for _, typ := range kartustok.TransactionTypes {
			key := fmt.Sprintf(`kartustok_stock_movements{company="sinarjaya",locator_id=%q,transaction_type=%q}`, loc, typ)
			got, ok := ms[key]
			if assert.True(h.t, ok, "%s missing", key) {
				assert.InDelta(h.t, float64(c.Movements(loc, today, typ)), got, 0, key)
			}
		}
	}
}

// TestIntegrationFlowEqualsLedger: the day's and the 30 days' in and out
// and the day's movements by type equal the simulated company's ledger,
// before and across the company's midnight, when the day's figures start
// again from the new day's.
func TestIntegrationFlowEqualsLedger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := flowConfig()
		company := kartustoktest.NewCompany(kartustoktest.Config{Locators: 3, Items: 80})
		company.Step(60) // the day's documents before the exporter starts
		h := startSimCompany(t, company, cfg, nil)
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		require.True(t, h.engine.Ready())
		h.assertFlowMatchesCompany(h.series(), false)

		// The day goes on: the day's figures follow within two stock
		// intervals, the 30 days and movements within the flow interval.
		h.company.Step(40)
		time.Sleep(2 * cfg.StockInterval)
		synctest.Wait()
		h.assertMatchesCompany(h.series())
		time.Sleep(cfg.FlowInterval)
		synctest.Wait()
		h.assertFlowMatchesCompany(h.series(), false)

		// Documents a minute before the company's midnight; then the
		// company's day ends.
		loc := h.company.Location()
		y, m, d := time.Now().In(loc).Date()
		midnight := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
		time.Sleep(time.Until(midnight.Add(-3 * time.Minute)))
		h.company.Step(30)
		time.Sleep(2 * cfg.StockInterval)
		synctest.Wait()
		before := h.series()
		h.assertMatchesCompany(before)
		dayBefore := companyDay(h.company, 0)

		time.Sleep(time.Until(midnight.Add(5 * time.Second)))
		synctest.Wait()
		require.Equal(t, companyDay(h.company, -1), dayBefore, "the company's day changed")
		after := h.series()
		h.assertFlowMatchesCompany(after, false)
		h.assertMatchesCompany(after)
		moves := 0.0
		for k, v := range after {
			if strings.HasPrefix(k, "kartustok_stock_movements{") {
				moves += v
			}
		}
		assert.Zero(t, moves, "no movement yet in the new day")
		changed := 0
		for k, v := range before {
			if strings.Contains(k, `period="today"`) && v != 0 && after[k] == 0 {
				changed++
			}
		}
		assert.Positive(t, changed, "the day's figures start again at midnight")

		// The new day's documents.
		h.company.Step(25)
		time.Sleep(2 * cfg.StockInterval)
		synctest.Wait()
		h.assertFlowMatchesCompany(h.series(), true)
		h.assertMatchesCompany(h.series())
	})
}

// TestIntegrationMovementsWithoutCheapRefreshes: with every pass a full
// read (--sync.full-stock-interval not above --sync.stock-interval), stock
// asks no count, but the day's movements by type are still counted and
// exported, as the plan says.
func TestIntegrationMovementsWithoutCheapRefreshes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := flowConfig()
		cfg.FullStockInterval = 0
		company := kartustoktest.NewCompany(kartustoktest.Config{Locators: 2, Items: 40})
		company.Step(30)
		h := startSimCompany(t, company, cfg, nil)
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		require.True(t, h.engine.Ready())
		h.assertFlowMatchesCompany(h.series(), false)
		_, checks := stockReads(h.server.Requests())
		assert.Zero(t, checks, "a count of stock's own with every pass a full read")
	})
}

// stockReads counts the requests of l for the stock of the day (a
// /stock/summary whose dates are one day) and the movement counts of the
// day without a type (the change checks).
func stockReads(l []kartustoktest.LoggedRequest) (pages, checks int) {
	for _, r := range l {
		q, _ := url.ParseQuery(r.Query)
		switch {
		case r.Endpoint == kartustok.EndpointStockSummary && q.Get("date_from") == q.Get("date_to"):
			pages++
		case r.Endpoint == kartustok.EndpointStockDetail && q.Get("transaction_type") == "":
			checks++
		}
	}
	return pages, checks
}

// TestIntegrationUnchangedWarehousesAreNotReadAgain: between full reads an
// idle warehouse costs one request per stock interval; a movement reaches
// /metrics within two stock intervals, and a back-dated document (no
// movement dated today) within the full stock interval and one stock
// interval.
func TestIntegrationUnchangedWarehousesAreNotReadAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := flowConfig()
		cfg.FlowInterval = 0 // only stock's requests here
		h := startSim(t, kartustoktest.Config{Locators: 3, Items: 450}, cfg)
		time.Sleep(cfg.StockInterval)
		synctest.Wait()
		require.True(t, h.engine.Ready())
		firstPages, firstChecks := stockReads(h.server.Requests())
		require.GreaterOrEqual(t, firstPages, 3*4, "the first read is a full one, several pages a warehouse")
		assert.Zero(t, firstChecks, "a count before a warehouse's first read")
		// The second pass counts each warehouse's movements, the baseline
		// of the next ones, and reads it again.
		time.Sleep(cfg.StockInterval)
		synctest.Wait()

		// Idle: 12 passes, each one count per warehouse and no page.
		h.server.ResetLog()
		time.Sleep(12 * cfg.StockInterval)
		synctest.Wait()
		pages, checks := stockReads(h.server.Requests())
		assert.Zero(t, pages, "stock pages read while nothing moved")
		assert.InDelta(t, 3*12, checks, 3, "one count per warehouse per pass")
		ms := h.series()
		assert.InDelta(t, 3*12, ms[`kartustok_sync_skipped_total{company="sinarjaya",resource="stock"}`], 3)
		h.assertMatchesCompany(ms)

		// A movement in the first warehouse: that warehouse alone is read.
		locs, items := h.company.LocatorIDs(), h.company.ItemIDs()
		var item string
		for _, it := range items {
			if h.company.Stocked(locs[0], it) && h.company.Stocked(locs[1], it) {
				item = it
				break
			}
		}
		require.NotEmpty(t, item)
		h.server.ResetLog()
		h.company.Post(locs[0], item, kartustok.TransactionReceipt, 5, 0)
		time.Sleep(2 * cfg.StockInterval)
		synctest.Wait()
		ms = h.series()
		key := fmt.Sprintf(`kartustok_stock_on_hand{company="sinarjaya",item_id=%q,locator_id=%q}`, item, locs[0])
		assert.InDelta(t, h.company.OnHand(locs[0], item), ms[key], 0, "a movement reaches /metrics within two stock intervals")
		pages, _ = stockReads(h.server.Requests())
		assert.InDelta(t, firstPages/3, pages, 1, "only the changed warehouse is read")

		// A back-dated document changes the second warehouse's balance
		// without a movement dated today: the next full read finds it.
		h.company.PostBackdated(locs[1], item, 3, 7, 0)
		time.Sleep(cfg.FullStockInterval + cfg.StockInterval)
		synctest.Wait()
		ms = h.series()
		key = fmt.Sprintf(`kartustok_stock_on_hand{company="sinarjaya",item_id=%q,locator_id=%q}`, item, locs[1])
		assert.InDelta(t, h.company.OnHand(locs[1], item), ms[key], 0, "a back-dated change reaches /metrics within the full stock interval and one stock interval")
		h.assertMatchesCompany(ms)
	})
}

// TestIntegrationNoTotalFallsBackToFullReads: without meta.total in the
// detail answers, every pass reads every warehouse, which the log says
// once; once the totals are back, unchanged warehouses are skipped again.
func TestIntegrationNoTotalFallsBackToFullReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := flowConfig()
		cfg.FlowInterval = 0
		h := startSim(t, kartustoktest.Config{Locators: 2, Items: 100}, cfg)
		h.server.SetFault(kartustok.EndpointStockDetail, kartustoktest.Fault{NoTotal: true})
		time.Sleep(cfg.StockInterval)
		synctest.Wait()
		require.True(t, h.engine.Ready())
		h.server.ResetLog()
		time.Sleep(5 * cfg.StockInterval)
		synctest.Wait()
		pages, _ := stockReads(h.server.Requests())
		assert.Equal(t, 5*2, pages, "every warehouse read on every pass")
		const warning = "The API does not tell how many movements a locator has today"
		assert.Equal(t, 1, strings.Count(h.logs.String(), warning), "said once")
		assert.Zero(t, h.series()[`kartustok_sync_skipped_total{company="sinarjaya",resource="stock"}`])

		h.server.ClearFaults()
		time.Sleep(cfg.FullStockInterval + cfg.StockInterval)
		synctest.Wait()
		h.server.ResetLog()
		time.Sleep(5 * cfg.StockInterval)
		synctest.Wait()
		pages, checks := stockReads(h.server.Requests())
		assert.Zero(t, pages, "unchanged warehouses skipped again")
		assert.Equal(t, 5*2, checks)
		assert.Equal(t, 1, strings.Count(h.logs.String(), warning))
		assert.Contains(t, h.logs.String(), "The API tells how many movements a locator has today again")
		h.assertMatchesCompany(h.series())
	})
}

// TestIntegrationDetailRefusedSparesStockAndFlow: /stock/detail refused
// (403) while /stock/summary works: stock.read stays granted, the flow
// refresh still succeeds with its 30 days, the day's movements are not
// exported, and the fallback is logged once.
func TestIntegrationDetailRefusedSparesStockAndFlow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := flowConfig()
		h := startSim(t, kartustoktest.Config{Locators: 2, Items: 60}, cfg)
		h.server.SetFault(kartustok.EndpointStockDetail, kartustoktest.Fault{Status: 403})
		time.Sleep(5 * cfg.StockInterval)
		synctest.Wait()
		require.True(t, h.engine.Ready())
		ms := h.series()
		assert.InDelta(t, 1, ms[`kartustok_token_scope_granted{company="sinarjaya",scope="stock.read"}`], 0, "a refused count says nothing of stock.read")
		assert.Zero(t, ms[`kartustok_sync_errors_total{company="sinarjaya",resource="flow"}`])
		assert.Contains(t, ms, `kartustok_sync_last_success_timestamp_seconds{company="sinarjaya",resource="flow"}`)
		assert.Positive(t, testkit.Count(ms, "kartustok_stock_inflow_quantity"))
		assert.Zero(t, testkit.Count(ms, "kartustok_stock_movements"))
		assert.Equal(t, 1, strings.Count(h.logs.String(), "The API does not tell how many movements a locator has today"))
		assert.NotContains(t, h.logs.String(), "Flow refresh of a locator failed")
		h.assertFlowMatchesCompany(ms, true)
		h.assertMatchesCompany(ms)
	})
}
