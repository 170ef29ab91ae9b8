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
func (e *Engine) flowLoop(ctx context.Context) {
	if e.cfg.FlowInterval <= 0 {
		return
	}
	logger := log.With(e.logger, "resource", ResourceFlow.String())
	select {
	case <-e.firstPass:
	case <-ctx.Done():
		return
	}
	e.daily(ctx, ResourceFlow, e.cfg.FlowInterval, func(start time.Time) { e.syncFlow(ctx, logger, start) })
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
		y, m, d := now.Date()
		from := time.Date(y, m, d-(FlowDays-1), 12, 0, 0, 0, tz).Format(time.DateOnly)

		rows, info, err := e.api.StockSummary(ctx, kartustok.StockSummaryFilter{LocatorID: l.ID, DateFrom: from, DateTo: today})
		if ctx.Err() != nil {
			return
		}
		var period *FlowPeriod
		if err == nil {
			period = &FlowPeriod{From: from, To: today, Fetched: time.Now(), Rows: flowEntries(l.ID, rows)}
			logSkipped(log.With(logger, "locator_id", l.ID), kartustok.EndpointStockSummary, info.Invalid)
		}
		var (
			counts *MovementCounts
			cerr   error
		)
		if err == nil && e.countsWanted(time.Now()) {
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
		summaryErr := err
		if cerr != nil && !countsRefused(cerr) {
			err = cerr
		}
		e.update(func(s *Snapshot) {
			e.applyCall(s, kartustok.EndpointStockSummary, summaryErr)
			if summaryErr == nil && cerr != nil {
				e.applyCountCall(s, cerr)
			}
			if summaryErr == nil {
				e.flowPages[l.ID] = max(1, info.Pages)
			}
			if err != nil {
				failed++
				s.Sync[ResourceFlow].Errors++
			}
			if !isActive(s.Locators, l.ID) || (period == nil && counts == nil) {
				return
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
