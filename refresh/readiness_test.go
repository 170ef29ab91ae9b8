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
	"testing"
	"testing/synctest"
	"time"

	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

// TestReadinessMeasure measures how soon a large company is ready: 2,000
// warehouses of 20 items (one page each) at the API's real limit (120 per
// 60 s) and the exporter's defaults (budget 96, health every 30 s,
// movement counts and flow on). It reports when /-/ready would turn 200
// against the floor of one full read, the catalogue's requests and the
// stock pages of that first read at the whole budget less the health
// reserve, and the most and fewest warehouses with exported stock over
// the next two hours. synctest's fake clock makes the figures exact and
// repeatable. It asserts nothing; run it with
//
//	KARTUSTOK_MEASURE=1 go test -run TestReadinessMeasure -v ./refresh
//
// It reads the engine's snapshot and the server's log only, so it
// measures any version of the exporter the same way.
func TestReadinessMeasure(t *testing.T) {
	if os.Getenv("KARTUSTOK_MEASURE") == "" {
		t.Skip("set KARTUSTOK_MEASURE=1")
	}
	synctest.Test(t, func(t *testing.T) {
		cfg := flowConfig()
		start := time.Now()
		h := startSim(t, kartustoktest.Config{Locators: 2000, Items: 20, Seed: 5}, cfg,
			kartustoktest.WithRateLimit(120, time.Minute), kartustoktest.WithLogLimit(0))
		active := 0
		for _, id := range h.company.LocatorIDs() {
			if l, _ := h.company.Locator(id); l.Active {
				active++
			}
		}
		var ready time.Duration
		most, fewest := 0, -1
		for time.Since(start) < 3*time.Hour {
			step := 10 * time.Second
			if ready == 0 {
				step = time.Second
			}
			time.Sleep(step)
			synctest.Wait()
			if ready == 0 && h.engine.Ready() {
				ready = time.Since(start)
			}
			if ready == 0 {
				continue
			}
			s, fresh := h.engine.Snapshot(), 0
			for _, ls := range s.Stock {
				if time.Since(ls.Fetched) <= cfg.MaxStaleness {
					fresh++
				}
			}
			most = max(most, fresh)
			if fewest < 0 || fresh < fewest {
				fewest = fresh
			}
		}
		n := countRequests(h.server.Requests(), start, start.Add(ready+time.Nanosecond))
		pages, counts, catalog, health := n[stockPage], n[movementCheck]+n[countByType], n[catalogRequest], n[healthCheck]
		// The floor: the earliest the last of the catalogue's requests and
		// of one full read's pages can go out when no window holds more
		// than the budget less the health reserve of them.
		reserve := int(cfg.Window/cfg.HealthInterval) + 1
		perWindow := cfg.Budget - reserve
		windows := (catalog+pages+perWindow-1)/perWindow - 1
		floor := time.Duration(windows) * cfg.Window
		t.Logf("active warehouses %d; before ready: stock pages %d, movement counts %d, catalogue %d, health %d", active, pages, counts, catalog, health)
		t.Logf("ready after %s; floor (catalogue and one read's pages at %d a window) %s; ratio %.3f", ready.Round(time.Second), perWindow, floor, ready.Seconds()/floor.Seconds())
		t.Logf("warehouses with exported stock from ready to 3 h: most %d, fewest %d", most, fewest)
	})
}
