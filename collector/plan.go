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
	"sort"
	"sync"
	"time"
)

// planInput is what the budget plan depends on.
type planInput struct {
	Budget          int           // requests per window the client allows
	Window          time.Duration // the client's window
	HealthReserve   int           // requests per window the client keeps for health checks
	HealthInterval  time.Duration
	CatalogInterval time.Duration
	StockInterval   time.Duration // the wanted stock period
	CatalogRequests int           // one catalog refresh: company, categories, locators, item pages
	StockRequests   int           // one stock refresh: the pages of every active locator
}

// plan divides the budget between the loops. Health comes first: it gets
// the client's health reserve, or what its interval needs if that is more.
// Catalog and stock share the rest, minus a safety margin (PacedShare).
// Stock's average share is that minus the catalog amortised over its
// interval (StockShare), and its cycle is stretched when a full refresh
// cannot fit the wanted period at that rate.
type plan struct {
	HealthPerWindow  float64 // requests per window kept for the health loop
	CatalogPerWindow float64 // a catalog refresh amortised over its interval
	Margin           float64 // kept free for retries and timing jitter
	// PacedShare is what catalog and stock together may send in any one
	// window (at least 1). Both loops pace themselves against it through
	// one shared log: see pacer.
	PacedShare float64
	StockShare float64 // requests per window stock may spend on average (at least 1)
	Needed     time.Duration
	Cycle      time.Duration // max(wanted, needed)
	Stretched  bool
}

// makePlan computes the plan. The margin is 5 % of the budget, at least one
// request, because retries of failed calls spend budget the plan cannot
// foresee and a sliding window can catch one more tick of each loop than the
// average says.
func makePlan(in planInput) plan {
	w := in.Window.Seconds()
	p := plan{
		HealthPerWindow:  math.Max(float64(in.HealthReserve), w/in.HealthInterval.Seconds()),
		CatalogPerWindow: float64(in.CatalogRequests) * w / in.CatalogInterval.Seconds(),
		Margin:           math.Max(1, 0.05*float64(in.Budget)),
	}
	p.PacedShare = math.Max(1, float64(in.Budget)-p.HealthPerWindow-p.Margin)
	p.StockShare = math.Max(1, p.PacedShare-p.CatalogPerWindow)
	// Clamped: an absurd configuration (a day-long window, a budget of a
	// few requests, a huge company) must stretch the cycle, not overflow
	// into a negative duration that looks like no need to stretch.
	p.Needed = time.Duration(math.Min(float64(in.StockRequests)/p.StockShare*float64(in.Window), math.MaxInt64/2))
	p.Cycle = in.StockInterval
	if p.Needed > in.StockInterval {
		p.Cycle, p.Stretched = p.Needed.Round(time.Second), true
		if p.Cycle < p.Needed {
			p.Cycle += time.Second
		}
	}
	return p
}

// pacer keeps catalog and stock within the plan's PacedShare in every
// window, so that the health checks' part of the budget is always free.
//
// A catalog refresh is a burst (company, categories, locators and every
// item page back to back), while the plan amortises it over the catalog
// interval. Were stock paced against its average share alone, the window in
// which the catalog runs would hold stock's share and the whole burst, more
// than the budget, and the client's limiter, which has no priorities, would
// make health checks queue behind item pages. Both loops therefore record
// their requests in one log and wait, before each call, until its expected
// cost fits PacedShare over the last window: in the window a catalog
// refresh runs, stock yields what the burst takes, and a burst that finds
// the window full of stock waits for room instead of queueing in the
// limiter. Over a whole cycle stock still gets its average StockShare.
//
// The client's limiter is the hard guarantee for the whole budget, and its
// health reserve (kartustok.WithHealthReserve) keeps health checks going
// should an estimate be short; pacing below it keeps the limiter's queue
// empty so that neither is needed in normal operation.
//
// Waiters are served first come, first served: a call that does not fit
// holds its turn, so nobody records requests behind its back and the
// window drains for it within one window. Without that, stock, whose
// single locators fit the share, could keep a window busy for ever and
// starve an item listing bigger than the share, which must wait for an
// empty window.
type pacer struct {
	once sync.Once
	turn chan struct{} // holds a token while a waiter has its turn

	mu  sync.Mutex
	log spendLog
}

// wait blocks until it is the caller's turn and cost more requests fit
// limit over the last window, then records them as sent now and returns
// now. It reports false when ctx is done first.
func (p *pacer) wait(ctx context.Context, cost int, limit float64, window time.Duration) (time.Time, bool) {
	p.once.Do(func() { p.turn = make(chan struct{}, 1) })
	// Goroutines blocked sending on a channel are woken in the order they
	// blocked, which makes the turns first come, first served.
	select {
	case p.turn <- struct{}{}:
	case <-ctx.Done():
		return time.Time{}, false
	}
	defer func() { <-p.turn }()
	for {
		p.mu.Lock()
		now := time.Now()
		d := p.log.delay(now, cost, limit, window)
		if d <= 0 {
			p.log.add(now, cost)
			p.mu.Unlock()
			return now, true
		}
		p.mu.Unlock()
		// A settle may correct the log meanwhile: check again.
		if !sleepUntil(ctx, now.Add(d)) {
			return time.Time{}, false
		}
	}
}

// settle corrects the record of a call started at at once its real cost
// (pages) is known.
func (p *pacer) settle(at time.Time, estimated, actual int) {
	if actual == estimated {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log.add(at, actual-estimated)
}

// spendLog remembers recent requests so that a pacer can keep them within a
// limit in any window, as the client's limiter does, counted when each call
// starts.
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
		if sum <= 0 || float64(sum+n) <= limit {
			break
		}
		sum -= e.n
		if sum <= 0 || float64(sum+n) <= limit {
			return e.at.Add(window).Sub(now)
		}
	}
	return 0
}

// add records n requests sent at at (n < 0 corrects an estimate). The log
// stays in time order, which delay relies on.
func (l *spendLog) add(at time.Time, n int) {
	i := sort.Search(len(l.entries), func(i int) bool { return l.entries[i].at.After(at) })
	l.entries = append(l.entries, spend{})
	copy(l.entries[i+1:], l.entries[i:])
	l.entries[i] = spend{at, n}
}
