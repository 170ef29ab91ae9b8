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

package minimums

import (
	"fmt"
	"strings"

	"github.com/kartustok/kartustok_exporter/internal/yamlfile"
)

// Catalog is what the exporter knows of the company, to find file entries
// that match nothing in it. A nil field means "not known" (the token may lack
// the scope to list it) and skips that check; an empty, non-nil one means the
// company has none.
type Catalog struct {
	// ItemCodes are the codes of the company's items.
	ItemCodes []string
	// WarehouseCodes are the codes of the company's locators.
	WarehouseCodes []string
	// Categories are the company's item categories.
	Categories []Category
}

// Category identifies an item category of the company.
type Category struct {
	// ID is the category's public ID.
	ID string
	// Name is the category's name.
	Name string
}

// Check compares the set with the company's catalog and returns warnings, in
// file order, for entries that cannot take effect: codes, names and IDs that
// match nothing (a typo or an item since deleted) and category entries
// shadowed by another entry for the same category. A file with warnings is
// still valid and usable, since the catalog changes independently of the
// file; the exporter logs them after each load and catalog refresh.
func (s *Set) Check(c Catalog) []*Error {
	if s == nil {
		return nil
	}
	var warns []*Error
	warn := func(line int, path, format string, args ...any) {
		warns = append(warns, &Error{File: s.name, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
	}

	if c.Categories != nil {
		ids, names := newIndex(), newIndex()
		nameOfID := make(map[string]string, len(c.Categories))
		for _, cat := range c.Categories {
			ids.add(cat.ID)
			names.add(cat.Name)
			nameOfID[cat.ID] = cat.Name
		}
		// Names whose category is also given by id: those entries lose.
		shadowed := make(map[string]*category)
		for _, e := range s.categories {
			if e.id != "" && ids.has(e.id) {
				shadowed[nameOfID[e.id]] = e
			}
		}
		for _, e := range s.categories {
			path := fmt.Sprintf("%s[%d]", fieldCategories, e.index)
			switch {
			case e.id != "" && !ids.has(e.id):
				warn(e.line, yamlfile.Join(path, fieldID), "no category with id %q in KartuStok%s", e.id, ids.hint(e.id))
			case e.name != "" && !names.has(e.name):
				warn(e.line, yamlfile.Join(path, fieldName), "no category named %q in KartuStok%s", e.name, names.hint(e.name))
			case e.name != "" && shadowed[e.name] != nil:
				warn(e.line, path, "has no effect: category %q is also given by id at line %d, which takes precedence", e.name, shadowed[e.name].line)
			}
		}
	}

	items, warehouses := indexOf(c.ItemCodes), indexOf(c.WarehouseCodes)
	for _, it := range s.items {
		path := fmt.Sprintf("%s[%d]", fieldItems, it.index)
		if items != nil && !items.has(it.code) {
			warn(it.line, yamlfile.Join(path, fieldCode), "no item with code %q in KartuStok%s", it.code, items.hint(it.code))
		}
		if warehouses == nil {
			continue
		}
		for i, w := range it.warehouses {
			if !warehouses.has(w.code) {
				wPath := fmt.Sprintf("%s.%s[%d].%s", path, fieldWarehouses, i, fieldCode)
				warn(w.line, wPath, "no warehouse with code %q in KartuStok%s", w.code, warehouses.hint(w.code))
			}
		}
	}
	return warns
}

// index is a set of names that also finds near misses: the same name in
// another case or with stray spaces, the usual hand-editing slips.
type index struct {
	exact map[string]bool
	loose map[string]string
}

func newIndex() *index {
	return &index{exact: make(map[string]bool), loose: make(map[string]string)}
}

// indexOf indexes names; nil when the names are not known.
func indexOf(names []string) *index {
	if names == nil {
		return nil
	}
	x := newIndex()
	for _, n := range names {
		x.add(n)
	}
	return x
}

func (x *index) add(name string) {
	x.exact[name] = true
	x.loose[looseKey(name)] = name
}

func (x *index) has(name string) bool { return x.exact[name] }

// hint suggests the name meant, as a suffix for a warning.
func (x *index) hint(name string) string {
	if near, ok := x.loose[looseKey(name)]; ok {
		return fmt.Sprintf(" (did you mean %q?)", near)
	}
	return ""
}

func looseKey(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}
