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

// Package minimums reads the minimums file: minimum stock levels that a
// company keeps for kartustok_exporter instead of (or on top of) the ones in
// KartuStok. Many companies run KartuStok with the minimum-stock mode
// Inactive, so the API reports no minimum at all and no low-stock alert could
// ever fire; the file fills that gap, and where KartuStok does report a
// minimum, the file's value wins.
//
// The file is YAML, meant to be edited by hand:
//
//	# Minimum stock levels for kartustok_exporter.
//	# Values here override the company's own minimums in KartuStok.
//	categories:               # defaults for every item of a category
//	  - name: Bahan Baku      # the category's name as in KartuStok, or `id:` its public ID (one of the two)
//	    minimum: 20           # minimum in each warehouse
//	    total_minimum: 50     # minimum of the item's total across all warehouses
//	items:
//	  - code: KS-00001        # the item's code in KartuStok
//	    minimum: 10           # minimum in each warehouse
//	    total_minimum: 40     # minimum of the total across all warehouses
//	    warehouses:           # exceptions for single warehouses, by warehouse code
//	      - code: GDG-01
//	        minimum: 60
//
// Both lists may be absent or empty, so "items: []" (or "{}") is a valid file
// that sets nothing: that is how every minimum is cleared on purpose. A file
// with no YAML document at all (empty, or only blank lines and comments), or
// whose document is null (a bare "---", "null" or "~"), is an error instead,
// so that a file truncated or half-written while being edited cannot
// silently drop every minimum on a reload. Every entry sets at least one of
// minimum, total_minimum or (for items) warehouses. Quantities are
// decimal numbers ≥ 0 in the item's unit (12, 12.5, 1e3); 0 is a real minimum,
// which is how an item whose KartuStok minimum is wrong is silenced. Codes and
// names are matched exactly as KartuStok spells them (case and spaces count).
//
// The minimum of an item in one warehouse is the first that is set of: the
// item's entry for that warehouse, the item's minimum, its category's
// minimum, and finally KartuStok's own. The minimum of an item's total across
// warehouses is the item's total_minimum, else its category's total_minimum,
// else KartuStok's. A category given by id takes precedence over one given by
// name when both match an item.
//
// Decoding is strict: unknown fields, duplicate entries, negative or
// non-finite numbers, empty codes, no YAML document or more than one, and
// anything that is not a mapping at the top are errors, each naming the file
// and, where there is one, the line and the field, for example
//
//	minimums.yml:7: items[0].warehouses[1].minimum: must be a number ≥ 0, got "abc"
//
// Whether a code, name or ID exists in KartuStok cannot be known when the
// file is read, before the catalog is; Set.Check reports the entries that
// match nothing once it is, with a hint when only case or spacing differs.
//
// A *Set is immutable once parsed and safe for concurrent use, so a reload can
// swap it atomically while scrapes read the previous one.
//
// A Reloader is the file as the exporter runs it: it resolves the minimums
// the collector exports (file first, then KartuStok's), reloads the file on
// request while keeping the previous one in force when the new one fails to
// load, logs the entries that match nothing in the catalog, and exports the
// kartustok_config_last_reload_* gauges.
package minimums

import "fmt"

// Set is a parsed minimums file. The nil *Set stands for "no file": every
// lookup on it reports not-set, so callers need no special case.
type Set struct {
	name       string
	leadTime   optional // the file-wide lead_time_days
	categories []*category
	items      []*item

	// Lookup indexes, built once so that lookups, which run for every
	// series when the exporter builds a snapshot, are map hits.
	byItem    map[string]*item
	byCatID   map[string]*category
	byCatName map[string]*category
}

// category is one entry of the categories list; exactly one of id and name
// is non-empty.
type category struct {
	line, index  int
	id, name     string
	minimum      optional
	totalMinimum optional
	leadTime     optional
}

// item is one entry of the items list.
type item struct {
	line, index  int
	code         string
	minimum      optional
	totalMinimum optional
	leadTime     optional
	warehouses   []warehouse
	byWarehouse  map[string]float64
}

// warehouse is one entry of an item's warehouses list.
type warehouse struct {
	line    int
	code    string
	minimum float64
}

// optional is a quantity that may be absent; absent and zero differ, since a
// zero minimum is a deliberate override.
type optional struct {
	value float64
	set   bool
}

// Load reads and parses the minimums file at path. Errors name the path as
// given, so operators see the file they configured. A file being rewritten
// in place is read once it has settled, as described at Reloader; one that
// does not settle within two seconds is an error saying to write it
// atomically.
func Load(path string) (*Set, error) {
	data, err := readSettled(path)
	if err != nil {
		return nil, fmt.Errorf("reading minimums file: %w", err)
	}
	return Parse(path, data)
}

// Minimum returns the minimum stock of an item in one warehouse as set by the
// file, and false when the file sets none there, in which case KartuStok's
// own minimum (if any) applies. The arguments are what the exporter's catalog
// holds: the locator's code, and the item's code, category ID and category
// name. Empty arguments match nothing.
func (s *Set) Minimum(locatorCode, itemCode, categoryID, categoryName string) (float64, bool) {
	if s == nil {
		return 0, false
	}
	if it := s.byItem[itemCode]; it != nil {
		if v, ok := it.byWarehouse[locatorCode]; ok {
			return v, true
		}
		if it.minimum.set {
			return it.minimum.value, true
		}
	}
	if c := s.category(categoryID, categoryName); c != nil && c.minimum.set {
		return c.minimum.value, true
	}
	return 0, false
}

// TotalMinimum returns the minimum of an item's stock summed over all
// warehouses as set by the file, and false when the file sets none, in which
// case KartuStok's own (the item master's Minimum Quantity) applies.
func (s *Set) TotalMinimum(itemCode, categoryID, categoryName string) (float64, bool) {
	if s == nil {
		return 0, false
	}
	if it := s.byItem[itemCode]; it != nil && it.totalMinimum.set {
		return it.totalMinimum.value, true
	}
	if c := s.category(categoryID, categoryName); c != nil && c.totalMinimum.set {
		return c.totalMinimum.value, true
	}
	return 0, false
}

// LeadTime returns the days it takes to restock an item as set by the
// file: the item's lead_time_days, else its category's, else the file's;
// false when none is set.
func (s *Set) LeadTime(itemCode, categoryID, categoryName string) (float64, bool) {
	if s == nil {
		return 0, false
	}
	if it := s.byItem[itemCode]; it != nil && it.leadTime.set {
		return it.leadTime.value, true
	}
	if c := s.category(categoryID, categoryName); c != nil && c.leadTime.set {
		return c.leadTime.value, true
	}
	if s.leadTime.set {
		return s.leadTime.value, true
	}
	return 0, false
}

// category finds the category entry for an item: the one given by id wins
// over the one given by name, because IDs survive a category being renamed.
func (s *Set) category(id, name string) *category {
	if c := s.byCatID[id]; c != nil {
		return c
	}
	return s.byCatName[name]
}

// ItemCodes returns the codes of the items the file lists, in file order.
// KartuStok lists stock only for items with a balance or a movement in a
// warehouse, so an item given a minimum here may have no stock row at all;
// this lets the exporter find those and report them as empty rather than
// leave them out of low-stock alerts.
func (s *Set) ItemCodes() []string {
	if s == nil {
		return nil
	}
	codes := make([]string, len(s.items))
	for i, it := range s.items {
		codes[i] = it.code
	}
	return codes
}

// WarehouseCodes returns the warehouse codes the file gives the item its own
// minimum in, in file order; nil when the item is not listed or has none.
func (s *Set) WarehouseCodes(itemCode string) []string {
	if s == nil {
		return nil
	}
	it := s.byItem[itemCode]
	if it == nil || len(it.warehouses) == 0 {
		return nil
	}
	codes := make([]string, len(it.warehouses))
	for i, w := range it.warehouses {
		codes[i] = w.code
	}
	return codes
}

// Name returns the file name the set was parsed from, as given to Load or
// Parse; empty for the nil set.
func (s *Set) Name() string {
	if s == nil {
		return ""
	}
	return s.name
}

// Len returns the number of entries in the file (categories plus items), the
// figure worth logging after a load; 0 for the nil set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.categories) + len(s.items)
}

// Summary counts what a minimums file sets, for logs and metrics.
type Summary struct {
	// Categories is the number of category entries.
	Categories int
	// Items is the number of item entries.
	Items int
	// Warehouses is the number of per-warehouse entries over all items.
	Warehouses int
}

// Summary counts the set's entries; the zero Summary for the nil set.
func (s *Set) Summary() Summary {
	if s == nil {
		return Summary{}
	}
	sum := Summary{Categories: len(s.categories), Items: len(s.items)}
	for _, it := range s.items {
		sum.Warehouses += len(it.warehouses)
	}
	return sum
}
