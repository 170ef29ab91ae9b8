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
	"context"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestPlanLeavesTheHealthReserveFree(t *testing.T) {
	in := planInput{
		Budget: 96, Window: time.Minute, HealthReserve: 3,
		HealthInterval: 30 * time.Second, CatalogInterval: 15 * time.Minute, StockInterval: time.Minute,
		CatalogRequests: 33, StockRequests: 360,
	}
	p := makePlan(in)
	margin := 0.05 * 96
	if want := 96 - 3 - margin; math.Abs(p.PacedShare-want) > 1e-9 {
		t.Errorf("paced share %v, want budget − reserve − margin = %v", p.PacedShare, want)
	}
	if want := 96 - 3 - 33.0/15 - margin; math.Abs(p.StockShare-want) > 1e-9 {
		t.Errorf("stock share %v, want budget − reserve − catalog − margin = %v", p.StockShare, want)
	}
	// A reserve smaller than what the health interval needs does not
	// shrink health's part.
	in.HealthReserve = 1
	if p := makePlan(in); p.HealthPerWindow != 2 {
		t.Errorf("health part %v with a reserve of 1 and 2 checks a window, want 2", p.HealthPerWindow)
	}
}

func TestPacerKeepsTwoLoopsWithinTheShare(t *testing.T) {
	var p pacer
	t0 := time.Unix(1_000_000, 0)
	p.log.add(t0, 80)                 // stock's sends
	p.log.add(t0.Add(time.Second), 5) // more stock
	// A catalog burst of 30 does not fit 89 until the first 80 are a window old.
	if d := p.log.delay(t0.Add(2*time.Second), 30, 89, time.Minute); d != 58*time.Second {
		t.Errorf("burst waits %v, want 58s", d)
	}
	// An estimate corrected down frees room at once.
	p.settle(t0, 80, 50)
	if d := p.log.delay(t0.Add(2*time.Second), 30, 89, time.Minute); d != 0 {
		t.Errorf("after settling, burst waits %v, want 0", d)
	}
	// Entries stay in time order whatever order they are added in.
	p.log.add(t0.Add(-time.Second), 1)
	for i := 1; i < len(p.log.entries); i++ {
		if p.log.entries[i].at.Before(p.log.entries[i-1].at) {
			t.Fatalf("log out of order: %v", p.log.entries)
		}
	}
}

// TestPacerServesAnOversizedCallInTurn: an item listing bigger than the
// whole share must wait for an empty window; stock, whose locators each fit,
// must not be able to keep the window busy meanwhile and starve it.
func TestPacerServesAnOversizedCallInTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var p pacer
		const limit, window = 89.0, time.Minute
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Hour)
		defer cancel()
		var wg sync.WaitGroup
		wg.Go(func() { // stock: a 30-page locator every 10 s, until cancelled
			for {
				if _, ok := p.wait(ctx, 30, limit, window); !ok {
					return
				}
				if !sleepUntil(ctx, time.Now().Add(10*time.Second)) {
					return
				}
			}
		})
		time.Sleep(5 * time.Second)
		start := time.Now()
		_, ok := p.wait(ctx, 100, limit, window)
		waited := time.Since(start)
		cancel()
		wg.Wait()
		if !ok {
			t.Fatalf("a 100-request call never got through beside stock in %v", waited)
		}
		if waited > window {
			t.Errorf("a 100-request call waited %v beside stock, want at most one window (%v)", waited, window)
		}
	})
}

func TestPlanDoesNotOverflowOnAbsurdConfigurations(t *testing.T) {
	p := makePlan(planInput{
		Budget: 5, Window: 24 * time.Hour, HealthInterval: 12 * time.Hour,
		CatalogInterval: 24 * time.Hour, StockInterval: time.Hour, StockRequests: 400_000,
	})
	if p.Needed <= 0 || !p.Stretched || p.Cycle < time.Hour {
		t.Errorf("plan %+v: want a stretched cycle, not an overflowed one", p)
	}
}
