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

// planInput is what the budget plan depends on.
type planInput struct {
	Budget          int           // requests per window the client allows
	Window          time.Duration // the client's window
	HealthInterval  time.Duration
	CatalogInterval time.Duration
	StockInterval   time.Duration // the wanted stock period
	CatalogRequests int           // one catalog refresh: company, categories, locators, item pages
	StockRequests   int           // one stock refresh: the pages of every active locator
}

// plan divides the budget between the loops. Health and catalog are cheap
// and come first; stock gets what is left, minus a safety margin, and its
// cycle is stretched when a full refresh cannot fit the wanted period.
type plan struct {
	HealthPerWindow  float64 // requests per window the health loop needs
	CatalogPerWindow float64 // a catalog refresh amortised over its interval
	Margin           float64 // kept free for retries and timing jitter
	StockShare       float64 // requests per window stock may spend (at least 1)
	Needed           time.Duration
	Cycle            time.Duration // max(wanted, needed)
	Stretched        bool
}

// makePlan computes the plan. The margin is 5 % of the budget, at least one
// request, because retries of failed calls spend budget the plan cannot
// foresee and a sliding window can catch one more tick of each loop than the
// average says.
func makePlan(in planInput) plan {
	w := in.Window.Seconds()
	p := plan{
		HealthPerWindow:  w / in.HealthInterval.Seconds(),
		CatalogPerWindow: float64(in.CatalogRequests) * w / in.CatalogInterval.Seconds(),
		Margin:           math.Max(1, 0.05*float64(in.Budget)),
	}
	p.StockShare = math.Max(1, float64(in.Budget)-p.HealthPerWindow-p.CatalogPerWindow-p.Margin)
	p.Needed = time.Duration(float64(in.StockRequests) / p.StockShare * float64(in.Window))
	p.Cycle = in.StockInterval
	if p.Needed > in.StockInterval {
		p.Cycle, p.Stretched = p.Needed.Round(time.Second), true
		if p.Cycle < p.Needed {
			p.Cycle += time.Second
		}
	}
	return p
}

// spendLog remembers the stock loop's recent requests so that it can pace
// itself as the client's limiter does: never more than its share in any
// window, counted when each locator's fetch starts. The limiter is the hard
// guarantee for the whole budget; pacing stock below it keeps the limiter's
// queue short, so a health check never waits behind a stock backlog.
type spendLog struct {
	entries []spend
}

type spend struct {
	at time.Time
	n  int
}

// delay returns how long to wait from now until n more requests fit within
// limit over the last window. A fetch bigger than the whole limit waits for
// an empty window, so it still goes ahead.
func (l *spendLog) delay(now time.Time, n int, limit float64, window time.Duration) time.Duration {
	i := 0
	for i < len(l.entries) && !l.entries[i].at.After(now.Add(-window)) {
		i++
	}
	l.entries = l.entries[i:]
	sum := 0
	for _, e := range l.entries {
		sum += e.n
	}
	for _, e := range l.entries {
		if sum == 0 || float64(sum+n) <= limit {
			break
		}
		sum -= e.n
		if sum == 0 || float64(sum+n) <= limit {
			return e.at.Add(window).Sub(now)
		}
	}
	return 0
}

// add records n requests sent at at.
func (l *spendLog) add(at time.Time, n int) {
	l.entries = append(l.entries, spend{at, n})
}
