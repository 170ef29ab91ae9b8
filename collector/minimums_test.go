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
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/refresh"
)

// tableMinimums is a Minimums from fixed tables, keyed by codes as a
// minimums file is. all, when set, is a default for every pair, as a
// category minimum would be.
type tableMinimums struct {
	stock map[[2]string]float64 // {locator code, item code}
	items map[string]float64    // item code
	all   *float64
	pairs map[string][]string
}

func (m *tableMinimums) StockMinimum(l *kartustok.Locator, it *kartustok.Item, apiValue float64, apiSet bool) (float64, bool) {
	if l == nil || it == nil {
		return apiValue, apiSet
	}
	if v, ok := m.stock[[2]string{l.Code, it.Code}]; ok {
		return v, true
	}
	if m.all != nil {
		return *m.all, true
	}
	return apiValue, apiSet
}

func (m *tableMinimums) ItemMinimum(it *kartustok.Item, apiValue float64, apiSet bool) (float64, bool) {
	if v, ok := m.items[it.Code]; ok {
		return v, true
	}
	return apiValue, apiSet
}

func (m *tableMinimums) MinimumPairs() map[string][]string { return m.pairs }

const minimumMetrics = `
# HELP kartustok_item_minimum_quantity Minimum quantity of an item across all warehouses, only when set: from the minimums file, else the item master's Minimum Quantity. Cached; refreshed in the background.
# TYPE kartustok_item_minimum_quantity gauge
# HELP kartustok_stock_minimum_quantity Minimum stock of an item in a locator (warehouse), only when set: from the minimums file, else KartuStok's per-warehouse minimum. Cached; refreshed in the background.
# TYPE kartustok_stock_minimum_quantity gauge
# HELP kartustok_stock_on_hand Stock on hand of an item in an active locator (warehouse), in the item's unit of measure, from /stock/summary; absent once older than --sync.max-staleness. Cached; refreshed in the background.
# TYPE kartustok_stock_on_hand gauge
`

// withHeaders places series under the HELP and TYPE lines of their metric.
func withHeaders(series ...string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(strings.TrimSpace(minimumMetrics), "\n") {
		b.WriteString(line + "\n")
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name = strings.Fields(name)[0]
			for _, s := range series {
				if strings.HasPrefix(s, name+"{") {
					b.WriteString(s + "\n")
				}
			}
		}
	}
	return b.String()
}

// compareMinimums compares the minimums and stock on hand h serves with
// series.
func compareMinimums(t *testing.T, h http.Handler, series ...string) {
	t.Helper()
	if err := testutil.GatherAndCompare(served(t, h), strings.NewReader(withHeaders(series...)),
		"kartustok_item_minimum_quantity", "kartustok_stock_minimum_quantity", "kartustok_stock_on_hand"); err != nil {
		t.Error(err)
	}
}

func TestMinimumsOverrideTheAPI(t *testing.T) {
	e := fixedEngine(t, fixedSnapshot(time.Now()))
	// The company is in per_warehouse mode: the item master's 40 is not
	// exported (see TestMinimumsFollowTheCompanysMode).
	api := []string{
		`kartustok_stock_minimum_quantity{company="sinarjaya",item_id="i1",locator_id="L1"} 5`,
		`kartustok_stock_on_hand{company="sinarjaya",item_id="i1",locator_id="L1"} 12.5`,
		`kartustok_stock_on_hand{company="sinarjaya",item_id="i2",locator_id="L1"} 0`,
	}
	t.Run("no minimums", func(t *testing.T) { compareMinimums(t, serveSource(e, nil), api...) })
	t.Run("nil minimums", func(t *testing.T) {
		compareMinimums(t, serveSource(e, func() Minimums { return nil }), api...)
	})
	t.Run("file beats API", func(t *testing.T) {
		m := &tableMinimums{
			stock: map[[2]string]float64{{"GDG-01", "KS-1"}: 60, {"GDG-01", "KS-2"}: 3},
			items: map[string]float64{"KS-1": 0, "KS-2": 7.5},
		}
		compareMinimums(t, serveSource(e, fixedMinimums(m)),
			// 0 is a real minimum, which overrides the API's 40.
			`kartustok_item_minimum_quantity{company="sinarjaya",item_id="i1"} 0`,
			`kartustok_item_minimum_quantity{company="sinarjaya",item_id="i2"} 7.5`,
			`kartustok_stock_minimum_quantity{company="sinarjaya",item_id="i1",locator_id="L1"} 60`,
			`kartustok_stock_minimum_quantity{company="sinarjaya",item_id="i2",locator_id="L1"} 3`,
			`kartustok_stock_on_hand{company="sinarjaya",item_id="i1",locator_id="L1"} 12.5`,
			`kartustok_stock_on_hand{company="sinarjaya",item_id="i2",locator_id="L1"} 0`,
		)
	})
	t.Run("unknown item keeps the API's value", func(t *testing.T) {
		s := fixedSnapshot(time.Now())
		s.Stock["L1"].Rows = append(s.Stock["L1"].Rows, refresh.StockEntry{ItemID: "gone", OnHand: 2, Minimum: 4, HasMinimum: true})
		all := 99.0
		compareMinimums(t, serveSource(fixedEngine(t, s), fixedMinimums(&tableMinimums{all: &all})),
			`kartustok_stock_minimum_quantity{company="sinarjaya",item_id="i1",locator_id="L1"} 99`,
			`kartustok_stock_minimum_quantity{company="sinarjaya",item_id="i2",locator_id="L1"} 99`,
			`kartustok_stock_minimum_quantity{company="sinarjaya",item_id="gone",locator_id="L1"} 4`,
			`kartustok_stock_on_hand{company="sinarjaya",item_id="i1",locator_id="L1"} 12.5`,
			`kartustok_stock_on_hand{company="sinarjaya",item_id="i2",locator_id="L1"} 0`,
			`kartustok_stock_on_hand{company="sinarjaya",item_id="gone",locator_id="L1"} 2`,
		)
	})
}

// pairSnapshot has, beside fixedSnapshot's L1 (rows for i1 and i2), an
// active locator L3 whose stock is stale, and items i3 (active, no row
// anywhere) and i4 (inactive, no row).
func pairSnapshot(now time.Time) *refresh.Snapshot {
	s := fixedSnapshot(now)
	s.Locators = append(s.Locators, kartustok.Locator{ID: "L3", Code: "GDG-03", Name: "Gudang Jauh", Active: true})
	s.Items = append(s.Items,
		kartustok.Item{ID: "i3", Code: "KS-3", Name: "Garam", CategoryID: "cat1", UOM: "kg", Active: true},
		kartustok.Item{ID: "i4", Code: "KS-4", Name: "Cuka", CategoryID: "cat1", UOM: "l", Active: false},
	)
	s.Stock["L3"] = &refresh.LocatorStock{Fetched: now.Add(-time.Hour), Rows: []refresh.StockEntry{{ItemID: "i1", OnHand: 1}}}
	return s
}

func TestMissingPairsExportedAsZero(t *testing.T) {
	e := fixedEngine(t, pairSnapshot(time.Now()))
	m := &tableMinimums{
		stock: map[[2]string]float64{
			{"GDG-01", "KS-1"}: 60, // has a row: exported once, with its balance
			{"GDG-01", "KS-3"}: 8,  // no row: on hand 0
			{"OLD", "KS-3"}:    8,  // inactive locator: its stock is not exported
			{"GDG-03", "KS-3"}: 8,  // stale locator: nothing is exported for it
			{"GDG-01", "KS-4"}: 8,  // inactive item
			{"NOPE", "KS-3"}:   8,  // no such locator
		},
		pairs: map[string][]string{
			"KS-1": {"GDG-01"},
			"KS-3": {"GDG-01", "OLD", "GDG-03", "NOPE"},
			"KS-4": {"GDG-01"},
			"KS-9": {"GDG-01"}, // no such item
		},
	}
	want := []string{
		`kartustok_stock_minimum_quantity{company="sinarjaya",item_id="i1",locator_id="L1"} 60`,
		`kartustok_stock_minimum_quantity{company="sinarjaya",item_id="i3",locator_id="L1"} 8`,
		`kartustok_stock_on_hand{company="sinarjaya",item_id="i1",locator_id="L1"} 12.5`,
		`kartustok_stock_on_hand{company="sinarjaya",item_id="i2",locator_id="L1"} 0`,
		`kartustok_stock_on_hand{company="sinarjaya",item_id="i3",locator_id="L1"} 0`,
	}
	compareMinimums(t, serveSource(e, fixedMinimums(m)), want...)

	t.Run("a minimum of 0 adds no series", func(t *testing.T) {
		m.stock[[2]string{"GDG-01", "KS-3"}] = 0
		defer func() { m.stock[[2]string{"GDG-01", "KS-3"}] = 8 }()
		compareMinimums(t, serveSource(e, fixedMinimums(m)), want[0], want[2], want[3])
	})
	t.Run("defaults for every warehouse add no series", func(t *testing.T) {
		all := 20.0
		compareMinimums(t, serveSource(e, fixedMinimums(&tableMinimums{all: &all})),
			`kartustok_stock_minimum_quantity{company="sinarjaya",item_id="i1",locator_id="L1"} 20`,
			`kartustok_stock_minimum_quantity{company="sinarjaya",item_id="i2",locator_id="L1"} 20`,
			want[2], want[3])
	})
	t.Run("lint", func(t *testing.T) {
		problems, err := testutil.GatherAndLint(served(t, serveSource(e, fixedMinimums(m))))
		require.NoError(t, err)
		assert.Empty(t, problems)
	})
}

// TestRendererReadsMinimumsOncePerScrape shows that a scrape uses one
// version of changing minimums throughout.
func TestRendererReadsMinimumsOncePerScrape(t *testing.T) {
	e := fixedEngine(t, fixedSnapshot(time.Now()))
	var calls atomic.Int32
	h := serveSource(e, func() Minimums {
		calls.Add(1)
		return &tableMinimums{}
	})
	require.NotEmpty(t, testkit.MustGather(t, served(t, h)))
	assert.Equal(t, int32(1), calls.Load(), "minimums read more than once in one scrape")
}

// TestMinimumsFollowTheCompanysMode checks that the API's minimums are
// exported only in the mode that uses them: a per-warehouse company with
// leftover item-master minimums must not get union alerts it never set up.
// File minimums apply in every mode.
func TestMinimumsFollowTheCompanysMode(t *testing.T) {
	itemMin := `kartustok_item_minimum_quantity{company="sinarjaya",item_id="i1"}`
	stockMin := `kartustok_stock_minimum_quantity{company="sinarjaya",item_id="i1",locator_id="L1"}`
	for _, tc := range []struct {
		mode      string
		noCompany bool // /meta/company not fetched (or meta.read refused)
		wantItem  bool
		wantStock bool
	}{
		{mode: kartustok.MinimumStockPerWarehouse, wantStock: true},
		{mode: kartustok.MinimumStockUnion, wantItem: true},
		{mode: kartustok.MinimumStockInactive},
		{mode: "per_item_and_moon_phase", wantItem: true, wantStock: true},
		{noCompany: true, wantItem: true, wantStock: true},
	} {
		name := tc.mode
		if tc.noCompany {
			name = "company unknown"
		}
		t.Run(name, func(t *testing.T) {
			snap := fixedSnapshot(time.Now())
			if tc.noCompany {
				snap.Company = nil
			} else {
				co := *snap.Company
				co.MinimumStockMode = tc.mode
				snap.Company = &co
			}
			e := fixedEngine(t, snap)
			ms := testkit.MustGather(t, served(t, serveSource(e, nil)))
			if _, ok := ms[itemMin]; ok != tc.wantItem {
				t.Errorf("%s exported: %v, want %v", itemMin, ok, tc.wantItem)
			}
			if _, ok := ms[stockMin]; ok != tc.wantStock {
				t.Errorf("%s exported: %v, want %v", stockMin, ok, tc.wantStock)
			}

			file := &tableMinimums{
				stock: map[[2]string]float64{{"GDG-01", "KS-1"}: 7},
				items: map[string]float64{"KS-1": 70},
			}
			ms = testkit.MustGather(t, served(t, serveSource(e, fixedMinimums(file))))
			if ms[itemMin] != 70 || ms[stockMin] != 7 {
				t.Errorf("with a minimums file: item %v, stock %v; want 70 and 7 whatever the mode", ms[itemMin], ms[stockMin])
			}
		})
	}
}
