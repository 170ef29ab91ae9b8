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
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

// TestFreshnessMeasure measures, from the simulated server's request log
// alone, the period of full stock passes against their floor and the
// budget use, for 10 warehouses of about 40 and 50 pages each, over 100
// simulated minutes at the default settings. It reports figures for
// BENCHMARKS.md and asserts nothing; run it with
//
//	KARTUSTOK_MEASURE=1 go test -run TestFreshnessMeasure -v ./refresh
//
// Because it reads only the server's log, the same function measures any
// version of the exporter the same way.
func TestFreshnessMeasure(t *testing.T) {
	if os.Getenv("KARTUSTOK_MEASURE") == "" {
		t.Skip("set KARTUSTOK_MEASURE=1")
	}
	for _, items := range []int{4400, 5450} {
		t.Run(strconv.Itoa(items), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testkit.EngineConfig()
				h := startSim(t, kartustoktest.Config{Locators: 10, Items: items, Seed: 3}, cfg,
					kartustoktest.WithRateLimit(120, time.Minute))
				first := ""
				for _, id := range h.company.LocatorIDs() {
					if l, _ := h.company.Locator(id); !l.Active {
						continue
					}
					if first == "" {
						first = id
					}
				}
				time.Sleep(100 * time.Minute)
				synctest.Wait()
				var starts []time.Time
				var stockAt []time.Time
				reqs := h.server.Requests()
				end := reqs[len(reqs)-1].At
				n := 0
				for _, r := range reqs {
					if r.At.After(end.Add(-30 * time.Minute)) {
						n++
					}
					if r.Endpoint == "/stock/summary" {
						stockAt = append(stockAt, r.At)
						if strings.Contains(r.Query, "locator_id="+first) && strings.Contains(r.Query, "page=1&") {
							starts = append(starts, r.At)
						}
					}
				}
				// Each pass: its period and its stock requests; the floor of
				// a pass is its requests at what a window leaves after the
				// health checks (96 − 60/30).
				var ratios, periods []float64
				perPass := 0
				var sumPeriod, sumFloor float64
				for i := 1; i < len(starts); i++ {
					if !starts[i].After(end.Add(-80 * time.Minute)) {
						continue
					}
					k := 0
					for _, at := range stockAt {
						if !at.Before(starts[i-1]) && at.Before(starts[i]) {
							k++
						}
					}
					p := starts[i].Sub(starts[i-1]).Seconds()
					periods = append(periods, p)
					ratios = append(ratios, p/(float64(k)/(96-2)*60))
					sumPeriod += p
					sumFloor += float64(k) / (96 - 2) * 60
					perPass = k
				}
				sort.Float64s(periods)
				sort.Float64s(ratios)
				med := periods[len(periods)/2]
				floor := float64(perPass) / (96 - 2) * 60
				t.Logf("MEASURE items=%d stock requests a pass=%d (%.1f a warehouse) passes=%d: median period %.1f s, floor %.1f s; all passes together %.3f × their floor (single passes %.3f to %.3f); budget use last 30 min %.1f %% (%d requests); 429s %d; worst 60 s %d",
					items, perPass, float64(perPass)/10, len(periods), med, floor, sumPeriod/sumFloor, ratios[0], ratios[len(ratios)-1], 100*float64(n)/(30*96), n, h.server.Count429(), h.server.MaxInWindow(time.Minute))
			})
		})
	}
}
