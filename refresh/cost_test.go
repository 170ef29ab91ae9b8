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
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

// TestIdleCostMeasure measures, from the simulated server's request log,
// the requests an idle company costs per hour at the default settings, for
// about 10,000 and 100,000 stock rows (10 warehouses), with every pass
// reading every page (full stock interval 0, no flow: the exporter before
// cheap refreshes) and with the defaults (full reads every 15 minutes, a
// movement count per warehouse per pass, flow every hour). It counts the
// second simulated hour, after the first full reads. It reports figures
// for BENCHMARKS.md and asserts nothing; run it with
//
//	KARTUSTOK_MEASURE=1 go test -run TestIdleCostMeasure -v ./refresh
func TestIdleCostMeasure(t *testing.T) {
	if os.Getenv("KARTUSTOK_MEASURE") == "" {
		t.Skip("set KARTUSTOK_MEASURE=1")
	}
	for _, items := range []int{1111, 11111} {
		for _, mode := range []string{"every page every pass", "defaults"} {
			t.Run(fmt.Sprintf("%d/%s", items, mode), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					cfg := testkit.EngineConfig()
					if mode == "defaults" {
						cfg = flowConfig()
					}
					h := startSim(t, kartustoktest.Config{Locators: 10, Items: items, Seed: 3}, cfg,
						kartustoktest.WithRateLimit(120, time.Minute), kartustoktest.WithLogLimit(0))
					rows := 0
					for _, p := range h.company.StockPairs() {
						if h.company.Stocked(p.LocatorID, p.ItemID) {
							rows++
						}
					}
					start := time.Now()
					time.Sleep(2 * time.Hour)
					synctest.Wait()
					n := countRequests(h.server.Requests(), start.Add(time.Hour), time.Now())
					pages, flowPages, checks, counts := n[stockPage], n[flowPage], n[movementCheck], n[countByType]
					other := n[healthCheck] + n[catalogRequest]
					total := pages + flowPages + checks + counts + other
					t.Logf("rows=%d mode=%q per hour: stock pages %d, movement checks %d, 30-day flow pages %d, movement counts by type %d, health and catalog %d; total %d = %.0f%% of 7200",
						rows, mode, pages, checks, flowPages, counts, other, total, 100*float64(total)/7200)
				})
			})
		}
	}
}

// requestKind is what a request the exporter sent was for, as the
// measurements count them.
type requestKind int

const (
	stockPage      requestKind = iota // /stock/summary for one day
	flowPage                          // /stock/summary over a period
	movementCheck                     // /stock/detail without a type: a change check
	countByType                       // /stock/detail for one transaction type
	healthCheck                       // /health
	catalogRequest                    // the company, categories, locators and items
	numKinds
)

// countRequests counts the requests of the log in [from, to) by kind.
func countRequests(log []kartustoktest.LoggedRequest, from, to time.Time) [numKinds]int {
	var n [numKinds]int
	for _, r := range log {
		if r.At.Before(from) || !r.At.Before(to) {
			continue
		}
		q, _ := url.ParseQuery(r.Query)
		switch {
		case r.Endpoint == kartustok.EndpointStockSummary && q.Get("date_from") == q.Get("date_to"):
			n[stockPage]++
		case r.Endpoint == kartustok.EndpointStockSummary:
			n[flowPage]++
		case r.Endpoint == kartustok.EndpointStockDetail && q.Get("transaction_type") == "":
			n[movementCheck]++
		case r.Endpoint == kartustok.EndpointStockDetail:
			n[countByType]++
		case r.Endpoint == kartustok.EndpointHealth:
			n[healthCheck]++
		default:
			n[catalogRequest]++
		}
	}
	return n
}
