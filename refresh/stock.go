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
	"slices"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

func (e *Engine) stockLoop(ctx context.Context) {
	logger := log.With(e.logger, "resource", ResourceStock.String())
	if !e.afterFirstHealth(ctx) {
		return
	}
	select {
	case <-e.locatorsKnown:
	case <-ctx.Done():
		return
	}
	overran := false
	e.daily(ctx, ResourceStock, e.cfg.StockInterval, time.Time{}, func(start time.Time) {
		e.planStock(logger)
		// Stock comes first in its first pass and whenever it cannot keep
		// its interval: the catalogue (after its first refresh) and the
		// flow then keep only a small share of the budget.
		first := !closed(e.firstPass)
		e.setStockFirst(first || overran)
		e.syncStock(ctx, logger, start)
		overran = time.Since(start) > e.cfg.StockInterval
		e.setStockFirst(false)
		e.firstPassOnce.Do(func() { close(e.firstPass) })
		e.requestSave()
	})
}

// closed reports whether ch is closed.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// stockFirster is a client that can put stock first: *kartustok.Client.
type stockFirster interface{ SetStockFirst(on bool) }

// setStockFirst puts stock first in the client's scheduler, or ends that.
func (e *Engine) setStockFirst(on bool) {
	if sf, ok := e.api.(stockFirster); ok {
		sf.SetStockFirst(on)
	}
}

// daily runs pass every interval until ctx is done, waiting while the
// token is refused, and measures the cycle of r. The first pass waits
// until notBefore (zero: none). The next pass starts at
// the wanted interval, or at once when this one took longer (the scheduler
// paces every page), or at the company's midnight when that comes first,
// so that the new day's figures replace the old day's at once.
func (e *Engine) daily(ctx context.Context, r Resource, interval time.Duration, notBefore time.Time, pass func(start time.Time)) {
	var last time.Time // start of the last complete pass
	if !notBefore.IsZero() {
		// A pass of a saved state is still fresh: the next one comes at
		// its interval, or at the company's midnight when that is first.
		if loc := e.snap.Load().Location; loc != nil {
			if m := nextMidnight(time.Now(), loc); m.Before(notBefore) {
				notBefore = m
			}
		}
		if !sleepUntil(ctx, notBefore) {
			return
		}
	}
	for {
		if !e.waitToken(ctx) {
			return
		}
		start := time.Now()
		pass(start)
		if ctx.Err() != nil {
			return
		}
		e.measureCycle([]Resource{r}, &last, start, interval)
		next := start.Add(interval)
		if loc := e.snap.Load().Location; loc != nil {
			if m := nextMidnight(start, loc); m.After(start) && m.Before(next) {
				next = m
			}
		}
		if !sleepUntil(ctx, next) {
			return
		}
	}
}

// syncStock fetches the stock of every active locator once, and swaps each
// locator's rows in whole when all its pages have arrived. The client's
// scheduler admits every page on its own.
func (e *Engine) syncStock(ctx context.Context, logger log.Logger, start time.Time) {
	snap := e.snap.Load()
	tz := snap.Location
	if tz == nil && snap.Company == nil {
		e.warnNoZone(logger)
	}
	failed := 0
	for _, l := range snap.ActiveLocators() {
		if e.tokenRefused() {
			failed++
			break
		}
		t0 := time.Now()
		// Without the company's zone its date is unknown: no date is
		// sent, so the API reads its own today, and the rows' day stays
		// "", whose flow is nobody's today.
		today := ""
		if tz != nil {
			today = t0.In(tz).Format(time.DateOnly)
		}
		moves, due := -1, false
		if today != "" && snap.Stock[l.ID] != nil && e.countFirst(t0) {
			var skip bool
			moves, skip, due = e.unchanged(ctx, logger, l.ID, today, t0)
			if ctx.Err() != nil {
				return
			}
			if skip {
				continue
			}
			if e.tokenRefused() {
				// The count was refused (401): the stock would be too.
				failed++
				break
			}
		}
		// A read that is due only because the locator has gone the full
		// stock interval unread, with nothing moved today, reads the 30
		// days that end today when there is flow: their balances are a
		// full read's, the day's in and out stand (the count says so),
		// and the flow refresh need not read them again.
		filter := kartustok.StockSummaryFilter{LocatorID: l.ID, DateFrom: today, DateTo: today}
		thirtyDays := due && e.cfg.readsFlow() && !e.readDay(l.ID)
		if thirtyDays {
			filter.DateFrom = flowFrom(t0.In(tz))
		}
		rows, info, err := e.api.StockSummary(ctx, filter)
		pages := info.Pages
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failed++
			e.update(func(s *Snapshot) {
				e.applyCall(s, kartustok.EndpointStockSummary, err)
				s.Sync[ResourceStock].Errors++
			})
			if !errors.Is(err, kartustok.ErrNoToken) {
				level.Error(logger).Log("msg", "Stock refresh of a locator failed; keeping its last good values", "locator_id", l.ID, "err", err)
			}
			if k := kartustok.KindOf(err); k == kartustok.KindUnauthorized || k == kartustok.KindForbidden || k == "" {
				// Every other locator would get the same answer; a failure
				// with no kind (the token file unreadable) sent no request
				// and would fail them all alike.
				break
			}
			continue
		}
		entries := stockEntries(l.ID, rows)
		logSkipped(log.With(logger, "locator_id", l.ID), kartustok.EndpointStockSummary, info.Invalid)
		e.update(func(s *Snapshot) {
			e.applyCall(s, kartustok.EndpointStockSummary, nil)
			e.locatorPages[l.ID] = max(1, pages)
			if !isActive(s.Locators, l.ID) {
				return // deactivated or removed while this fetch ran
			}
			s.Stock = maps.Clone(s.Stock)
			if s.Stock == nil {
				s.Stock = map[kartustok.ID]*LocatorStock{}
			}
			now := time.Now()
			if thirtyDays {
				e.flowPages[l.ID] = max(1, pages)
				if ls := stockFromFlow(s.Stock[l.ID], entries, now, today, moves); ls != nil && len(info.Invalid) == 0 {
					s.Stock[l.ID] = ls
					e.setPeriod(s, l.ID, &FlowPeriod{From: filter.DateFrom, To: today, Fetched: now, Rows: flowEntries(l.ID, rows)})
					return
				}
				// Not a full read after all (a row skipped): the next
				// pass reads the day.
				e.dayRead[l.ID] = true
				return
			}
			delete(e.dayRead, l.ID)
			ls := newLocatorStock(l.ID, now, entries, info.Invalid, s.Stock[l.ID], e.cfg.MaxStaleness)
			ls.Day, ls.Movements = today, moves
			s.Stock[l.ID] = ls
			e.updateReady(s, time.Now())
		})
		level.Debug(logger).Log("msg", "Locator stock refreshed", "locator_id", l.ID, "rows", len(entries), "pages", pages, "duration", time.Since(t0))
	}
	e.update(func(s *Snapshot) {
		st := &s.Sync[ResourceStock]
		st.LastDuration = time.Since(start)
		if failed == 0 {
			st.LastSuccess = time.Now()
		}
	})
}

// countsWanted reports whether a stock pass at now asks each locator's
// movements before reading its stock, to skip the locators that did not
// change.
func (e *Engine) countsWanted(now time.Time) bool {
	return e.cfg.cheapRefreshes() && e.countsAskable(now)
}

// countsAskable reports whether /stock/detail's counts are worth asking
// at now: not while a refusal or a missing meta.total has turned them off
// and the retry is not due.
func (e *Engine) countsAskable(now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.countsOff || !now.Before(e.countsRetry)
}

// countFirst reports whether a stock pass at now asks a locator's count of
// the day's movements before it reads the locator's stock, which it does
// only where the count can spare reads: never before a locator's first
// read (the locator must be read, and readiness waits for it), and only
// while the plan's cycle leaves reads to skip (countsPay). A count before
// a read that is due anyway is the baseline the next pass compares with.
func (e *Engine) countFirst(now time.Time) bool {
	e.mu.Lock()
	planned := e.countsPlanned
	e.mu.Unlock()
	return planned && e.countsWanted(now)
}

// unchanged asks how many movements locator id has today and reports
// whether its stock can be left as it is: its last read was of the same
// day, found the same number of movements, and will still be younger than
// the full stock interval at the next pass (so that no locator's stock
// gets older than that, whatever the cycle). due reports that nothing
// moved but the full stock interval calls for a full read. moves is the count, -1 when it could not be had; it was
// asked before the stock is read, so a movement posted in between makes
// the next count differ.
func (e *Engine) unchanged(ctx context.Context, logger log.Logger, id kartustok.ID, today string, now time.Time) (moves int, skip, due bool) {
	n, err := e.api.StockMovementCount(ctx, kartustok.StockDetailFilter{LocatorID: id, DateFrom: today, DateTo: today})
	if ctx.Err() != nil {
		return -1, false, false
	}
	if errors.Is(err, kartustok.ErrNoToken) {
		return -1, false, false // the stock read will say so
	}
	e.update(func(s *Snapshot) { e.applyCountCall(s, err) })
	if err != nil {
		if countsRefused(err) {
			e.countsUnavailable(logger, now, err)
		} else {
			level.Debug(logger).Log("msg", "Could not count a locator's movements; reading its stock in full", "locator_id", id, "err", err)
		}
		return -1, false, false
	}
	e.countsAvailable(logger)
	s := e.snap.Load()
	prev := s.Stock[id]
	cycle := max(e.cfg.StockInterval, s.Sync[ResourceStock].Cycle)
	if prev == nil || prev.Day != today || prev.Movements != n {
		return n, false, false
	}
	if now.Sub(prev.Fetched)+cycle > e.cfg.FullStockInterval {
		return n, false, true
	}
	e.update(func(s *Snapshot) { s.Sync[ResourceStock].Skipped++ })
	level.Debug(logger).Log("msg", "Locator unchanged; its stock is not read again", "locator_id", id, "movements_today", n)
	return n, true, false
}

// countsRefused reports whether a movement count failed because the API
// cannot give counts at all (no meta.total, or /stock/detail refused),
// rather than for this one request or locator.
func countsRefused(err error) bool {
	return errors.Is(err, kartustok.ErrNoTotal) || kartustok.KindOf(err) == kartustok.KindForbidden
}

// applyCountCall records what a movement count said of the token. A count
// refused with 403 says nothing of stock.read, which /stock/summary may
// still be granted, and one without a total nothing at all.
func (e *Engine) applyCountCall(s *Snapshot, err error) {
	if err != nil && countsRefused(err) {
		return
	}
	e.applyCall(s, kartustok.EndpointStockDetail, err)
}

// countsUnavailable falls back to full reads on every pass until the full
// stock interval has passed, and says so once.
func (e *Engine) countsUnavailable(logger log.Logger, now time.Time, err error) {
	e.mu.Lock()
	was := e.countsOff
	e.countsOff, e.countsRetry = true, now.Add(e.cfg.FullStockInterval)
	e.mu.Unlock()
	if !was {
		level.Warn(logger).Log("msg", "The API does not tell how many movements a locator has today (GET /stock/detail with meta.total): every stock pass reads every locator in full, which costs more requests; asked again every full stock interval",
			"full_stock_interval", e.cfg.FullStockInterval, "err", err)
	}
}

// countsAvailable ends the fallback of countsUnavailable.
func (e *Engine) countsAvailable(logger log.Logger) {
	e.mu.Lock()
	was := e.countsOff
	e.countsOff = false
	e.mu.Unlock()
	if was {
		level.Info(logger).Log("msg", "The API tells how many movements a locator has today again: unchanged locators are no longer read between full reads")
	}
}

// nextMidnight is the first instant of the day after t's in loc. Where
// daylight saving time starts at midnight (America/Santiago, for one) that
// day has no 00:00 and time.Date may give the hour before it, still on t's
// day: the start of the next day is then the first hour whose date is the
// next one.
func nextMidnight(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	next := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	ny, nm, nd := time.Date(y, m, d+1, 12, 0, 0, 0, loc).Date()
	for range 48 {
		if cy, cm, cd := next.In(loc).Date(); cy == ny && cm == nm && cd == nd && next.After(t) {
			return next
		}
		next = next.Add(30 * time.Minute)
	}
	return t.Add(24 * time.Hour) // unreachable for any real zone
}

// warnNoZone says, once, that stock is fetched before /meta/company has
// told the company's time zone (see zone.go). The catalog loop keeps
// asking for the company on its schedule.
func (e *Engine) warnNoZone(logger log.Logger) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.noZoneWarned {
		return
	}
	e.noZoneWarned = true
	reason := "not fetched yet"
	if e.companyErr != nil {
		reason = e.companyErr.Error()
	}
	level.Warn(logger).Log("msg", "Fetching stock without the company time zone: stock is read for the API's own today, and the day's flow and movements are not exported until the zone is known; /meta/company (scope meta.read) is retried every catalog interval",
		"reason", reason)
}

// expectedPages is what fetching a locator's stock will cost: its page
// count last time; before its first fetch, the most any locator took, or
// else the item list's page count (a locator has at most one row per item,
// and both lists come 100 rows a page). Called with mu held.
func (e *Engine) expectedPages(id kartustok.ID) int {
	if n, ok := e.locatorPages[id]; ok {
		return n
	}
	most := 0
	for _, n := range e.locatorPages {
		most = max(most, n)
	}
	if most > 0 {
		return most
	}
	return max(1, e.itemPages)
}

func isActive(ls []kartustok.Locator, id kartustok.ID) bool {
	for _, l := range ls {
		if l.ID == id {
			return l.Active
		}
	}
	return false
}

// stockEntries reduces the rows of one locator to what is exported. Rows of
// another locator are dropped, and an item seen twice (rows shift between
// pages while stock moves) keeps its last row, so no series is duplicated.
func stockEntries(locator kartustok.ID, rows []kartustok.StockRow) []StockEntry {
	return lastPerItem(locator, rows, func(r *kartustok.StockRow) (StockEntry, bool) {
		en := StockEntry{ItemID: r.ItemID, OnHand: float64(r.EndingQty)}
		if r.InQty != nil && r.OutQty != nil {
			en.In, en.Out, en.HasFlow = float64(*r.InQty), float64(*r.OutQty), true
		}
		if r.MinimumQty != nil {
			en.Minimum, en.HasMinimum = float64(*r.MinimumQty), true
		}
		return en, true
	})
}

// lastPerItem reduces the rows of one locator to one entry per item, in
// first-seen order, each from the item's last row: rows of another locator,
// and those entry refuses, are dropped.
func lastPerItem[E any](locator kartustok.ID, rows []kartustok.StockRow, entry func(*kartustok.StockRow) (E, bool)) []E {
	out := make([]E, 0, len(rows))
	index := make(map[kartustok.ID]int, len(rows))
	for i := range rows {
		r := &rows[i]
		if r.LocatorID != "" && r.LocatorID != locator {
			continue
		}
		en, ok := entry(r)
		if !ok {
			continue
		}
		if j, seen := index[r.ItemID]; seen {
			out[j] = en
			continue
		}
		index[r.ItemID] = len(out)
		out = append(out, en)
	}
	return out
}

// newLocatorStock is the stock of a locator fetched at now: its entries,
// and for each item whose row was skipped its last good entry from prev,
// while that is no older than maxAge. When a skipped row's item could not
// be read, every item of prev without a row now is carried, since any of
// them may be the one.
func newLocatorStock(locator kartustok.ID, now time.Time, entries []StockEntry, invalid []kartustok.InvalidRow, prev *LocatorStock, maxAge time.Duration) *LocatorStock {
	ls := &LocatorStock{Fetched: now, Rows: entries}
	if len(invalid) == 0 {
		return ls
	}
	for _, r := range invalid {
		switch {
		case r.LocatorID != "" && r.LocatorID != locator:
			// Another locator's row, which stockEntries drops too.
		case r.ID == "":
			ls.Unkeyed = true
		case !slices.Contains(ls.Skipped, r.ID):
			ls.Skipped = append(ls.Skipped, r.ID)
		}
	}
	if prev == nil {
		return ls
	}
	have := make(map[kartustok.ID]bool, len(entries))
	for _, en := range entries {
		have[en.ItemID] = true
	}
	carry := func(en StockEntry, fetched time.Time, day string) {
		if have[en.ItemID] || now.Sub(fetched) > maxAge || !ls.MayLack(en.ItemID) {
			return
		}
		have[en.ItemID] = true
		ls.Carried = append(ls.Carried, CarriedEntry{StockEntry: en, Fetched: fetched, Day: day})
	}
	for _, en := range prev.Rows {
		carry(en, prev.Fetched, prev.Day)
	}
	for _, c := range prev.Carried {
		carry(c.StockEntry, c.Fetched, c.Day)
	}
	return ls
}

// readDay reports whether a locator's next full read must be of the day,
// not of the 30 days that end today: its last 30-day read could not stand
// for a full read.
func (e *Engine) readDay(id kartustok.ID) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dayRead[id]
}
