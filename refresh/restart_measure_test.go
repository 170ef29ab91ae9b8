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
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

// wallClock returns the machine's real time from inside a synctest
// bubble, whose own clock is fake: a goroutine outside it answers.
func wallClock(t *testing.T) func() time.Time {
	// Both channels are made outside the bubble: a goroutine outside it
	// may not touch the bubble's.
	asks, answers := make(chan struct{}), make(chan time.Time)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-asks:
				answers <- time.Now()
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() { close(done) })
	return func() time.Time {
		asks <- struct{}{}
		return <-answers
	}
}

// TestWarmRestartMeasure measures a restart with --storage.path at about
// 100,000 stock rows (10 warehouses of 11,111 items) with flow, at the API's
// real limit and the exporter's defaults: the size of the state file and
// the wall time of the shutdown's save, the wall time from the start of
// the new process to a scrape holding every stock series, and the
// requests of its first minute against 1 + warehouses + the pages of the
// warehouses that changed while it was down. It asserts nothing; run it
// with
//
//	KARTUSTOK_MEASURE=1 go test -run TestWarmRestartMeasure -v ./refresh
func TestWarmRestartMeasure(t *testing.T) {
	if os.Getenv("KARTUSTOK_MEASURE") == "" {
		t.Skip("set KARTUSTOK_MEASURE=1")
	}
	wall := wallClock(t)
	synctest.Test(t, func(t *testing.T) {
		cfg := flowConfig()
		cfg.StatePath = filepath.Join(t.TempDir(), "sinarjaya.state")
		r := newRestartable(t, kartustoktest.Config{Locators: 10, Items: 11111, Seed: 3},
			kartustoktest.WithRateLimit(120, time.Minute), kartustoktest.WithLogLimit(0))
		first := r.start(t, cfg)
		time.Sleep(40 * time.Minute)
		synctest.Wait()
		before := first.series()
		series := testkit.Count(before, "kartustok_stock_on_hand")
		w0 := wall()
		first.stop()
		saveTime := wall().Sub(w0)
		info, err := os.Stat(cfg.StatePath)
		if err != nil {
			t.Fatal(err)
		}

		time.Sleep(time.Minute)
		locs := activeLocators(r.company)
		changedPages := 0
		for _, l := range locs[:2] {
			r.company.Post(l, cardsOf(r.company, l)[0], kartustok.TransactionReceipt, 7, 0)
			changedPages += (len(cardsOf(r.company, l)) + kartustok.PerPage - 1) / kartustok.PerPage
		}
		r.server.ResetLog()
		start := time.Now()
		w1 := wall()
		second := r.start(t, cfg)
		at := second.series()
		restartTime := wall().Sub(w1)
		time.Sleep(time.Minute)
		synctest.Wait()
		n := countRequests(r.server.Requests(), start, start.Add(time.Minute))
		total := 0
		for _, k := range n {
			total += k
		}
		t.Logf("stock series %d; state file %d bytes, saved at shutdown in %s (wall)", series, info.Size(), saveTime.Round(time.Millisecond))
		t.Logf("restart: %d of %d stock series on the first scrape, %s (wall) after the start; ready %v",
			testkit.Count(at, "kartustok_stock_on_hand"), series, restartTime.Round(time.Millisecond), second.engine.Ready())
		t.Logf("first minute: %d requests (health %d, counts %d, stock pages %d, catalogue %d, flow %d); goal at most 1 + %d warehouses + %d pages of the changed = %d",
			total, n[healthCheck], n[movementCheck], n[stockPage], n[catalogRequest], n[flowPage]+n[countByType], len(locs), changedPages, 1+len(locs)+changedPages)
	})
}
