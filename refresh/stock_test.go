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
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

func TestEngineDeduplicatesRows(t *testing.T) {
	rows := []kartustok.StockRow{
		{LocatorID: "A", ItemID: "x", EndingQty: 1},
		{LocatorID: "A", ItemID: "y", EndingQty: 2},
		{LocatorID: "A", ItemID: "x", EndingQty: 3},
		{LocatorID: "B", ItemID: "z", EndingQty: 4},
	}
	got := stockEntries("A", rows)
	want := []StockEntry{{ItemID: "x", OnHand: 3}, {ItemID: "y", OnHand: 2}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("entries = %v, want %v", got, want)
	}
}

func TestNewLocatorStockCarriesOnlySkippedRows(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	prev := &LocatorStock{Fetched: t0, Rows: []StockEntry{{ItemID: "a", OnHand: 1}, {ItemID: "b", OnHand: 2}, {ItemID: "c", OnHand: 3}}}
	now := t0.Add(time.Minute)
	entries := []StockEntry{{ItemID: "a", OnHand: 10}}

	// b's row skipped, c's genuinely gone: only b is carried, with the
	// time it was read.
	ls := newLocatorStock("L", now, entries, []kartustok.InvalidRow{{ID: "b", Field: "ending_qty"}}, prev, time.Hour)
	assert.Equal(t, []CarriedEntry{{StockEntry: StockEntry{ItemID: "b", OnHand: 2}, Fetched: t0}}, ls.Carried)
	assert.True(t, ls.MayLack("b"))
	assert.False(t, ls.MayLack("c"))

	// A skipped row whose item cannot be read: any missing item may be it.
	ls = newLocatorStock("L", now, entries, []kartustok.InvalidRow{{Field: "item_id"}}, prev, time.Hour)
	assert.Len(t, ls.Carried, 2)
	assert.True(t, ls.Unkeyed)
	assert.True(t, ls.MayLack("z"))

	// Carried again, an entry keeps its first time and expires by it.
	next := newLocatorStock("L", now.Add(40*time.Minute), entries, []kartustok.InvalidRow{{ID: "b"}}, ls, time.Hour)
	assert.Equal(t, t0, next.Carried[0].Fetched)
	gone := newLocatorStock("L", t0.Add(61*time.Minute), entries, []kartustok.InvalidRow{{ID: "b"}}, next, time.Hour)
	assert.Empty(t, gone.Carried, "past the max staleness nothing is carried")

	// Another locator's skipped row is not this one's.
	ls = newLocatorStock("L", now, entries, []kartustok.InvalidRow{{ID: "b", LocatorID: "M"}}, prev, time.Hour)
	assert.Empty(t, ls.Carried)
	assert.False(t, ls.MayLack("b"))
}

// TestNextMidnight: the first instant of the company's next day, also
// where that day starts at 01:00 because daylight saving time begins at
// midnight (Santiago on 15 October 2000), which time.Date alone places on
// the day before.
func TestNextMidnight(t *testing.T) {
	for _, tc := range []struct {
		zone string
		at   time.Time
		want string
	}{
		{"Asia/Jakarta", time.Date(2026, 12, 1, 16, 50, 0, 0, time.UTC), "2026-12-02T00:00:00+07:00"},
		{"Asia/Jakarta", time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC), "2026-12-03T00:00:00+07:00"},
		{"America/Santiago", time.Date(2000, 10, 14, 12, 0, 0, 0, time.UTC), "2000-10-15T01:00:00-03:00"},
		{"America/Santiago", time.Date(2000, 10, 15, 2, 59, 0, 0, time.UTC), "2000-10-15T01:00:00-03:00"},
		{"America/New_York", time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC), "2026-03-09T00:00:00-04:00"},
	} {
		loc, err := time.LoadLocation(tc.zone)
		require.NoError(t, err)
		got := nextMidnight(tc.at, loc)
		assert.Equal(t, tc.want, got.In(loc).Format(time.RFC3339), "%s at %s", tc.zone, tc.at)
		assert.True(t, got.After(tc.at))
	}
}
