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

package kartustoktest

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

type pairKey struct{ loc, item string }

// summary fetches every summary row of q, keyed by pair.
func (f *fixture) summary(t *testing.T, q url.Values) map[pairKey]map[string]any {
	t.Helper()
	out := map[pairKey]map[string]any{}
	for _, r := range f.all(t, "/stock/summary", q) {
		k := pairKey{r["locator_id"].(string), r["item_id"].(string)}
		if _, dup := out[k]; dup {
			t.Fatalf("pair %v twice in /stock/summary", k)
		}
		out[k] = r
	}
	return out
}

func TestSummaryAndDetailAgree(t *testing.T) {
	f := newFixture(t, Config{Locators: 3, Items: 120, NumberQuantities: 0.3})
	from, to, dayBefore := "2026-11-17", "2026-11-25", "2026-11-16"
	rangeRows := f.summary(t, url.Values{"date_from": {from}, "date_to": {to}})
	before := f.summary(t, url.Values{"date_from": {"2026-10-01"}, "date_to": {dayBefore}})
	moved := 0
	for k, r := range rangeRows {
		open, in, out, end := qtyOf(t, r["opening_qty"]), qtyOf(t, r["in_qty"]), qtyOf(t, r["out_qty"]), qtyOf(t, r["ending_qty"])
		if !near(open+in-out, end) || end < 0 {
			t.Errorf("%v: opening %v + in %v - out %v != ending %v", k, open, in, out, end)
		}
		if b, ok := before[k]; ok && !near(qtyOf(t, b["ending_qty"]), open) {
			t.Errorf("%v: opening %v, but the balance at the end of the day before was %v", k, open, b["ending_qty"])
		} else if !ok && open != 0 {
			t.Errorf("%v: opening %v without any earlier stock card", k, open)
		}
		if in+out > 0 {
			moved++
		}
	}
	if moved < len(rangeRows)/10 {
		t.Errorf("only %d of %d pairs moved in the range: history is too thin to test with", moved, len(rangeRows))
	}

	// /stock/detail lists the same movements, with a running balance per
	// item that starts at the opening balance.
	for _, loc := range f.c.LocatorIDs() {
		type acc struct{ in, out, bal float64 }
		sums := map[string]*acc{}
		detail := f.all(t, "/stock/detail", url.Values{"locator_id": {loc}, "date_from": {from}, "date_to": {to}})
		lastDate := ""
		for _, r := range detail {
			if r["locator_id"] != loc {
				t.Fatalf("detail row of locator %v in locator %v's list", r["locator_id"], loc)
			}
			date := r["date"].(string)
			if date < from || date > to || date < lastDate {
				t.Fatalf("detail row dated %s: outside [%s, %s] or out of order", date, from, to)
			}
			lastDate = date
			item := r["item_id"].(string)
			a := sums[item]
			if a == nil {
				a = &acc{bal: qtyOf(t, rangeRows[pairKey{loc, item}]["opening_qty"])}
				sums[item] = a
			}
			in, out := qtyOf(t, r["qty_in"]), qtyOf(t, r["qty_out"])
			a.in, a.out, a.bal = a.in+in, a.out+out, a.bal+in-out
			if !near(a.bal, qtyOf(t, r["balance"])) {
				t.Fatalf("%s/%s row %v: running balance %v", loc, item, r, a.bal)
			}
		}
		for k, r := range rangeRows {
			if k.loc != loc {
				continue
			}
			a := sums[k.item]
			if a == nil {
				a = &acc{}
			}
			if !near(a.in, qtyOf(t, r["in_qty"])) || !near(a.out, qtyOf(t, r["out_qty"])) {
				t.Errorf("%v: detail sums in %v out %v, summary %v %v", k, a.in, a.out, r["in_qty"], r["out_qty"])
			}
		}
		// transaction_type partitions the rows.
		n := 0
		for _, typ := range txNames {
			n += len(f.all(t, "/stock/detail", url.Values{"locator_id": {loc}, "date_from": {from}, "date_to": {to}, "transaction_type": {typ}}))
		}
		if n != len(detail) {
			t.Errorf("%s: %d rows by type, %d in all", loc, n, len(detail))
		}
	}

	// Today, with the default dates, ending_qty is the stock on hand, and
	// every stock card appears once.
	today := f.summary(t, url.Values{})
	unstocked := 0
	for _, loc := range f.c.LocatorIDs() {
		for _, item := range f.c.ItemIDs() {
			_, listed := today[pairKey{loc, item}]
			if listed != f.c.Stocked(loc, item) {
				t.Errorf("%s/%s: listed %v, Stocked %v", loc, item, listed, !listed)
			}
			if !listed {
				unstocked++
			}
		}
	}
	if unstocked == 0 {
		t.Error("every item is stocked in every locator; some must not be")
	}
	if len(today) != len(f.c.StockPairs()) {
		t.Errorf("%d rows today, %d stock cards", len(today), len(f.c.StockPairs()))
	}
	for _, p := range f.c.StockPairs() {
		r, ok := today[pairKey{p.LocatorID, p.ItemID}]
		if !ok || !near(qtyOf(t, r["ending_qty"]), f.c.OnHand(p.LocatorID, p.ItemID)) {
			t.Errorf("%v: row %v, on hand %v", p, r, f.c.OnHand(p.LocatorID, p.ItemID))
		}
	}
}

func TestSummaryFilters(t *testing.T) {
	f := newFixture(t, Config{Locators: 3, Items: 90})
	all := f.summary(t, url.Values{})
	loc, item, cat := f.c.LocatorIDs()[1], f.c.ItemIDs()[7], f.c.CategoryIDs()[1]
	for _, tc := range []struct {
		q    url.Values
		keep func(pairKey) bool
	}{
		{url.Values{"locator_id": {loc}}, func(k pairKey) bool { return k.loc == loc }},
		{url.Values{"item_id": {item}}, func(k pairKey) bool { return k.item == item }},
		{url.Values{"category_id": {cat}}, func(k pairKey) bool { it, _ := f.c.Item(k.item); return it.CategoryID == cat }},
		{url.Values{"locator_id": {loc}, "category_id": {cat}}, func(k pairKey) bool {
			it, _ := f.c.Item(k.item)
			return k.loc == loc && it.CategoryID == cat
		}},
	} {
		got := f.summary(t, tc.q)
		want := 0
		for k, r := range all {
			if !tc.keep(k) {
				continue
			}
			want++
			if g, ok := got[k]; !ok || g["ending_qty"] != r["ending_qty"] {
				t.Errorf("%v: %v missing or different: %v vs %v", tc.q, k, g, r)
			}
		}
		if len(got) != want || want == 0 {
			t.Errorf("%v: %d rows, want %d", tc.q, len(got), want)
		}
	}
	// Rows come in locator, then item order.
	rs := f.all(t, "/stock/summary", url.Values{})
	order := func(r map[string]any) [2]int {
		return [2]int{slices.Index(f.c.LocatorIDs(), r["locator_id"].(string)), slices.Index(f.c.ItemIDs(), r["item_id"].(string))}
	}
	for i := 1; i < len(rs); i++ {
		a, b := order(rs[i-1]), order(rs[i])
		if a[0] > b[0] || (a[0] == b[0] && a[1] >= b[1]) {
			t.Fatalf("rows %d and %d out of order", i-1, i)
		}
	}
}

func TestStepMovesStock(t *testing.T) {
	f := newFixture(t, Config{Locators: 3, Items: 60})
	yesterday := url.Values{"date_from": {"2026-11-26"}, "date_to": {"2026-11-26"}}
	before := f.summary(t, yesterday)
	detailToday := func() int {
		n := 0
		for _, loc := range f.c.LocatorIDs() {
			n += len(f.all(t, "/stock/detail", url.Values{"locator_id": {loc}}))
		}
		return n
	}
	n0 := detailToday()
	f.c.Step(40)
	if n := detailToday(); n < n0+40 {
		t.Errorf("after Step(40): %d rows today, was %d", n, n0)
	}
	f.clock.Advance(24 * time.Hour)
	f.c.Step(25)
	rows := f.all(t, "/stock/detail", url.Values{"locator_id": {f.c.LocatorIDs()[0]}, "date_from": {"2026-11-28"}, "date_to": {"2026-11-28"}})
	for _, r := range rows {
		if r["date"] != "2026-11-28" {
			t.Errorf("row dated %v, posted on 2026-11-28", r["date"])
		}
	}
	// The past does not change, and on hand follows the ledger.
	after := f.summary(t, yesterday)
	for k, r := range before {
		if after[k]["ending_qty"] != r["ending_qty"] {
			t.Errorf("%v: yesterday's ending changed from %v to %v", k, r["ending_qty"], after[k]["ending_qty"])
		}
	}
	for k, r := range f.summary(t, url.Values{}) {
		end := qtyOf(t, r["ending_qty"])
		if end < 0 || !near(end, f.c.OnHand(k.loc, k.item)) {
			t.Errorf("%v: ending %v, on hand %v", k, end, f.c.OnHand(k.loc, k.item))
		}
	}
}

func TestRunPostsOnATicker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewCompany(Config{Items: 40})
		n0 := len(c.rows)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { c.Run(ctx, time.Minute, 3); close(done) }()
		time.Sleep(5*time.Minute + time.Second)
		synctest.Wait()
		c.mu.RLock()
		docs := len(c.rows) - n0
		c.mu.RUnlock()
		if docs < 15 {
			t.Errorf("%d ledger rows after 5 ticks of 3 documents", docs)
		}
		cancel()
		<-done
	})
}

func TestMinimumModes(t *testing.T) {
	for _, mode := range []string{ModePerWarehouse, ModeUnion, ModeInactive} {
		for _, emitAll := range []bool{false, true} {
			f := newFixture(t, Config{Locators: 4, Items: 150, MinimumStockMode: mode, BelowMinimum: 0.1, EmitAllMinimums: emitAll})
			name := mode
			if emitAll {
				name += "+all"
			}
			sum := f.summary(t, url.Values{})
			items := f.all(t, "/items", url.Values{})
			pairMins, itemMins := 0, 0
			for k, r := range sum {
				m, ok := f.c.Minimum(k.loc, k.item)
				if r["minimum_qty"] != nil {
					pairMins++
					if !ok || !near(qtyOf(t, r["minimum_qty"]), m) {
						t.Errorf("%s: %v minimum %v, stored %v %v", name, k, r["minimum_qty"], m, ok)
					}
				}
			}
			for _, r := range items {
				if r["minimum_qty"] != nil {
					itemMins++
				}
			}
			wantPair := mode == ModePerWarehouse || emitAll
			wantItem := mode == ModeUnion || emitAll
			if (pairMins > 0) != wantPair || (itemMins > 0) != wantItem {
				t.Errorf("%s: %d rows and %d items carry a minimum", name, pairMins, itemMins)
			}
			if pairMins == len(sum) || itemMins == len(items) {
				t.Errorf("%s: every row has a minimum; some must be unset (null)", name)
			}

			// BelowMinimum is the truth the API shows.
			below := map[pairKey]bool{}
			for _, p := range f.c.BelowMinimum() {
				below[pairKey{p.LocatorID, p.ItemID}] = true
			}
			switch mode {
			case ModeInactive:
				if len(below) != 0 {
					t.Errorf("inactive mode: %d below minimum", len(below))
				}
			case ModePerWarehouse:
				withMin, zero := 0, 0
				for k := range sum {
					m, ok := f.c.Minimum(k.loc, k.item)
					if !ok {
						continue
					}
					withMin++
					onHand := f.c.OnHand(k.loc, k.item)
					if below[k] != (onHand < m) {
						t.Errorf("%v: on hand %v, minimum %v, BelowMinimum says %v", k, onHand, m, below[k])
					}
					if below[k] && onHand == 0 {
						zero++
					}
				}
				if share := float64(len(below)) / float64(withMin); share < 0.04 || share > 0.17 {
					t.Errorf("%.3f of pairs with a minimum are below it, configured 0.1", share)
				}
				if zero == 0 {
					t.Error("no pair below its minimum is out of stock")
				}
			case ModeUnion:
				total := map[string]float64{}
				for k, r := range sum {
					total[k.item] += qtyOf(t, r["ending_qty"])
				}
				n := 0
				for _, id := range f.c.ItemIDs() {
					if !near(total[id], f.c.ItemOnHand(id)) {
						t.Errorf("item %s: summary total %v, ItemOnHand %v", id, total[id], f.c.ItemOnHand(id))
					}
					if m, ok := f.c.ItemMinimum(id); ok {
						if below[pairKey{"", id}] != (total[id] < m) {
							t.Errorf("item %s: total %v, minimum %v, BelowMinimum %v", id, total[id], m, below[pairKey{"", id}])
						}
						n++
					}
				}
				if len(below) == 0 || len(below) > n/4 {
					t.Errorf("%d of %d items below their minimum", len(below), n)
				}
			}
		}
	}
}

func TestUnusualNamesSurvive(t *testing.T) {
	f := newFixture(t, Config{})
	for _, name := range UnusualNames {
		it, ok := f.c.ItemByName(name)
		if !ok {
			t.Fatalf("no item named %q", name)
		}
		w := f.do(f.tok, "/items/"+it.ID)
		raw := w.Body.Bytes()
		got := object(t, decodeAnswer(t, w, "/items/{id}", http.StatusOK))
		if got["name"] != name {
			t.Errorf("name %q came back as %q", name, got["name"])
		}
		// Laravel's json_encode escapes non-ASCII and "/" by default; the
		// body must be pure ASCII.
		for _, b := range raw {
			if b >= utf8.RuneSelf {
				t.Errorf("%q: raw non-ASCII byte in body %s", name, raw)
				break
			}
		}
		rows := rows(t, f.get(t, "/stock/summary?item_id="+it.ID+"&locator_id="+f.c.LocatorIDs()[0], http.StatusOK))
		if len(rows) != 1 || rows[0]["item_name"] != name {
			t.Errorf("%q: summary rows %v", name, rows)
		}
	}
	w := f.do(f.tok, "/items?q=cabai")
	if !bytes.Contains(w.Body.Bytes(), []byte(`\ud83c\udf36\ufe0f \/ Kecap`)) {
		t.Errorf("body not escaped as PHP does: %s", w.Body.String())
	}
}

func TestNumberQuantities(t *testing.T) {
	f := newFixture(t, Config{NumberQuantities: 0.5})
	strs, nums := 0, 0
	for _, r := range f.all(t, "/stock/summary", url.Values{}) {
		switch r["ending_qty"].(type) {
		case string:
			strs++
		case float64:
			nums++
		}
		if _, same := r["in_qty"].(string); same != func() bool { _, s := r["ending_qty"].(string); return s }() {
			t.Errorf("row mixes forms: %v", r)
		}
	}
	if strs == 0 || nums == 0 {
		t.Errorf("%d string and %d number rows, want both", strs, nums)
	}
}

func TestGenerationIsDeterministic(t *testing.T) {
	a := newFixture(t, Config{Seed: 7, Locators: 3, Items: 200})
	b := newFixture(t, Config{Seed: 7, Locators: 3, Items: 200})
	c := newFixture(t, Config{Seed: 8, Locators: 3, Items: 200})
	if !slices.Equal(a.c.ItemIDs(), b.c.ItemIDs()) || !slices.Equal(a.c.LocatorIDs(), b.c.LocatorIDs()) {
		t.Fatal("same seed, different IDs")
	}
	if slices.Equal(a.c.ItemIDs(), c.c.ItemIDs()) {
		t.Error("different seeds, same IDs")
	}
	q := "/stock/summary?per_page=100&page=2&date_from=2026-11-01"
	if x, y := a.do(a.tok, q).Body.String(), b.do(b.tok, q).Body.String(); x != y {
		t.Error("same seed, different stock")
	}
	a.c.Step(10)
	b.c.Step(10)
	q = "/stock/detail?per_page=100&locator_id=" + a.c.LocatorIDs()[0]
	if x, y := a.do(a.tok, q).Body.String(), b.do(b.tok, q).Body.String(); x != y {
		t.Error("same seed, different Step documents")
	}

	// IDs are unique across every kind of object.
	seen := map[string]bool{a.c.ID(): true}
	add := func(id string) {
		if !idRe.MatchString(id) || seen[id] {
			t.Fatalf("ID %q malformed or repeated", id)
		}
		seen[id] = true
	}
	for _, ids := range [][]string{a.c.CategoryIDs(), a.c.LocatorIDs(), a.c.ItemIDs()} {
		for _, id := range ids {
			add(id)
		}
	}
	for _, r := range a.c.rows {
		add(r.id)
	}
}

func TestQuantityFormat(t *testing.T) {
	for _, tc := range []struct {
		v    int64
		want string
	}{
		{0, "0.0000"}, {125000, "12.5000"}, {1, "0.0001"}, {-2500, "-0.2500"}, {-1234567, "-123.4567"}, {4000000, "400.0000"},
	} {
		if got := formatQty(tc.v); got != tc.want {
			t.Errorf("formatQty(%d) = %q, want %q", tc.v, got, tc.want)
		}
		if b, _ := (qty{v: tc.v}).MarshalJSON(); string(b) != `"`+tc.want+`"` {
			t.Errorf("string form %s", b)
		}
		if b, _ := (qty{v: tc.v, num: true}).MarshalJSON(); qtyOf(t, json.Number(b).String()) != float64(tc.v)/unit {
			t.Errorf("number form %s", b)
		}
	}
}

func TestCompanyDayIsInItsTimeZone(t *testing.T) {
	// 20:00 UTC on the 27th is 03:00 on the 28th in Jakarta: the date
	// defaults and the documents posted now follow the company's day.
	f := newFixture(t, Config{Items: 40})
	f.clock.Advance(13 * time.Hour)
	if got := f.c.Today(); got != "2026-11-28" {
		t.Fatalf("Today = %s, want 2026-11-28", got)
	}
	f.c.Step(30)
	loc := f.c.LocatorIDs()[0]
	b := f.get(t, "/stock/detail?per_page=100&locator_id="+loc, http.StatusOK)
	for _, r := range rows(t, b) {
		if r["date"] != "2026-11-28" {
			t.Errorf("default range returned a row dated %v", r["date"])
		}
	}
	utcDay := f.get(t, "/stock/detail?per_page=100&date_from=2026-11-27&date_to=2026-11-27&locator_id="+loc, http.StatusOK)
	for _, r := range rows(t, utcDay) {
		if r["date"] != "2026-11-27" {
			t.Errorf("the UTC date's range returned a row dated %v", r["date"])
		}
	}
	if b.Meta.Total == 0 {
		t.Error("no movement today in the first locator after 30 documents")
	}
	if h := object(t, f.get(t, "/health", http.StatusOK)); h["time"] != "2026-11-28T03:03:00+07:00" {
		t.Errorf("health time %v", h["time"])
	}
}

func TestLedgerInvariantsWhenTheClockGoesBack(t *testing.T) {
	// Documents dated before later ones are inserted in date order; every
	// running balance after them is recomputed and none goes negative.
	f := newFixture(t, Config{Locators: 2, Items: 15})
	for _, step := range []time.Duration{24 * time.Hour, 24 * time.Hour, -36 * time.Hour, -24 * time.Hour, 72 * time.Hour} {
		f.clock.Advance(step)
		f.c.Step(60)
	}
	for p, rs := range f.c.pairRows {
		var bal, in, out int64
		lastDay := int32(math.MinInt32)
		for _, k := range rs {
			r := f.c.rows[k]
			bal, in, out = bal+r.in-r.out, in+r.in, out+r.out
			if r.day < lastDay || r.bal != bal || r.cumIn != in || r.cumOut != out || r.bal < 0 {
				t.Fatalf("pair %d row %+v: recomputed balance %d in %d out %d", p, r, bal, in, out)
			}
			lastDay = r.day
		}
	}
	for l, rs := range f.c.locRows {
		for k := 1; k < len(rs); k++ {
			if f.c.rows[rs[k-1]].day > f.c.rows[rs[k]].day {
				t.Fatalf("locator %d rows out of date order at %d", l, k)
			}
		}
	}
}

func TestLongRunStaysLively(t *testing.T) {
	// The demo runs Step for hours: stock must neither run away nor dry
	// up, and pairs must keep crossing their minimums.
	f := newFixture(t, Config{Locators: 4, Items: 100, BelowMinimum: 0.1})
	var total0 float64
	for _, p := range f.c.StockPairs() {
		total0 += f.c.OnHand(p.LocatorID, p.ItemID)
	}
	below0 := len(f.c.BelowMinimum())
	crossed := map[Pair]bool{}
	for range 40 {
		f.clock.Advance(time.Hour)
		f.c.Step(1000)
		for _, p := range f.c.BelowMinimum() {
			crossed[p] = true
		}
	}
	var total float64
	for _, p := range f.c.StockPairs() {
		total += f.c.OnHand(p.LocatorID, p.ItemID)
	}
	below := len(f.c.BelowMinimum())
	t.Logf("stock %.0f -> %.0f, below minimum %d -> %d, %d pairs were below at some hour", total0, total, below0, below, len(crossed))
	if total < total0/2 || total > total0*2 {
		t.Errorf("total stock went from %.0f to %.0f after 40000 documents", total0, total)
	}
	if below == 0 || below > len(f.c.StockPairs())/2 {
		t.Errorf("%d pairs below minimum after 40000 documents (%d at start)", below, below0)
	}
	if len(crossed) < 2*below0 {
		t.Errorf("only %d pairs were ever below their minimum", len(crossed))
	}
}
