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
	"context"
	"errors"
	"maps"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

// FlowDays is the length of the flow period: the company's today and the
// 29 days before it.
const FlowDays = 30

// flowLoop refreshes each active locator's flow every FlowInterval: its
// in and out per item over the last FlowDays days (the pages of one
// /stock/summary listing) and its movements of the day by transaction type
// (one /stock/detail request per type, whose meta.total is the count). It
// starts after the first stock pass, so that it never delays the stock
// every locator needs first, and again at the company's midnight, when the
// period moves on and the day's movements start from none.
//
// A collector that is off costs nothing here: without the flow collector
// no 30-day page is read, without the movements collector no count by
// type is asked, and without both the loop does not run.
func (e *Engine) flowLoop(ctx context.Context) {
	if !e.cfg.FlowRefresh() {
		return
	}
	logger := log.With(e.logger, "resource", ResourceFlow.String())
	select {
	case <-e.firstPass:
	case <-ctx.Done():
		return
	}
	// The flow's requests count as flow and yield to stock while stock
	// comes first.
	ctx = kartustok.Yielding(kartustok.WithClass(ctx, kartustok.ClassFlow))
	e.daily(ctx, ResourceFlow, e.cfg.FlowInterval, e.restoredUntil(ResourceFlow, e.cfg.FlowInterval), func(start time.Time) { e.syncFlow(ctx, logger, start) })
}

// restoredUntil is when the next refresh of r is due after a start from a
// saved state whose refresh of r is still fresh: its last success and
// interval; zero when it is due at once.
func (e *Engine) restoredUntil(r Resource, interval time.Duration) time.Time {
	s := e.snap.Load()
	if !s.State.Loaded {
		return time.Time{}
	}
	next := s.Sync[r].LastSuccess.Add(interval)
	if s.Sync[r].LastSuccess.IsZero() || !next.After(time.Now()) {
		return time.Time{}
	}
	return next
}

// syncFlow reads the flow of every active locator once.
func (e *Engine) syncFlow(ctx context.Context, logger log.Logger, start time.Time) {
	snap := e.snap.Load()
	tz := snap.Location
	failed := 0
	if tz == nil {
		// The period's dates are the company's; without its zone they
		// are unknown (see zone.go), and no flow is read.
		failed++
	}
	for _, l := range snap.ActiveLocators() {
		if tz == nil {
			break
		}
		if e.tokenRefused() {
			failed++
			break
		}
		now := time.Now().In(tz)
		today := now.Format(time.DateOnly)
		from := flowFrom(now)

		// The day's movements are counted before the 30-day pages are
		// read, so that a movement posted meanwhile makes the next count
		// differ (as for a stock read, see unchanged).
		var (
			counts *MovementCounts
			cerr   error
		)
		// They are the movements collector's, wanted whether or not stock
		// spares unchanged warehouses (cheapRefreshes).
		if e.cfg.countsTypes() && e.countsAskable(time.Now()) {
			counts, cerr = e.movementCounts(ctx, l.ID, today)
			if ctx.Err() != nil {
				return
			}
			// Without meta.total, or with /stock/detail refused, there
			// are no counts to have: the stock loop's fallback says so
			// once. Any other failure fails the refresh.
			if cerr != nil && countsRefused(cerr) {
				e.countsUnavailable(logger, time.Now(), cerr)
			}
		}
		// A period the stock refresh read for a full read (see
		// syncStock) within the full stock interval is not read again.
		var (
			rows []kartustok.StockRow
			info kartustok.ListInfo
			err  error
		)
		read := e.cfg.readsFlow() && !e.periodFresh(snap, l.ID, from)
		if read {
			rows, info, err = e.api.StockSummary(ctx, kartustok.StockSummaryFilter{LocatorID: l.ID, DateFrom: from, DateTo: today})
			if ctx.Err() != nil {
				return
			}
		}
		var period *FlowPeriod
		fetched := time.Now()
		if read && err == nil {
			period = &FlowPeriod{From: from, To: today, Fetched: fetched, Rows: flowEntries(l.ID, rows)}
			logSkipped(log.With(logger, "locator_id", l.ID), kartustok.EndpointStockSummary, info.Invalid)
		}
		summaryErr := err
		if cerr != nil && !countsRefused(cerr) {
			err = cerr
		}
		e.update(func(s *Snapshot) {
			if read {
				e.applyCall(s, kartustok.EndpointStockSummary, summaryErr)
			}
			if summaryErr == nil && cerr != nil {
				e.applyCountCall(s, cerr)
			}
			if read && summaryErr == nil {
				e.flowPages[l.ID] = max(1, info.Pages)
			}
			if err != nil {
				failed++
				s.Sync[ResourceFlow].Errors++
			}
			if !isActive(s.Locators, l.ID) || (period == nil && counts == nil) {
				return
			}
			if period != nil && counts != nil && len(info.Invalid) == 0 {
				if ls := stockFromFlow(s.Stock[l.ID], stockEntries(l.ID, rows), fetched, today, counts.total()); ls != nil {
					s.Stock = maps.Clone(s.Stock)
					s.Stock[l.ID] = ls
				}
			}
			s.Flow = maps.Clone(s.Flow)
			if s.Flow == nil {
				s.Flow = map[kartustok.ID]*LocatorFlow{}
			}
			lf := &LocatorFlow{Period: period, Movements: counts}
			if prev := s.Flow[l.ID]; prev != nil {
				if lf.Period == nil {
					lf.Period = prev.Period
				}
				if lf.Movements == nil {
					lf.Movements = prev.Movements
				}
			}
			s.Flow[l.ID] = lf
		})
		if err != nil {
			if !errors.Is(err, kartustok.ErrNoToken) {
				level.Error(logger).Log("msg", "Flow refresh of a locator failed; keeping its last good values", "locator_id", l.ID, "err", err)
			}
			if k := kartustok.KindOf(err); k == kartustok.KindUnauthorized || k == "" {
				break
			}
		}
	}
	e.update(func(s *Snapshot) {
		st := &s.Sync[ResourceFlow]
		st.LastDuration = time.Since(start)
		if failed == 0 {
			st.LastSuccess = time.Now()
		}
		// Locators that are gone or inactive keep no flow.
		gone := func(id kartustok.ID, _ *LocatorFlow) bool { return !isActive(s.Locators, id) }
		for id, lf := range s.Flow {
			if gone(id, lf) {
				s.Flow = maps.Clone(s.Flow)
				maps.DeleteFunc(s.Flow, gone)
				break
			}
		}
	})
}

// movementCounts asks the number of a locator's movements on day for each
// transaction type: all of them or none.
func (e *Engine) movementCounts(ctx context.Context, id kartustok.ID, day string) (*MovementCounts, error) {
	mc := &MovementCounts{Day: day}
	for i, typ := range kartustok.TransactionTypes {
		n, err := e.api.StockMovementCount(ctx, kartustok.StockDetailFilter{LocatorID: id, TransactionType: typ, DateFrom: day, DateTo: day})
		if err != nil {
			return nil, err
		}
		mc.ByType[i] = n
	}
	mc.Fetched = time.Now()
	return mc, nil
}

// flowEntries reduces a locator's rows over the flow period to their in
// and out; rows of another locator, or without both, are left out, and an
// item seen twice keeps its last row.
func flowEntries(locator kartustok.ID, rows []kartustok.StockRow) []FlowEntry {
	return lastPerItem(locator, rows, func(r *kartustok.StockRow) (FlowEntry, bool) {
		if r.InQty == nil || r.OutQty == nil {
			return FlowEntry{}, false
		}
		return FlowEntry{ItemID: r.ItemID, In: float64(*r.InQty), Out: float64(*r.OutQty)}, true
	})
}

// expectedFlowPages is what a locator's 30-day read will cost: its page
// count last time, else its stock's. Called with mu held.
func (e *Engine) expectedFlowPages(id kartustok.ID) int {
	if n, ok := e.flowPages[id]; ok {
		return n
	}
	return e.expectedPages(id)
}

// total is the number of movements of all types.
func (mc *MovementCounts) total() int {
	n := 0
	for _, c := range mc.ByType {
		n += c
	}
	return n
}

// stockFromFlow is a locator's stock as its 30-day read, which ends today,
// says it (the balance and minimum a full read gives), when that read
// counts as the locator's full read: its day's movements, counted just
// before it, are those of the locator's last stock read (prev), so the
// day's in and out that read gave still stand. It returns nil otherwise,
// and the stock loop reads the locator as it would have.
//
// The 30-day listing has a row for every item with a balance or a movement
// in the 30 days, the day's listing one for every item with a balance or a
// movement today: an item of the one and not the other has no balance and
// no movement today, and is left out as the day's listing leaves it out.
func stockFromFlow(prev *LocatorStock, entries []StockEntry, fetched time.Time, today string, moves int) *LocatorStock {
	if prev == nil || prev.Day != today || prev.Movements < 0 || prev.Movements != moves {
		return nil
	}
	day := make(map[kartustok.ID]*StockEntry, len(prev.Rows))
	for i := range prev.Rows {
		day[prev.Rows[i].ItemID] = &prev.Rows[i]
	}
	rows := make([]StockEntry, 0, len(prev.Rows))
	for _, en := range entries {
		if p, ok := day[en.ItemID]; ok {
			en.In, en.Out, en.HasFlow = p.In, p.Out, p.HasFlow
		} else {
			if en.OnHand == 0 {
				continue
			}
			// No movement today: the day's count did not change since
			// a listing that had no row for the item, unless that
			// listing skipped the item's row.
			en.In, en.Out, en.HasFlow = 0, 0, !prev.MayLack(en.ItemID)
		}
		rows = append(rows, en)
	}
	return &LocatorStock{Fetched: fetched, Rows: rows, Day: today, Movements: moves}
}

// flowFrom is the first day of the flow period that ends on t's day: t's
// day and the FlowDays − 1 days before it.
func flowFrom(t time.Time) string {
	y, m, d := t.Date()
	return time.Date(y, m, d-(FlowDays-1), 12, 0, 0, 0, t.Location()).Format(time.DateOnly)
}

// setPeriod records a locator's 30-day flow, keeping its movement counts.
// Called with mu held, on a snapshot whose Flow it may replace.
func (e *Engine) setPeriod(s *Snapshot, id kartustok.ID, p *FlowPeriod) {
	s.Flow = maps.Clone(s.Flow)
	if s.Flow == nil {
		s.Flow = map[kartustok.ID]*LocatorFlow{}
	}
	lf := &LocatorFlow{Period: p}
	if prev := s.Flow[id]; prev != nil {
		lf.Movements = prev.Movements
	}
	s.Flow[id] = lf
}

// periodFresh reports whether a locator's 30-day flow of the period from
// was read by the stock refresh within the full stock interval, so that
// the flow refresh need not read it again: at the next flow refresh it
// is then at most a full stock interval and a flow cycle old, within
// the flow's max age.
func (e *Engine) periodFresh(s *Snapshot, id kartustok.ID, from string) bool {
	lf := s.Flow[id]
	if lf == nil || lf.Period == nil || lf.Period.From != from || !e.cfg.cheapRefreshes() {
		return false
	}
	return time.Since(lf.Period.Fetched) < e.cfg.FullStockInterval
}
