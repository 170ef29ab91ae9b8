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

// Package collector exposes a cached picture of one KartuStok company to
// Prometheus: a Collector turns the latest refresh.Snapshot into metrics on
// each scrape, and APIMetrics counts the client's requests. Nothing here
// calls the API, so any number of scrapes costs the API nothing.
package collector

import (
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/refresh"
)

const namespace = "kartustok"

// cached ends the HELP of every metric read from the snapshot, because a
// caching exporter should say so.
const cached = " Cached; refreshed in the background."

// descSpec is what a Desc was built from, which a Desc does not tell.
type descSpec struct {
	help   string
	labels []string
}

// descSpecs holds the spec of every Desc newDesc built.
var descSpecs = map[*prometheus.Desc]descSpec{}

func newDesc(subsystem, name, help string, labels ...string) *prometheus.Desc {
	d := prometheus.NewDesc(prometheus.BuildFQName(namespace, subsystem, name), help, labels, nil)
	descSpecs[d] = descSpec{help: help, labels: labels}
	return d
}

var (
	upDesc = newDesc("", "up",
		"Whether the last health check (GET /health) got an answer: 1 for 200, or 429 while the API throttles; 0 for no answer, an error status or an unreadable answer."+cached)
	tokenLoadedDesc = newDesc("token", "loaded",
		"Whether the last attempt to read the API token (--kartustok.token-file or KARTUSTOK_TOKEN) succeeded (1) or not (0); while 0, no request is sent."+cached)
	tokenValidDesc = newDesc("token", "valid",
		"Whether the API accepts the token: 0 after a 401 (invalid, inactive, expired or revoked token), 1 after an accepted call."+cached)
	tokenScopeDesc = newDesc("token", "scope_granted",
		"Whether the token has the scope (1) or the API refused a call needing it (0), from the last such call or the scope list of /meta/company; absent until known."+cached,
		"scope")
	tokenExpiryDesc = newDesc("token", "expiry_timestamp_seconds",
		"Unix time at which the API token expires, from /meta/company or else --kartustok.token-expires-at; absent when unknown."+cached)
	companyInfoDesc = newDesc("company", "info",
		"Information about the KartuStok company, value 1."+cached,
		"company_id", "company_name", "subdomain", "timezone", "minimum_stock_mode")
	locatorInfoDesc = newDesc("locator", "info",
		"Information about a locator (warehouse), value 1; join it on locator_id for names."+cached,
		"locator_id", "locator_code", "locator_name", "active")
	itemInfoDesc = newDesc("item", "info",
		"Information about an item, value 1; join it on item_id for codes, names and units."+cached,
		"item_id", "item_code", "item_name", "category_id", "category_name", "uom", "active")
	stockOnHandDesc = newDesc("stock", "on_hand",
		"Stock on hand of an item in an active locator (warehouse), in the item's unit of measure, from /stock/summary; absent once older than --sync.max-staleness."+cached,
		"locator_id", "item_id")
	stockMinimumDesc = newDesc("stock", "minimum_quantity",
		"Minimum stock of an item in a locator (warehouse), only when set: from --stock.minimums-file, else KartuStok's per-warehouse minimum."+cached,
		"locator_id", "item_id")
	itemMinimumDesc = newDesc("item", "minimum_quantity",
		"Minimum quantity of an item across all warehouses, only when set: from --stock.minimums-file, else the item master's Minimum Quantity."+cached,
		"item_id")
	stockInflowDesc = newDesc("stock", "inflow_quantity",
		"Quantity of an item that came into an active locator (warehouse), in the item's unit, over the period: today (the company's day so far) or 30d (the last 30 days)."+cached,
		"locator_id", "item_id", "period")
	stockOutflowDesc = newDesc("stock", "outflow_quantity",
		"Quantity of an item that went out of an active locator (warehouse), in the item's unit; periods as for kartustok_stock_inflow_quantity."+cached,
		"locator_id", "item_id", "period")
	stockMovementsDesc = newDesc("stock", "movements",
		"Movements (stock card rows) of an active locator on the company's day so far, by transaction type (receipt, issue, move, adjustment)."+cached,
		"locator_id", "transaction_type")
	itemLeadTimeDesc = newDesc("item", "lead_time_seconds",
		"Time to restock an active item in seconds: lead_time_days in --stock.minimums-file (the item's, else its category's, else the file's), else 7 days."+cached,
		"item_id")
	rateLimitRemainingDesc = newDesc("api", "rate_limit_remaining",
		"Requests left in the API's rate-limit window, from the X-RateLimit-Remaining header of the last response that carried a plausible one (0 to X-RateLimit-Limit).")
	budgetDesc = newDesc("api", "request_budget",
		"Requests per rate-limit window the exporter allows itself (--kartustok.rate-limit times --kartustok.budget).")
	syncLastSuccessDesc = newDesc("sync", "last_success_timestamp_seconds",
		"Unix time at which the last successful refresh of the resource ended; absent until the first success.",
		"resource")
	syncDurationDesc = newDesc("sync", "duration_seconds",
		"Duration in seconds of the last refresh of the resource, successful or not.",
		"resource")
	syncErrorsDesc = newDesc("sync", "errors_total",
		"Failed refreshes of the resource; for stock, failed locator fetches.",
		"resource")
	syncPlannedDesc = newDesc("sync", "planned_requests",
		"Requests one full refresh of the resource needs, from the page counts of the last refresh.",
		"resource")
	syncSkippedDesc = newDesc("sync", "skipped_total",
		"Refreshes of the resource left out because nothing changed: for stock, locator reads skipped because the locator's count of the day's movements had not changed.",
		"resource")
	syncCycleDesc = newDesc("sync", "cycle_seconds",
		"Seconds between the starts of the resource's last two complete refresh cycles; until two have run, the interval (for stock, the period the budget plan predicts).",
		"resource")
)

// Minimums overrides the minimum quantities the API reports, e.g. from a
// minimums file for companies whose minimum-stock mode is Inactive.
// Implementations must be safe for concurrent use, since scrapes may run in
// parallel, and fast, since they are called once per series.
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
// collector therefore exports kartustok_stock_on_hand 0, with the pair's
// minimum, when all of these hold: the item and the locator are active in
// the catalog, the pair's minimum is above 0, the locator's stock is
// exported (its last successful fetch is within --sync.max-staleness), that
// fetch was a complete and consistent listing (the client verifies every
// paginated listing) with no row for the item, and it skipped no row that
// may be the item's (refresh.LocatorStock.Skipped and Unkeyed). The zero is what the
// fetch said, never a stand-in for a failed, partial or unreadable one. Minimums that apply to every warehouse (an
// item's or a category's default) are not pairs: synthesising them would add
// a series for every item in every warehouse.
type PairMinimums interface {
	Minimums
	// MinimumPairs returns, by item code, the codes of the warehouses
	// the item has a minimum of its own in. Callers must not modify it.
	MinimumPairs() map[string][]string
}

// Option configures a Collector.
type Option func(*Collector)

// WithRateLimit makes the collector export what r last saw of the API's
// rate limit.
func WithRateLimit(r RateLimitReporter) Option { return func(c *Collector) { c.rateLimit = r } }

// WithoutDerived leaves the families derived from the snapshot's catalog
// and stock (company, locator and item info, minimums, stock on hand) to a
// Renderer, which serves them from bytes rendered once per change.
func WithoutDerived() Option { return func(c *Collector) { c.skipDerived = true } }

// WithMinimums makes the collector export minimums resolved by m instead of
// the API's values.
func WithMinimums(m Minimums) Option {
	return WithMinimumsFunc(func() Minimums { return m })
}

// WithMinimumsFunc makes the collector export minimums resolved by the
// Minimums that f returns, for minimums that change while the exporter runs
// (a file reloaded on SIGHUP). Collect calls f once per scrape and uses the
// result throughout, so that one scrape never mixes two versions. f may
// return nil for the API's own values; it must be safe for concurrent use.
func WithMinimumsFunc(f func() Minimums) Option {
	return func(c *Collector) { c.minimums = f }
}

// Source is where a Collector reads the latest snapshot: a refresh.Engine.
type Source interface {
	// Snapshot returns the latest snapshot without blocking or calling
	// the API.
	Snapshot() *refresh.Snapshot
	// MaxStaleness is how long stock is exported after its last success.
	MaxStaleness() time.Duration
	// FlowMaxAge is how long a flow read is exported.
	FlowMaxAge() time.Duration
	// Budget is the requests per window the client allows itself.
	Budget() (requests int, window time.Duration)
}

var _ Source = (*refresh.Engine)(nil)

// RateLimitReporter reports what the API last said of its rate limit.
// *kartustok.Client implements it; reading it never sends a request.
type RateLimitReporter interface {
	RateLimit() kartustok.RateLimitStatus
}

var _ RateLimitReporter = (*kartustok.Client)(nil)

// Collector exports a Source's latest Snapshot. Collect reads one immutable
// snapshot and never calls the API, so concurrent scrapes are safe and cost
// nothing upstream.
type Collector struct {
	engine    Source
	rateLimit RateLimitReporter
	minimums  func() Minimums
	// skipDerived leaves the families derived from the catalog and stock
	// to a Renderer.
	skipDerived bool
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a collector of e's snapshots.
func NewCollector(e Source, opts ...Option) *Collector {
	c := &Collector{engine: e}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		upDesc, tokenLoadedDesc, tokenValidDesc, tokenScopeDesc, tokenExpiryDesc,
		companyInfoDesc, locatorInfoDesc, itemInfoDesc,
		stockOnHandDesc, stockMinimumDesc, itemMinimumDesc,
		stockInflowDesc, stockOutflowDesc, stockMovementsDesc, itemLeadTimeDesc,
		rateLimitRemainingDesc, budgetDesc,
		syncLastSuccessDesc, syncDurationDesc, syncErrorsDesc, syncPlannedDesc, syncCycleDesc, syncSkippedDesc,
	} {
		ch <- d
	}
}

// emit sends one metric. Label values come straight from the API; should
// one ever be unusable (invalid UTF-8 cannot come out of encoding/json, but
// the check is cheap), the scrape reports an error for that series instead
// of the process panicking.
func emit(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	ch <- m
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
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

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.engine.Snapshot()
	now := time.Now()
	sink := func(d *prometheus.Desc, v float64, labels ...string) {
		emit(ch, d, prometheus.GaugeValue, v, labels...)
	}
	c.collectLive(ch, s)
	if c.skipDerived {
		return
	}
	var mins Minimums
	if c.minimums != nil {
		mins = c.minimums()
	}
	useStockMin, useItemMin := apiMinimums(s)
	companySamples(s, sink)
	locatorSamples(s, sink)
	itemSamples(s, mins, useItemMin, sink)
	maxAge, flowAge := c.engine.MaxStaleness(), c.engine.FlowMaxAge()
	day := companyDay(s, now)
	for i := range s.Locators {
		l := &s.Locators[i]
		if ls := s.Stock[l.ID]; ls != nil && now.Sub(ls.Fetched) <= maxAge {
			stockSamples(s, l, ls, mins, useStockMin, now, day, maxAge, sink)
		}
		if lf := s.Flow[l.ID]; lf != nil && l.Active {
			flowSamples(l, lf, now, day, flowAge, sink)
		}
	}
}

// collectLive sends the small families that are not derived from the
// snapshot's catalog and stock: they change with every refresh and cost
// nothing to build.
func (c *Collector) collectLive(ch chan<- prometheus.Metric, s *refresh.Snapshot) {
	gauge := prometheus.GaugeValue
	if s.HealthKnown {
		emit(ch, upDesc, gauge, boolValue(s.Up))
	}
	if s.TokenLoadKnown {
		emit(ch, tokenLoadedDesc, gauge, boolValue(s.TokenLoaded))
	}
	if s.TokenKnown {
		emit(ch, tokenValidDesc, gauge, boolValue(s.TokenValid))
	}
	for scope, granted := range s.Scopes {
		emit(ch, tokenScopeDesc, gauge, boolValue(granted), scope)
	}
	if !s.TokenExpiry.IsZero() {
		emit(ch, tokenExpiryDesc, gauge, float64(s.TokenExpiry.Unix()))
	}
	if c.rateLimit != nil {
		if rl := c.rateLimit.RateLimit(); rl.Known {
			emit(ch, rateLimitRemainingDesc, gauge, float64(rl.Remaining))
		}
	}
	budget, _ := c.engine.Budget()
	emit(ch, budgetDesc, gauge, float64(budget))

	for r := range refresh.NumResources {
		st := &s.Sync[r]
		if st.Cycle == 0 && st.LastSuccess.IsZero() && st.Errors == 0 {
			continue // not refreshed at all (flow when it is off)
		}
		name := r.String()
		if !st.LastSuccess.IsZero() {
			emit(ch, syncLastSuccessDesc, gauge, float64(st.LastSuccess.UnixNano())/1e9, name)
		}
		emit(ch, syncDurationDesc, gauge, st.LastDuration.Seconds(), name)
		emit(ch, syncErrorsDesc, prometheus.CounterValue, float64(st.Errors), name)
		emit(ch, syncPlannedDesc, gauge, float64(st.PlannedRequests), name)
		emit(ch, syncCycleDesc, gauge, st.Cycle.Seconds(), name)
		if r == refresh.ResourceStock {
			emit(ch, syncSkippedDesc, prometheus.CounterValue, float64(st.Skipped), name)
		}
	}
}

// sampleSink receives one sample of a family derived from the snapshot.
// Collect turns it into a metric; the Renderer into a line of text.
type sampleSink func(d *prometheus.Desc, v float64, labels ...string)

// companySamples yields kartustok_company_info.
func companySamples(s *refresh.Snapshot, sink sampleSink) {
	if co := s.Company; co != nil {
		sink(companyInfoDesc, 1, string(co.ID), co.Name, co.Subdomain, co.Timezone, co.MinimumStockMode)
	}
}

// locatorSamples yields kartustok_locator_info.
func locatorSamples(s *refresh.Snapshot, sink sampleSink) {
	for i := range s.Locators {
		l := &s.Locators[i]
		sink(locatorInfoDesc, 1, string(l.ID), l.Code, l.Name, boolLabel(l.Active))
	}
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

// itemSamples yields kartustok_item_info, kartustok_item_lead_time_seconds
// and kartustok_item_minimum_quantity.
func itemSamples(s *refresh.Snapshot, mins Minimums, useItemMin bool, sink sampleSink) {
	lt, _ := mins.(LeadTimes)
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
		minimum, ok := apiMin, useItemMin && it.MinimumQty != nil
		if mins != nil {
			minimum, ok = mins.ItemMinimum(it, apiMin, ok)
		}
		if ok {
			sink(itemMinimumDesc, minimum, string(it.ID))
		}
	}
}

// stockSamples yields the kartustok_stock_on_hand and
// kartustok_stock_minimum_quantity of one locator whose stock ls is fresh
// at now: its rows, the rows its last fetch skipped while their last good
// value is no older than maxAge, and the pairs with a minimum of their own
// that it genuinely lacks (see PairMinimums).
func stockSamples(s *refresh.Snapshot, l *kartustok.Locator, ls *refresh.LocatorStock, mins Minimums, useStockMin bool, now time.Time, today string, maxAge time.Duration, sink sampleSink) {
	loc := string(l.ID)
	entry := func(r *refresh.StockEntry) {
		item := string(r.ItemID)
		sink(stockOnHandDesc, r.OnHand, loc, item)
		minimum, ok := r.Minimum, useStockMin && r.HasMinimum
		if mins != nil {
			minimum, ok = mins.StockMinimum(l, s.Item(r.ItemID), minimum, ok)
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
	flow := func(r *refresh.StockEntry, day string) {
		if r.HasFlow && day != "" && day == today {
			sink(stockInflowDesc, r.In, loc, string(r.ItemID), periodToday)
			sink(stockOutflowDesc, r.Out, loc, string(r.ItemID), periodToday)
		}
	}
	for i := range ls.Rows {
		flow(&ls.Rows[i], ls.Day)
	}
	for i := range ls.Carried {
		if c := &ls.Carried[i]; now.Sub(c.Fetched) <= maxAge {
			entry(&c.StockEntry)
			flow(&c.StockEntry, c.Day)
		}
	}
	pm, ok := mins.(PairMinimums)
	if !ok {
		return
	}
	miss := missingPairs(s, pm, l)
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
// of any other date are not today's. It is worked out at the scrape, so that they vanish at the
// company's midnight even while no refresh runs (a refused token, say).
func companyDay(s *refresh.Snapshot, now time.Time) string {
	if s.Location == nil {
		return "" // unknown: nothing is of the company's day
	}
	return now.In(s.Location).Format(time.DateOnly)
}

// The values of the period label of the flow families.
const (
	periodToday  = "today"
	period30Days = "30d"
)

// flowSamples yields the 30-day kartustok_stock_inflow_quantity and
// kartustok_stock_outflow_quantity and kartustok_stock_movements of one
// active locator: each part while its read is no older than maxAge, the
// movements only while they are of the company's day.
func flowSamples(l *kartustok.Locator, lf *refresh.LocatorFlow, now time.Time, today string, maxAge time.Duration, sink sampleSink) {
	loc := string(l.ID)
	if p := lf.Period; p != nil && now.Sub(p.Fetched) <= maxAge {
		for i := range p.Rows {
			r := &p.Rows[i]
			sink(stockInflowDesc, r.In, loc, string(r.ItemID), period30Days)
			sink(stockOutflowDesc, r.Out, loc, string(r.ItemID), period30Days)
		}
	}
	if m := lf.Movements; m != nil && today != "" && m.Day == today && now.Sub(m.Fetched) <= maxAge {
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
func missingPairs(s *refresh.Snapshot, m PairMinimums, l *kartustok.Locator) map[kartustok.ID]float64 {
	pairs := m.MinimumPairs()
	if len(pairs) == 0 || !l.Active {
		return nil
	}
	var out map[kartustok.ID]float64
	for i := range s.Items {
		it := &s.Items[i]
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
