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
	"math"
	"time"
)

// planInput is what the expected stock cycle depends on.
type planInput struct {
	Budget        int           // requests per window the client allows
	Window        time.Duration // the client's window
	HealthReserve int           // requests per window the client keeps for health checks
	// CatalogCap is the most the client lets the catalog send in one
	// window; 0 when it sets no cap.
	CatalogCap      int
	CatalogInterval time.Duration
	StockInterval   time.Duration // the wanted stock period
	CatalogRequests int           // one catalog refresh: company, categories, locators, item pages
	StockRequests   int           // one stock refresh: the pages of every active locator
}

// plan is what the client's scheduler lets stock do. The scheduler admits
// every request on its own; the plan only predicts, for the sync metrics
// and for the log line that says why a cycle takes longer than wanted.
type plan struct {
	// CatalogPerWindow is the catalog's refresh spread over its interval,
	// at most its cap; CatalogStretched is set when the cap makes a
	// refresh take longer than the interval.
	CatalogPerWindow float64
	CatalogStretched bool
	// StockPerWindow is what stock can count on in every window: the
	// budget less the health reserve and the catalog's part.
	StockPerWindow float64
	Needed         time.Duration // a full stock refresh at that rate
	Cycle          time.Duration // max(wanted, needed)
	Stretched      bool
}

// makePlan computes the plan.
func makePlan(in planInput) plan {
	w := in.Window.Seconds()
	var p plan
	p.CatalogPerWindow = float64(in.CatalogRequests) * w / in.CatalogInterval.Seconds()
	if in.CatalogCap > 0 && p.CatalogPerWindow > float64(in.CatalogCap) {
		p.CatalogPerWindow, p.CatalogStretched = float64(in.CatalogCap), true
	}
	p.StockPerWindow = math.Max(1, float64(in.Budget-in.HealthReserve)-p.CatalogPerWindow)
	// Clamped: an absurd configuration (a day-long window, a budget of a
	// few requests, a huge company) must stretch the cycle, not overflow
	// into a negative duration that looks like no need to stretch.
	p.Needed = time.Duration(math.Min(float64(in.StockRequests)/p.StockPerWindow*float64(in.Window), math.MaxInt64/2))
	p.Cycle = in.StockInterval
	if p.Needed > in.StockInterval {
		p.Cycle, p.Stretched = p.Needed.Round(time.Second), true
		if p.Cycle < p.Needed {
			p.Cycle += time.Second
		}
	}
	return p
}
