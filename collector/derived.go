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
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/refresh"
)

// This file says what the families derived from the snapshot's catalog and
// stock hold; render.go renders them.

var (
	companyInfoDesc = newDesc("company", "info",
		"Information about the KartuStok company, value 1."+cached,
		"company_id", "company_name", "subdomain", "timezone", "minimum_stock_mode", "company")
	locatorInfoDesc = newDesc("locator", "info",
		"Information about a locator (warehouse), value 1; join it on locator_id for names."+cached,
		"locator_id", "locator_code", "locator_name", "active", "company")
	itemInfoDesc = newDesc("item", "info",
		"Information about an item, value 1; join it on item_id for codes, names and units."+cached,
		"item_id", "item_code", "item_name", "category_id", "category_name", "uom", "active", "company")
	stockOnHandDesc = newDesc("stock", "on_hand",
		"Stock on hand of an item in an active locator (warehouse), in the item's unit of measure, from /stock/summary; absent once older than --sync.max-staleness."+cached,
		"locator_id", "item_id", "company")
	stockMinimumDesc = newDesc("stock", "minimum_quantity",
		"Minimum stock of an item in a locator (warehouse), only when set: from the minimums file, else KartuStok's per-warehouse minimum."+cached,
		"locator_id", "item_id", "company")
	itemMinimumDesc = newDesc("item", "minimum_quantity",
		"Minimum quantity of an item across all warehouses, only when set: from the minimums file, else the item master's Minimum Quantity."+cached,
		"item_id", "company")
	stockInflowDesc = newDesc("stock", "inflow_quantity",
		"Quantity of an item that came into an active locator (warehouse), in the item's unit, over the period: today (the company's day so far) or 30d (the last 30 days)."+cached,
		"locator_id", "item_id", "period", "company")
	stockOutflowDesc = newDesc("stock", "outflow_quantity",
		"Quantity of an item that went out of an active locator (warehouse), in the item's unit; periods as for kartustok_stock_inflow_quantity."+cached,
		"locator_id", "item_id", "period", "company")
	stockMovementsDesc = newDesc("stock", "movements",
		"Movements (stock card rows) of an active locator on the company's day so far, by transaction type (receipt, issue, move, adjustment)."+cached,
		"locator_id", "transaction_type", "company")
	itemLeadTimeDesc = newDesc("item", "lead_time_seconds",
		"Time to restock an active item in seconds: lead_time_days in the minimums file (the item's, else its category's, else the file's), else 7 days."+cached,
		"item_id", "company")
)

// Minimums overrides the minimum quantities the API reports, e.g. from a
// minimums file for companies whose minimum-stock mode is Inactive.
// Implementations must be safe for concurrent use and fast, since they are
// called once per series whenever a locator is rendered, and comparable (a
// pointer, say): what was rendered with one is kept while the same one is
// in force.
type Minimums interface {
	// StockMinimum returns the minimum of item in locator. apiValue and
	// apiSet are what the API reported; item is nil when the catalog does
	// not know the item.
	StockMinimum(locator *kartustok.Locator, item *kartustok.Item, apiValue float64, apiSet bool) (float64, bool)
	// ItemMinimum returns the minimum of item across all warehouses.
	ItemMinimum(item *kartustok.Item, apiValue float64, apiSet bool) (float64, bool)
}

// PairMinimums is implemented by a Minimums that gives single (warehouse,
// item) pairs a minimum of their own, such as a minimums file's
// items[].warehouses[] entries.
//
// KartuStok's /stock/summary has a row for an item in a locator only once
// the item has had a balance or a movement there, so a warehouse that never
// received an item would have no kartustok_stock_on_hand series for it and
// could never alert, however high its minimum. For each pair named here the
// Renderer therefore exports kartustok_stock_on_hand 0, with the pair's
// minimum, when all of these hold: the item and the locator are active in
// the catalog, the pair's minimum is above 0, the locator's stock is
// exported (its last successful fetch is within --sync.max-staleness), that
// fetch was a complete and consistent listing (the client verifies every
// paginated listing) with no row for the item, and it skipped no row that
// may be the item's (refresh.LocatorStock.Skipped and Unkeyed). The zero is
// what the fetch said, never a stand-in for a failed, partial or unreadable
// one. Minimums that apply to every warehouse (an item's or a category's
// default) are not pairs: synthesising them would add a series for every
// item in every warehouse.
type PairMinimums interface {
	Minimums
	// MinimumPairs returns, by item code, the codes of the warehouses
	// the item has a minimum of its own in. Callers must not modify it.
	MinimumPairs() map[string][]string
}

// DefaultLeadTimeDays is an item's lead time when no minimums file sets
// one.
const DefaultLeadTimeDays = 7

// LeadTimes is implemented by a Minimums that also gives lead times.
type LeadTimes interface {
	// LeadTime returns the days it takes to restock item, and whether
	// anything sets it.
	LeadTime(item *kartustok.Item) (float64, bool)
}

// The values of the period label of the flow families.
const (
	periodToday  = "today"
	period30Days = "30d"
)

// sampleSink receives one sample of a family derived from the snapshot.
type sampleSink func(d *prometheus.Desc, v float64, labels ...string)

// derivation is what the derived families of one snapshot are worked out
// from at one instant.
type derivation struct {
	s *refresh.Snapshot
	// company is the value of every series' company label, the last label
	// of every derived family: the sinks add it.
	company string
	// items finds s's items by ID.
	items map[kartustok.ID]*kartustok.Item
	// mins overrides the API's minimums; nil keeps them.
	mins Minimums
	// useStockMin and useItemMin tell which of the API's minimums the
	// company's mode uses (see apiMinimums).
	useStockMin, useItemMin bool
	now                     time.Time
	// today is the company's date at now (see companyDay).
	today string
	// maxAge is how long stock is exported after its fetch, flowAge how
	// long a flow read is.
	maxAge, flowAge time.Duration
}

// newDerivation returns the derivation of s at now with the minimums mins
// and src's ages. items indexes s.Items by ID (see indexItems).
func newDerivation(src Source, s *refresh.Snapshot, items map[kartustok.ID]*kartustok.Item, mins Minimums, now time.Time, company string) *derivation {
	d := &derivation{
		s: s, company: company, items: items, mins: mins, now: now, today: companyDay(s, now),
		maxAge: src.MaxStaleness(), flowAge: src.FlowMaxAge(),
	}
	d.useStockMin, d.useItemMin = apiMinimums(s)
	return d
}

// indexItems indexes items by ID.
func indexItems(items []kartustok.Item) map[kartustok.ID]*kartustok.Item {
	m := make(map[kartustok.ID]*kartustok.Item, len(items))
	for i := range items {
		m[items[i].ID] = &items[i]
	}
	return m
}

// stockFresh reports whether the stock of a locator, ls, is exported: it
// is, until its last successful fetch is older than maxAge.
func (d *derivation) stockFresh(ls *refresh.LocatorStock) bool {
	return ls != nil && d.now.Sub(ls.Fetched) <= d.maxAge
}

// flowShown reports whether the flow of locator l, lf, is exported: of
// active locators only.
func flowShown(l *kartustok.Locator, lf *refresh.LocatorFlow) bool {
	return lf != nil && l.Active
}

func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// apiMinimums reports which of the API's minimums the company's
// minimum-stock mode uses. KartuStok keeps both kinds whatever the mode (an
// item master's Minimum Quantity left over from Union mode, say), but only
// the mode's own kind is what the company alerts on. While the mode is not
// known (/meta/company not fetched yet, or refused) or is one this exporter
// does not know, both are exported as set: hiding minimums on a guess would
// silence alerts.
func apiMinimums(s *refresh.Snapshot) (stock, item bool) {
	if s.Company == nil {
		return true, true
	}
	switch s.Company.MinimumStockMode {
	case kartustok.MinimumStockPerWarehouse:
		return true, false
	case kartustok.MinimumStockUnion:
		return false, true
	case kartustok.MinimumStockInactive:
		return false, false
	}
	return true, true
}

// companySamples yields kartustok_company_info.
func (d *derivation) companySamples(sink sampleSink) {
	if co := d.s.Company; co != nil {
		sink(companyInfoDesc, 1, string(co.ID), co.Name, co.Subdomain, co.Timezone, co.MinimumStockMode)
	}
}

// locatorSamples yields kartustok_locator_info.
func (d *derivation) locatorSamples(sink sampleSink) {
	for i := range d.s.Locators {
		l := &d.s.Locators[i]
		sink(locatorInfoDesc, 1, string(l.ID), l.Code, l.Name, boolLabel(l.Active))
	}
}

// itemSamples yields kartustok_item_info, kartustok_item_lead_time_seconds
// and kartustok_item_minimum_quantity.
func (d *derivation) itemSamples(sink sampleSink) {
	s := d.s
	lt, _ := d.mins.(LeadTimes)
	for i := range s.Items {
		it := &s.Items[i]
		category := it.CategoryName
		if category == "" {
			category = s.CategoryNames[it.CategoryID]
		}
		sink(itemInfoDesc, 1, string(it.ID), it.Code, it.Name, string(it.CategoryID), category, it.UOM, boolLabel(it.Active))
		if it.Active {
			days, ok := 0.0, false
			if lt != nil {
				days, ok = lt.LeadTime(it)
			}
			if !ok {
				days = DefaultLeadTimeDays
			}
			sink(itemLeadTimeDesc, days*86400, string(it.ID))
		}
		var apiMin float64
		if it.MinimumQty != nil {
			apiMin = float64(*it.MinimumQty)
		}
		minimum, ok := apiMin, d.useItemMin && it.MinimumQty != nil
		if d.mins != nil {
			minimum, ok = d.mins.ItemMinimum(it, apiMin, ok)
		}
		if ok {
			sink(itemMinimumDesc, minimum, string(it.ID))
		}
	}
}

// stockSamples yields the kartustok_stock_on_hand,
// kartustok_stock_minimum_quantity and the day's flow of one locator whose
// stock ls is fresh (see stockFresh): its rows, the rows its last fetch
// skipped while their last good value is no older than maxAge, and the
// pairs with a minimum of their own that it genuinely lacks (see
// PairMinimums).
func (d *derivation) stockSamples(l *kartustok.Locator, ls *refresh.LocatorStock, sink sampleSink) {
	loc := string(l.ID)
	entry := func(r *refresh.StockEntry) {
		item := string(r.ItemID)
		sink(stockOnHandDesc, r.OnHand, loc, item)
		minimum, ok := r.Minimum, d.useStockMin && r.HasMinimum
		if d.mins != nil {
			minimum, ok = d.mins.StockMinimum(l, d.items[r.ItemID], minimum, ok)
		}
		if ok {
			sink(stockMinimumDesc, minimum, loc, item)
		}
	}
	for i := range ls.Rows {
		entry(&ls.Rows[i])
	}
	// The day's flow, while the rows are of the company's day: after its
	// midnight they are the day before's until the locator is read again.
	// The rows bring it along at no cost, but it is the flow collector's.
	flow := func(r *refresh.StockEntry, day string) {
		if r.HasFlow && day != "" && day == d.today && !d.s.Off.Flow {
			sink(stockInflowDesc, r.In, loc, string(r.ItemID), periodToday)
			sink(stockOutflowDesc, r.Out, loc, string(r.ItemID), periodToday)
		}
	}
	for i := range ls.Rows {
		flow(&ls.Rows[i], ls.Day)
	}
	for i := range ls.Carried {
		if c := &ls.Carried[i]; d.now.Sub(c.Fetched) <= d.maxAge {
			entry(&c.StockEntry)
			flow(&c.StockEntry, c.Day)
		}
	}
	pm, ok := d.mins.(PairMinimums)
	if !ok {
		return
	}
	miss := d.missingPairs(pm, l)
	if len(miss) == 0 {
		return
	}
	for i := range ls.Rows {
		delete(miss, ls.Rows[i].ItemID)
	}
	// What is left are pairs with a minimum of their own and no row: the
	// warehouse has never held the item, unless the fetch skipped a row
	// that may be the item's.
	for item, minimum := range miss {
		if ls.MayLack(item) {
			continue
		}
		sink(stockOnHandDesc, 0, loc, string(item))
		sink(stockMinimumDesc, minimum, loc, string(item))
	}
}

// companyDay is the company's date at now, in its time zone as the
// snapshot knows it, "" while it knows none: the day's flow and movements
// of any other date are not today's. It is worked out when the families
// are, so that they vanish at the company's midnight even while no refresh
// runs (a refused token, say).
func companyDay(s *refresh.Snapshot, now time.Time) string {
	if s.Location == nil {
		return "" // unknown: nothing is of the company's day
	}
	return now.In(s.Location).Format(time.DateOnly)
}

// flowSamples yields the 30-day kartustok_stock_inflow_quantity and
// kartustok_stock_outflow_quantity and kartustok_stock_movements of one
// locator whose flow is shown (see flowShown): each part while its read is
// no older than flowAge and its collector is on, the movements only while
// they are of the company's day.
func (d *derivation) flowSamples(l *kartustok.Locator, lf *refresh.LocatorFlow, sink sampleSink) {
	loc := string(l.ID)
	if p := lf.Period; p != nil && !d.s.Off.Flow && d.now.Sub(p.Fetched) <= d.flowAge {
		for i := range p.Rows {
			r := &p.Rows[i]
			sink(stockInflowDesc, r.In, loc, string(r.ItemID), period30Days)
			sink(stockOutflowDesc, r.Out, loc, string(r.ItemID), period30Days)
		}
	}
	if m := lf.Movements; m != nil && !d.s.Off.Movements && d.today != "" && m.Day == d.today && d.now.Sub(m.Fetched) <= d.flowAge {
		for i, typ := range kartustok.TransactionTypes {
			sink(stockMovementsDesc, float64(m.ByType[i]), loc, typ)
		}
	}
}

// missingPairs resolves m's pairs for one active locator whose stock is
// exported: by item ID, the active items with a minimum above 0 of their
// own there. stockSamples removes those that have a stock row. Pairs the
// catalog does not know (a typo, a deleted item) are skipped; the minimums
// file's check reports them.
func (d *derivation) missingPairs(m PairMinimums, l *kartustok.Locator) map[kartustok.ID]float64 {
	pairs := m.MinimumPairs()
	if len(pairs) == 0 || !l.Active {
		return nil
	}
	var out map[kartustok.ID]float64
	for i := range d.s.Items {
		it := &d.s.Items[i]
		if !it.Active || !slices.Contains(pairs[it.Code], l.Code) {
			continue
		}
		minimum, ok := m.StockMinimum(l, it, 0, false)
		if !ok || !(minimum > 0) {
			continue // a minimum of 0 silences the pair: nothing to alert on
		}
		if out == nil {
			out = map[kartustok.ID]float64{}
		}
		out[it.ID] = minimum
	}
	return out
}
