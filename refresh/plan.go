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

package refresh

import (
	"fmt"
	"math"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
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
	StockRequests   int           // one stock refresh: the pages of every active locator, and its movement counts
	// FlowInterval and FlowRequests are the flow refresh's period and what
	// one costs (30-day pages and movement counts of every active
	// locator, those of the collectors that are on); FlowInterval 0 when
	// there is none.
	FlowInterval time.Duration
	FlowRequests int
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
	// FlowPerWindow is the flow refresh spread over its interval.
	FlowPerWindow float64
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
	if in.FlowInterval > 0 {
		p.FlowPerWindow = float64(in.FlowRequests) * w / in.FlowInterval.Seconds()
	}
	p.StockPerWindow = math.Max(1, float64(in.Budget-in.HealthReserve)-p.CatalogPerWindow-p.FlowPerWindow)
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

// catalogResources are the resources one catalog refresh brings.
var catalogResources = []Resource{ResourceCompany, ResourceCategories, ResourceLocators, ResourceItems}

// measureCycle records that a refresh of rs which started at start is
// complete: the period of the last complete cycle is the time from the
// start of the one before it to start. It says once, at info, when that
// period is more than wanted by over 5 % (a cycle stretched by the budget),
// and when it is back.
func (e *Engine) measureCycle(rs []Resource, last *time.Time, start time.Time, wanted time.Duration) {
	prev := *last
	*last = start
	if prev.IsZero() {
		return
	}
	period := start.Sub(prev)
	e.update(func(s *Snapshot) {
		for _, r := range rs {
			s.Sync[r].Cycle = period
		}
		if rs[0] == ResourceStock {
			e.stockMeasured = true
		}
	})
	stretched := period > wanted+wanted/20
	e.mu.Lock()
	changed := stretched != e.stretched[rs[0]]
	e.stretched[rs[0]] = stretched
	e.mu.Unlock()
	if !changed {
		return
	}
	name := "Catalog"
	switch rs[0] {
	case ResourceStock:
		name = "Stock"
	case ResourceFlow:
		name = "Flow"
	}
	if stretched {
		p := e.currentPlan()
		level.Info(e.logger).Log("msg", name+" refresh stretched: a full refresh does not fit the wanted interval within the request budget",
			"wanted_cycle", wanted, "measured_cycle", period.Round(time.Second),
			"stock_requests_per_cycle", p.in.StockRequests, "catalog_requests_per_cycle", p.in.CatalogRequests,
			"budget", e.cfg.Budget, "window", e.cfg.Window, "health_reserve", e.cfg.HealthReserve, "catalog_cap", e.cfg.CatalogCap,
			"flow_requests_per_cycle", p.in.FlowRequests,
			"stock_requests_per_window", fmt.Sprintf("%.1f", p.StockPerWindow), "catalog_requests_per_window", fmt.Sprintf("%.1f", p.CatalogPerWindow),
			"flow_requests_per_window", fmt.Sprintf("%.1f", p.FlowPerWindow))
		return
	}
	level.Info(e.logger).Log("msg", name+" refresh is back at the wanted interval", "wanted_cycle", wanted, "measured_cycle", period.Round(time.Second))
}

// plannedCycle is a plan with what it was made from.
type plannedCycle struct {
	plan
	in planInput
	// counted is set when the plan asks each locator's movement count
	// before its read: only when counts can spare reads (see countsPay).
	counted bool
}

// currentPlan predicts the cycles from the page counts of the last fetches.
func (e *Engine) currentPlan() plannedCycle {
	s := e.snap.Load()
	e.mu.Lock()
	defer e.mu.Unlock()
	var requests, flow int
	active := s.ActiveLocators()
	for _, l := range active {
		requests += e.expectedPages(l.ID)
		flow += e.cfg.flowRequests(e.expectedFlowPages(l.ID))
	}
	in := planInput{
		Budget:          e.cfg.Budget,
		Window:          e.cfg.Window,
		HealthReserve:   e.cfg.HealthReserve,
		CatalogCap:      e.cfg.CatalogCap,
		CatalogInterval: e.cfg.CatalogInterval,
		StockInterval:   e.cfg.StockInterval,
		CatalogRequests: 3 + max(1, e.itemPages),
		StockRequests:   requests,
	}
	if e.cfg.FlowRefresh() {
		in.FlowInterval, in.FlowRequests = e.cfg.FlowInterval, flow
	}
	p := plannedCycle{plan: makePlan(in), in: in}
	if e.cfg.cheapRefreshes() {
		idle := in
		idle.StockRequests = len(active)
		if countsPay(makePlan(idle).Cycle, e.cfg.FullStockInterval) {
			// With counts every pass asks each locator's movements; only
			// a busy company reads every page too, which is what the plan
			// must afford.
			counted := in
			counted.StockRequests += len(active)
			p = plannedCycle{plan: makePlan(counted), in: counted, counted: true}
		}
	}
	return p
}

// countsPay reports whether movement counts can spare full reads, given
// the cycle of a pass that finds nothing changed (its counts alone, or the
// stock interval). A locator is visited once a pass, and its read may be
// left out only while its stock will still be younger than the full stock
// interval at the next visit: when two such passes exceed the full stock
// interval, every read is due anyway and a count before it only costs a
// request (a company of thousands of warehouses, whose counts alone fill
// the budget for longer than that).
func countsPay(idleCycle, fullStockInterval time.Duration) bool {
	return 2*idleCycle <= fullStockInterval
}

// planStock publishes the requests the next stock pass needs, and the
// cycle the plan predicts until one has been measured; it warns once when
// that cycle is not shorter than the max staleness.
func (e *Engine) planStock(logger log.Logger) {
	p := e.currentPlan()
	e.mu.Lock()
	e.countsPlanned = p.counted
	e.mu.Unlock()
	e.update(func(s *Snapshot) {
		s.Sync[ResourceStock].PlannedRequests = p.in.StockRequests
		s.Sync[ResourceFlow].PlannedRequests = p.in.FlowRequests
		if !e.stockMeasured {
			s.Sync[ResourceStock].Cycle = p.Cycle
		}
		cycle := s.Sync[ResourceStock].Cycle
		// A locator left unchanged is read in full again before its stock
		// is FullStockInterval old, so that is how old it can get too.
		oldest := cycle
		if e.cfg.cheapRefreshes() {
			oldest = max(cycle, e.cfg.FullStockInterval)
		}
		if tooSlow := oldest >= e.cfg.MaxStaleness; tooSlow != e.staleWarned {
			e.staleWarned = tooSlow
			if tooSlow {
				level.Warn(logger).Log("msg", "The stock cycle (or the full stock interval) is not shorter than --sync.max-staleness: stock series will vanish between refreshes; raise --sync.max-staleness or the budget",
					"cycle", cycle, "full_stock_interval", e.cfg.FullStockInterval, "max_staleness", e.cfg.MaxStaleness)
			}
		}
	})
}
