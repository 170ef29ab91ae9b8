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
	"slices"
	"time"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

// Resource is one kind of data the engine keeps in sync; its name is the
// `resource` label of the kartustok_sync_* metrics.
type Resource int

// The resources, in the order the API's integration flow visits them.
const (
	ResourceHealth Resource = iota
	ResourceCompany
	ResourceCategories
	ResourceLocators
	ResourceItems
	ResourceStock
	// ResourceFlow is the 30-day flow and today's movement counts.
	ResourceFlow
	// NumResources is the number of resources, for arrays indexed by
	// Resource.
	NumResources
)

var resourceNames = [NumResources]string{"health", "company", "categories", "locators", "items", "stock", "flow"}

// String returns the resource's label value.
func (r Resource) String() string {
	if r < 0 || r >= NumResources {
		return "unknown"
	}
	return resourceNames[r]
}

// Status is the bookkeeping of one resource's refreshes.
type Status struct {
	// LastSuccess is when the last successful refresh ended; zero before.
	LastSuccess time.Time
	// LastDuration is how long the last refresh (successful or not) took.
	LastDuration time.Duration
	// Errors counts failed refreshes (for stock: failed locators).
	Errors uint64
	// PlannedRequests is what one full refresh is expected to cost.
	PlannedRequests int
	// Cycle is the effective refresh period after budget planning.
	Cycle time.Duration
	// Skipped counts refreshes left out because nothing changed (for
	// stock: locators whose movements of the day did not change).
	Skipped uint64
}

// LocatorStock is the stock of one locator as of one complete fetch. It is
// never modified after it is published: a newer fetch replaces it whole.
type LocatorStock struct {
	// Fetched is when the fetch that produced Rows completed.
	Fetched time.Time
	Rows    []StockEntry
	// Day is the company's date the rows were read for: their flow is
	// that day's. Movements is the number of movements /stock/detail
	// listed for the locator on Day just before the rows were read, or -1
	// when it was not asked: while it stays the same, nothing moved.
	Day       string
	Movements int
	// Skipped holds the items whose rows that fetch skipped because they
	// could not be used (kartustok.InvalidRow); Unkeyed is set when a
	// skipped row's item could not be read either. Such an item may have
	// stock although it has no row, so no stock is ever made up for it
	// (see PairMinimums).
	Skipped []kartustok.ID
	Unkeyed bool
	// Carried holds the last good entries of items whose rows were
	// skipped, each with the time of the fetch that read it: they are
	// exported until that is older than the max staleness, and never
	// refreshed by a fetch that skips them again.
	Carried []CarriedEntry
}

// CarriedEntry is a stock entry kept from an earlier fetch.
type CarriedEntry struct {
	StockEntry
	Fetched time.Time
	Day     string // the company's date the entry was read for
}

// MayLack reports whether the fetch may have lacked a row for item that
// the API has: it skipped that item's row, or a row whose item it could not
// read.
func (ls *LocatorStock) MayLack(item kartustok.ID) bool {
	return ls.Unkeyed || slices.Contains(ls.Skipped, item)
}

// StockEntry is one (locator, item) balance, reduced to what is exported so
// that large companies stay cheap to hold.
type StockEntry struct {
	ItemID  kartustok.ID
	OnHand  float64
	Minimum float64 // per-warehouse minimum, meaningful when HasMinimum
	// In and Out are what came in and went out on the LocatorStock's
	// Day, meaningful when HasFlow.
	In, Out    float64
	HasMinimum bool
	HasFlow    bool
}

// LocatorFlow is what the flow refresh last read of one locator: each part
// is the last good read of its own and is replaced whole.
type LocatorFlow struct {
	Period    *FlowPeriod
	Movements *MovementCounts
}

// FlowPeriod is what came into and went out of a locator over From..To
// (the company's dates, both included), per item.
type FlowPeriod struct {
	From, To string
	Fetched  time.Time
	Rows     []FlowEntry
}

// FlowEntry is one item's flow over a FlowPeriod.
type FlowEntry struct {
	ItemID  kartustok.ID
	In, Out float64
}

// MovementCounts is the number of a locator's movements on Day by
// transaction type, in the order of kartustok.TransactionTypes.
type MovementCounts struct {
	Day     string
	Fetched time.Time
	ByType  [len(kartustok.TransactionTypes)]int
}

// Snapshot is everything the exporter knows, as of one moment. A published
// Snapshot is immutable: the engine builds a new one for every change (maps
// and slices are copied before they are changed), so a scrape can read one
// without locks and never sees a half-applied update.
type Snapshot struct {
	// HealthKnown is set once a health check has completed.
	HealthKnown bool
	// Up is whether the last health check returned 200.
	Up bool

	// TokenKnown is set once the API has accepted or refused the token.
	TokenKnown bool
	// TokenValid is false after a 401, true after any accepted call.
	TokenValid bool
	// Scopes holds the scopes whose presence is known.
	Scopes map[string]bool
	// TokenExpiry is zero when unknown or when the token never expires.
	TokenExpiry time.Time
	// TokenLoadKnown is set once a call has tried to read the token;
	// TokenLoaded is whether the last one could (from the token file or
	// the environment). While it could not, no request is sent.
	TokenLoadKnown bool
	TokenLoaded    bool

	// Company is nil until /meta/company has answered.
	Company *kartustok.Company
	// Location is the company's time zone: the IANA zone /meta/company
	// names, else the UTC offset of the time /health reports; nil while
	// neither tells it, when the company's day is not known.
	Location *time.Location
	// CategoryNames maps category IDs to names, used when an item row
	// lacks its category's name.
	CategoryNames map[kartustok.ID]string
	// Locators and Items are the last good lists, unique by ID, in API order.
	Locators []kartustok.Locator
	Items    []kartustok.Item
	// LocatorsKnown and ItemsKnown are set once the lists have been fetched.
	LocatorsKnown bool
	ItemsKnown    bool

	// Stock holds the last good stock per active locator.
	Stock map[kartustok.ID]*LocatorStock
	// Flow holds the last flow read per active locator.
	Flow map[kartustok.ID]*LocatorFlow

	// Sync is the bookkeeping per resource, indexed by Resource.
	Sync [NumResources]Status

	// Off names the collectors the engine was configured without
	// (Config.Off): their families are not exported, whatever else the
	// snapshot holds.
	Off Collectors

	// Ready is set once every active locator's stock has been fetched.
	Ready bool

	// State is the bookkeeping of the state file.
	State StateStatus

	// CatalogVersion changes whenever the company, categories, locators
	// or items change (a refresh that finds them as they were leaves it),
	// so that what is derived from them can be cached.
	CatalogVersion uint64
}

// ActiveLocators returns the locators whose stock is fetched. Inactive
// locators are warehouses the company has retired: their stock is neither
// fetched nor exported (kartustok_locator_info still lists them with
// active="false"), which keeps the budget for the warehouses in use.
func (s *Snapshot) ActiveLocators() []kartustok.Locator {
	out := make([]kartustok.Locator, 0, len(s.Locators))
	for _, l := range s.Locators {
		if l.Active {
			out = append(out, l)
		}
	}
	return out
}
