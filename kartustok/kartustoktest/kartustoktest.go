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

// Package kartustoktest simulates one KartuStok company's public API, as
// described by the exporter's API contract: every endpoint and filter with
// the documented shapes, defaults and validation; tokens with scopes, expiry,
// revocation and allowed IPs; Laravel's fixed-window throttle; generated data
// of any size that moves over time; and fault injection. It is used by the
// tests and by the exporter's --demo mode.
//
// The wire shapes here are written from the contract independently of the
// client's decoding on purpose: a second encoding of the same [assumed]
// shapes is what makes the client's contract tests a real check.
//
// # Request pipeline
//
// A request passes the stages a Laravel application puts in front of a
// controller, in this order, and the first one that answers ends it:
//
//  1. routing: a path outside /public/v1 or not one of the documented
//     endpoints gets 404 {"status":"error","message":"Invalid URL"}; a method
//     other than GET or HEAD gets 405;
//  2. injected faults (see [Fault]): latency, then 5xx, HTML 502 and 429
//     storms, which stand for a proxy or an overloaded server in front of the
//     application;
//  3. authentication: a missing or unknown bearer token gets Laravel's bare
//     {"message":"Unauthenticated."}; an inactive, expired or revoked token
//     gets {"status":"error","message":…} naming the cause; all are 401;
//  4. the token's Allowed IPs: 403;
//  5. the throttle, keyed by token and client IP (it needs the token, so it
//     runs after authentication, as Laravel orders its auth and throttle
//     middleware); from here on every response carries X-RateLimit-Limit and
//     X-RateLimit-Remaining, and a rejected request (429) is not counted;
//  6. the token's scopes: 403;
//  7. validation (422) and the controller (200, or 404 for an unknown ID).
//
// Requests answered in stages 1 to 4 are not counted by the throttle and
// carry no X-RateLimit headers.
//
// # Stock
//
// Stock is derived from a ledger of complete documents (receipts, issues,
// moves and adjustments) dated in the company's time zone, exactly as
// /stock/summary and /stock/detail report it. A company is generated with
// opening balances received 30 days before its creation and some history on
// every day since, so date ranges have something to show. [Company.Step]
// posts new documents dated now. Quantities are exact (fixed point, four
// decimals) so sums in tests compare exactly.
package kartustoktest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
	_ "time/tzdata" // the company's time zone must resolve on any machine, also in a container without zoneinfo
)

// Config describes a generated company. Zero values take the defaults noted.
type Config struct {
	Seed       int64  // data generator seed (default 1)
	Name       string // default "PT Sinar Jaya Abadi"
	Subdomain  string // default "sinarjaya"
	Timezone   string // IANA name, default "Asia/Jakarta"
	Locators   int    // default 4
	Items      int    // default 250
	Categories int    // default 8
	// MinimumStockMode is "per_warehouse" (default), "union" or "inactive".
	MinimumStockMode string
	// BelowMinimum is the share (0..1) of (locator, item) pairs generated
	// below their minimum; default 0.05. A negative value means none. The
	// share is of the pairs that have a per-warehouse minimum and, for the
	// union minimum, of the items that have one; a third of the pairs below
	// are out of stock (zero). Later movements (Step) move it as they will.
	BelowMinimum float64
	// Now is the clock; default time.Now.
	Now func() time.Time

	// EmitAllMinimums makes the API report both the item master's minimum
	// (on /items) and the per-warehouse minimums (on /stock/summary)
	// whatever the mode, as a server that does not filter by mode would.
	// By default only the mode's own minimum is reported and, in mode
	// "inactive", neither: a client must trust minimum_stock_mode, not the
	// mere presence of a field.
	EmitAllMinimums bool
	// NumberQuantities is the share (0..1) of rows whose quantities are sent
	// as JSON numbers instead of decimal strings, so that a client meets
	// both forms the contract allows. Which rows is deterministic. Default 0.
	NumberQuantities float64
	// HistoryDocs is how many random documents the generator posts over
	// the 30 days before today, which is the flow a 30-day summary shows;
	// default a third of the (locator, item) pairs, at least 30 and at
	// most 40,000.
	HistoryDocs int
}

// Minimum stock modes, as /meta/company reports them.
const (
	ModeInactive     = "inactive"
	ModePerWarehouse = "per_warehouse"
	ModeUnion        = "union"
)

// Scopes a token can carry.
const (
	ScopeMeta     = "meta.read"
	ScopeItem     = "item.read"
	ScopeCategory = "category.read"
	ScopeLocator  = "locator.read"
	ScopeStock    = "stock.read"
)

// AllScopes is every scope, the default of a token.
var AllScopes = []string{ScopeMeta, ScopeItem, ScopeCategory, ScopeLocator, ScopeStock}

// TokenSpec describes an API token.
type TokenSpec struct {
	Name   string   // default "Prometheus"
	Scopes []string // nil means every scope
	// ExpiresAt is the expiry; zero means none.
	ExpiresAt time.Time
	// AllowedIPs restricts client IPs; empty allows all. Entries are
	// addresses ("10.0.0.7") or prefixes ("10.0.0.0/24").
	AllowedIPs []string
	// HideFromMeta leaves the token object out of /meta/company.
	HideFromMeta bool
	// Inactive creates the token with status inactive: it gets 401 until
	// SetTokenActive turns it on.
	Inactive bool
}

// Company is the simulated company's data. It is safe for concurrent use.
type Company struct {
	// mu guards what changes after NewCompany: the ledger, the tokens and
	// Step's randomness. The company's identity, time zone, mode,
	// categories, locators, items, their indexes and the minimums never
	// change once NewCompany returns, so the accessors that read only
	// those (ID, Location, MinimumStockMode, Locator, Item, Category,
	// Minimum, ItemMinimum, ...) take no lock.
	mu sync.RWMutex

	now       func() time.Time
	loc       *time.Location
	id        string
	name      string
	subdomain string
	mode      string
	emitAll   bool
	numShare  float64

	cats   []category
	locs   []locator
	items  []item
	catIdx map[string]int
	locIdx map[string]int
	itmIdx map[string]int

	// pairMin is the per-warehouse minimum of pair p = locator*len(items)+item,
	// in ten-thousandths; noMin when unset.
	pairMin []int64

	ledger

	// cards caches stockCards answers; it is valid while the ledger has
	// cardsVersion rows. It has its own lock because readers fill it.
	cardsMu      sync.Mutex
	cards        map[cardsKey][]int32
	cardsVersion int

	ids    idGen
	rng    *rand.Rand // Step's randomness, deterministic from the seed
	tokRng *rand.Rand
	tokens map[string]*token
}

type token struct {
	secret   string
	spec     TokenSpec
	active   bool
	revoked  bool
	lastUsed time.Time
}

// NewCompany generates a company from cfg. It panics on a time zone that
// does not exist or an unknown minimum stock mode: both are programming
// errors in a test or in the demo's fixed configuration.
func NewCompany(cfg Config) *Company {
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.Name == "" {
		cfg.Name = "PT Sinar Jaya Abadi"
	}
	if cfg.Subdomain == "" {
		cfg.Subdomain = "sinarjaya"
	}
	if cfg.Timezone == "" {
		cfg.Timezone = "Asia/Jakarta"
	}
	if cfg.Locators <= 0 {
		cfg.Locators = 4
	}
	if cfg.Items <= 0 {
		cfg.Items = 250
	}
	if cfg.Categories <= 0 {
		cfg.Categories = 8
	}
	switch cfg.MinimumStockMode {
	case "":
		cfg.MinimumStockMode = ModePerWarehouse
	case ModePerWarehouse, ModeUnion, ModeInactive:
	default:
		panic(fmt.Sprintf("kartustoktest: unknown minimum stock mode %q", cfg.MinimumStockMode))
	}
	switch {
	case cfg.BelowMinimum == 0:
		cfg.BelowMinimum = 0.05
	case cfg.BelowMinimum < 0:
		cfg.BelowMinimum = 0
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		panic(fmt.Sprintf("kartustoktest: time zone %q: %v", cfg.Timezone, err))
	}
	c := &Company{
		now:       cfg.Now,
		loc:       loc,
		name:      cfg.Name,
		subdomain: cfg.Subdomain,
		mode:      cfg.MinimumStockMode,
		emitAll:   cfg.EmitAllMinimums,
		numShare:  cfg.NumberQuantities,
		tokens:    map[string]*token{},
		cards:     map[cardsKey][]int32{},
		rng:       rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5354455053)),
		tokRng:    rand.New(rand.NewPCG(uint64(cfg.Seed), 0x544f4b454e)),
	}
	generate(c, cfg)
	return c
}

// AddToken creates a token and returns its secret value.
func (c *Company) AddToken(spec TokenSpec) string {
	if spec.Name == "" {
		spec.Name = "Prometheus"
	}
	if spec.Scopes == nil {
		spec.Scopes = AllScopes
	}
	spec.Scopes = append([]string(nil), spec.Scopes...)
	spec.AllowedIPs = append([]string(nil), spec.AllowedIPs...)
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		s := "ks_" + randBase62(c.tokRng, 40)
		if _, dup := c.tokens[s]; dup {
			continue
		}
		c.tokens[s] = &token{secret: s, spec: spec, active: !spec.Inactive}
		return s
	}
}

// RevokeToken revokes a token: it then gets 401.
func (c *Company) RevokeToken(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.tokens[token]; t != nil {
		t.revoked = true
	}
}

// SetTokenActive sets a token's status (active or inactive, as the "API
// Access" page toggles it); an inactive token gets 401.
func (c *Company) SetTokenActive(token string, active bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.tokens[token]; t != nil {
		t.active = active
	}
}

// SetLocatorActive sets a locator's is_active, as retiring a warehouse (or
// bringing it back) in KartuStok does. It reports whether the locator
// exists.
func (c *Company) SetLocatorActive(id string, active bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.locs {
		if c.locs[i].id == id {
			c.locs[i].active = active
			return true
		}
	}
	return false
}

// TokenLastUsed returns when the token last passed authentication (the
// "Last Used" column of the API Access page), zero if never.
func (c *Company) TokenLastUsed(token string) time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if t := c.tokens[token]; t != nil {
		return t.lastUsed
	}
	return time.Time{}
}

// TokenPrefix returns the prefix a token is shown with in lists and in
// /meta/company: its first seven characters.
func TokenPrefix(token string) string {
	const n = 7
	if len(token) <= n {
		return token
	}
	return token[:n]
}

// Step posts n random complete documents (receipts, issues, moves,
// adjustments) dated now, changing balances and /stock/detail.
func (c *Company) Step(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	day := dayOf(c.now(), c.loc)
	for range n {
		c.postRandom(c.rng, day, false)
	}
}

// Run calls Step(n) every interval until ctx is done, as a live company
// keeps posting documents; the demo runs it in the background.
func (c *Company) Run(ctx context.Context, every time.Duration, n int) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.Step(n)
		}
	}
}

// ID returns the company's opaque ID.
func (c *Company) ID() string { return c.id }

// Location returns the company's time zone.
func (c *Company) Location() *time.Location { return c.loc }

// Today returns the company's today as YYYY-MM-DD, the default of the
// stock endpoints' date filters.
func (c *Company) Today() string { return c.now().In(c.loc).Format(dateLayout) }

// MinimumStockMode returns the company's minimum stock mode.
func (c *Company) MinimumStockMode() string { return c.mode }

// Locator, Item and Balance give tests the expected truth.

// LocatorInfo describes a locator (warehouse) as /locators lists it.
type LocatorInfo struct {
	ID, Code, Name string
	Active         bool
}

// ItemInfo describes an item as /items lists it.
type ItemInfo struct {
	ID, Code, Name, UPC, Description, UOM string
	CategoryID                            string
	Active                                bool
}

// CategoryInfo describes an item category as /item-categories lists it.
type CategoryInfo struct {
	ID, Name, Description string
	Active                bool
}

// Pair names one (locator, item) stock card. In union mode BelowMinimum
// reports items, with LocatorID empty.
type Pair struct {
	LocatorID, ItemID string
}

// LocatorIDs returns every locator ID in API order.
func (c *Company) LocatorIDs() []string {
	out := make([]string, len(c.locs))
	for i, l := range c.locs {
		out[i] = l.id
	}
	return out
}

// ItemIDs returns every item ID in API order.
func (c *Company) ItemIDs() []string {
	out := make([]string, len(c.items))
	for i, it := range c.items {
		out[i] = it.id
	}
	return out
}

// CategoryIDs returns every item category ID in API order.
func (c *Company) CategoryIDs() []string {
	out := make([]string, len(c.cats))
	for i, ct := range c.cats {
		out[i] = ct.id
	}
	return out
}

// Locator looks a locator up by ID.
func (c *Company) Locator(id string) (LocatorInfo, bool) {
	i, ok := c.locIdx[id]
	if !ok {
		return LocatorInfo{}, false
	}
	l := c.locs[i]
	return LocatorInfo{ID: l.id, Code: l.code, Name: l.name, Active: l.active}, true
}

// Item looks an item up by ID.
func (c *Company) Item(id string) (ItemInfo, bool) {
	i, ok := c.itmIdx[id]
	if !ok {
		return ItemInfo{}, false
	}
	it := c.items[i]
	return ItemInfo{
		ID: it.id, Code: it.code, Name: it.name, UPC: it.upc, Description: it.desc,
		UOM: it.uom, CategoryID: c.cats[it.cat].id, Active: it.active,
	}, true
}

// Category looks an item category up by ID.
func (c *Company) Category(id string) (CategoryInfo, bool) {
	i, ok := c.catIdx[id]
	if !ok {
		return CategoryInfo{}, false
	}
	ct := c.cats[i]
	return CategoryInfo{ID: ct.id, Name: ct.name, Description: ct.desc, Active: ct.active}, true
}

// ItemByName returns the first item with exactly this name; tests use it to
// find the items named in UnusualNames.
func (c *Company) ItemByName(name string) (ItemInfo, bool) {
	for _, it := range c.items {
		if it.name == name {
			return c.Item(it.id)
		}
	}
	return ItemInfo{}, false
}

// pairOf returns the pair index of a (locator, item), or -1.
func (c *Company) pairOf(locatorID, itemID string) int {
	l, ok1 := c.locIdx[locatorID]
	i, ok2 := c.itmIdx[itemID]
	if !ok1 || !ok2 {
		return -1
	}
	return l*len(c.items) + i
}

// OnHand returns the current balance of an item in a locator.
func (c *Company) OnHand(locatorID, itemID string) float64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p := c.pairOf(locatorID, itemID)
	if p < 0 {
		return 0
	}
	return toFloat(c.balance(p))
}

// Stocked reports whether a (locator, item) pair has a stock card, that is
// any ledger row: only such pairs appear in /stock/summary.
func (c *Company) Stocked(locatorID, itemID string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p := c.pairOf(locatorID, itemID)
	return p >= 0 && len(c.pairRows[p]) > 0
}

// StockPairs returns every pair with a stock card, in /stock/summary order
// (locators in API order, then items in API order).
func (c *Company) StockPairs() []Pair {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []Pair
	for p, rs := range c.pairRows {
		if len(rs) > 0 {
			out = append(out, c.pairName(p))
		}
	}
	return out
}

func (c *Company) pairName(p int) Pair {
	return Pair{LocatorID: c.locs[p/len(c.items)].id, ItemID: c.items[p%len(c.items)].id}
}

// Minimum returns the per-warehouse minimum of an item in a locator as
// stored, whatever the mode; false when unset.
func (c *Company) Minimum(locatorID, itemID string) (float64, bool) {
	p := c.pairOf(locatorID, itemID)
	if p < 0 || c.pairMin[p] == noMin {
		return 0, false
	}
	return toFloat(c.pairMin[p]), true
}

// ItemMinimum returns the item master's Minimum Quantity (the union
// minimum) as stored, whatever the mode; false when unset.
func (c *Company) ItemMinimum(itemID string) (float64, bool) {
	i, ok := c.itmIdx[itemID]
	if !ok || c.items[i].min == noMin {
		return 0, false
	}
	return toFloat(c.items[i].min), true
}

// ItemOnHand returns an item's balance summed over every locator, what a
// union minimum is compared with.
func (c *Company) ItemOnHand(itemID string) float64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	i, ok := c.itmIdx[itemID]
	if !ok {
		return 0
	}
	return toFloat(c.itemTotal(i))
}

func (c *Company) itemTotal(i int) int64 {
	var sum int64
	for l := range c.locs {
		sum += c.balance(l*len(c.items) + i)
	}
	return sum
}

// BelowMinimum returns what is below its minimum now under the company's
// mode: in per_warehouse mode the stocked pairs whose balance is strictly
// less than their per-warehouse minimum; in union mode the items whose total
// over all locators is strictly less than the item master's minimum (with
// LocatorID empty); in inactive mode nothing.
func (c *Company) BelowMinimum() []Pair {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []Pair
	switch c.mode {
	case ModePerWarehouse:
		for p, m := range c.pairMin {
			if m != noMin && len(c.pairRows[p]) > 0 && c.balance(p) < m {
				out = append(out, c.pairName(p))
			}
		}
	case ModeUnion:
		for i, it := range c.items {
			if it.min != noMin && c.itemTotal(i) < it.min {
				out = append(out, Pair{ItemID: it.id})
			}
		}
	}
	return out
}
