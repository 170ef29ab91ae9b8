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
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"
)

// unit is one whole quantity: quantities are fixed point with four decimals,
// as the API prints them ("12.5000"), so that sums are exact.
const unit = 10000

// noMin marks an unset minimum.
const noMin = -1

const dateLayout = "2006-01-02"

func toFloat(q int64) float64 { return float64(q) / unit }

// formatQty prints a quantity the way the API does: "12.5000".
func formatQty(q int64) string { return string(appendQty(nil, q)) }

func appendQty(b []byte, q int64) []byte {
	if q < 0 {
		b, q = append(b, '-'), -q
	}
	b = strconv.AppendInt(b, q/unit, 10)
	frac := q % unit
	return append(b, '.', byte('0'+frac/1000), byte('0'+frac/100%10), byte('0'+frac/10%10), byte('0'+frac%10))
}

// dayOf returns the civil day of t in loc as days since 1970-01-01.
func dayOf(t time.Time, loc *time.Location) int32 {
	y, m, d := t.In(loc).Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func dayString(day int32) string {
	return time.Unix(int64(day)*86400, 0).UTC().Format(dateLayout)
}

// parseDay parses YYYY-MM-DD strictly, as Laravel's date_format:Y-m-d does.
func parseDay(s string) (int32, bool) {
	if len(s) != len(dateLayout) {
		return 0, false
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return 0, false
	}
	return int32(t.Unix() / 86400), true
}

type txType uint8

const (
	txReceipt txType = iota
	txIssue
	txMove
	txAdjustment
)

var (
	txNames    = [...]string{"receipt", "issue", "move", "adjustment"}
	txPrefixes = [...]string{"RCV", "ISS", "MOV", "ADJ"}
)

func (t txType) String() string { return txNames[t] }

// ledger holds the ledger rows and the indexes that answer the stock
// endpoints without rescanning it: every pair's rows and every locator's
// rows, each in (day, posting order), with running balance and cumulative
// in and out per pair stored on the row, so a date range is two binary
// searches.
type ledger struct {
	rows     []row
	docs     []doc
	pairRows [][]int32
	locRows  [][]int32
	docSeq   map[string]int
}

type row struct {
	id            string
	day           int32
	doc           int32
	pair          int32
	in, out       int64
	bal           int64 // balance of the pair after this row
	cumIn, cumOut int64 // of the pair, up to and including this row
}

type doc struct {
	no  string
	typ txType
}

// newDoc opens a document numbered per type and month, as RCV/2026/11/0042.
func (lg *ledger) newDoc(typ txType, day int32) int32 {
	t := time.Unix(int64(day)*86400, 0).UTC()
	key := fmt.Sprintf("%s/%04d/%02d", txPrefixes[typ], t.Year(), int(t.Month()))
	lg.docSeq[key]++
	lg.docs = append(lg.docs, doc{no: fmt.Sprintf("%s/%04d", key, lg.docSeq[key]), typ: typ})
	return int32(len(lg.docs) - 1)
}

// upperBound is the index of the first row in rs dated after day.
func (lg *ledger) upperBound(rs []int32, day int32) int {
	return sort.Search(len(rs), func(k int) bool { return lg.rows[rs[k]].day > day })
}

// lowerBound is the index of the first row in rs dated on or after day.
func (lg *ledger) lowerBound(rs []int32, day int32) int {
	return sort.Search(len(rs), func(k int) bool { return lg.rows[rs[k]].day >= day })
}

func insertAt(rs []int32, pos int, v int32) []int32 {
	rs = append(rs, 0)
	copy(rs[pos+1:], rs[pos:])
	rs[pos] = v
	return rs
}

// addRow posts one ledger row of document d. Rows are normally dated today
// and append; a row dated earlier is inserted in date order and the running
// figures after it are recomputed.
func (c *Company) addRow(d, day int32, p int, in, out int64) {
	idx := int32(len(c.rows))
	c.rows = append(c.rows, row{id: c.ids.next(), day: day, doc: d, pair: int32(p), in: in, out: out})

	rs := c.pairRows[p]
	pos := c.upperBound(rs, day)
	rs = insertAt(rs, pos, idx)
	c.pairRows[p] = rs
	var bal, ci, co int64
	if pos > 0 {
		prev := &c.rows[rs[pos-1]]
		bal, ci, co = prev.bal, prev.cumIn, prev.cumOut
	}
	for _, k := range rs[pos:] {
		r := &c.rows[k]
		bal += r.in - r.out
		ci += r.in
		co += r.out
		r.bal, r.cumIn, r.cumOut = bal, ci, co
	}

	l := p / len(c.items)
	lr := c.locRows[l]
	c.locRows[l] = insertAt(lr, c.upperBound(lr, day), idx)
}

// balance is a pair's balance after its last row.
func (c *Company) balance(p int) int64 {
	rs := c.pairRows[p]
	if len(rs) == 0 {
		return 0
	}
	return c.rows[rs[len(rs)-1]].bal
}

// available is the most a pair can give on day without any balance, then
// or later, going negative: normally its balance now, less when the clock
// went back and later rows already took stock.
func (c *Company) available(p int, day int32) int64 {
	rs := c.pairRows[p]
	pos := c.upperBound(rs, day)
	var avail int64
	if pos > 0 {
		avail = c.rows[rs[pos-1]].bal
	}
	for _, k := range rs[pos:] {
		avail = min(avail, c.rows[k].bal)
	}
	return avail
}

// span computes a /stock/summary row of pair p over [from, to]: ok is false
// when the pair has no row on or before to (no stock card yet).
func (c *Company) span(p int, from, to int32) (open, in, out, end int64, ok bool) {
	rs := c.pairRows[p]
	j := c.upperBound(rs, to)
	if j == 0 {
		return 0, 0, 0, 0, false
	}
	i := c.lowerBound(rs[:j], from)
	var ci0, co0 int64
	if i > 0 {
		r := &c.rows[rs[i-1]]
		open, ci0, co0 = r.bal, r.cumIn, r.cumOut
	}
	r := &c.rows[rs[j-1]]
	return open, r.cumIn - ci0, r.cumOut - co0, r.bal, true
}

// randQty draws a quantity of item i between lo and hi whole units; items
// counted in fractional units get decimals.
func (c *Company) randQty(rng *rand.Rand, i, lo, hi int) int64 {
	q := int64(lo+rng.IntN(hi-lo+1)) * unit
	if c.items[i].fractional {
		q += int64(rng.IntN(4)) * 2500
	}
	return q
}

// randomStocked picks a pair with a stock card (or any pair after a few
// misses, which starts a new one).
func (c *Company) randomStocked(rng *rand.Rand) int {
	n := len(c.pairRows)
	for range 8 {
		if p := rng.IntN(n); len(c.pairRows[p]) > 0 {
			return p
		}
	}
	return rng.IntN(n)
}

// postRandom posts one random complete document dated day. Issues, moves
// and negative adjustments never take more than is available, so balances
// never go negative, not even when the clock goes back; when there is
// nothing to take the document becomes a receipt. During generation
// (history) receipts only go to stocked pairs; later a receipt sometimes
// opens a new stock card, as a live company's do.
//
// Live documents (Step) consume a little more than ad-hoc receipts bring
// in, and a pair below its per-warehouse minimum is often restocked past
// it, as a purchase at the reorder point would: stock neither runs away
// nor dries up, and pairs keep crossing their minimums both ways.
func (c *Company) postRandom(rng *rand.Rand, day int32, history bool) {
	nItems := len(c.items)
	p := c.randomStocked(rng)
	if !history && rng.IntN(10) == 0 {
		p = rng.IntN(len(c.pairRows))
	}
	i := p % nItems
	bal := c.available(p, day)
	if m := c.pairMin[p]; !history && m != noMin && c.balance(p) < m && rng.IntN(3) == 0 {
		q := m - c.balance(p) + c.randQty(rng, i, 1, int(m/unit)+1)
		c.addRow(c.newDoc(txReceipt, day), day, p, q, 0)
		return
	}
	receipts, issueMax := 35, 60
	if !history {
		receipts, issueMax = 22, 80
	}
	x := rng.IntN(100)
	switch {
	case x < receipts || bal == 0:
		c.addRow(c.newDoc(txReceipt, day), day, p, c.randQty(rng, i, 5, 120), 0)
	case x < receipts+45:
		c.addRow(c.newDoc(txIssue, day), day, p, 0, min(bal, c.randQty(rng, i, 1, issueMax)))
	case x < receipts+60 && len(c.locs) > 1:
		to := (p/nItems + 1 + rng.IntN(len(c.locs)-1)) % len(c.locs)
		q := min(bal, c.randQty(rng, i, 1, 40))
		d := c.newDoc(txMove, day)
		c.addRow(d, day, p, 0, q)
		c.addRow(d, day, to*nItems+i, q, 0)
	default:
		d := c.newDoc(txAdjustment, day)
		if rng.IntN(2) == 0 {
			c.addRow(d, day, p, c.randQty(rng, i, 1, 10), 0)
		} else {
			c.addRow(d, day, p, 0, min(bal, c.randQty(rng, i, 1, 10)))
		}
	}
}

// numberForm reports whether the row with this ID sends its quantities as
// JSON numbers: a deterministic share of rows does when configured.
func (c *Company) numberForm(id string) bool {
	if c.numShare <= 0 {
		return false
	}
	var h uint32 = 2166136261
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return float64(h%10000)/10000 < c.numShare
}

// qty is a quantity on the wire: a decimal string by default, a JSON number
// when num is set.
type qty struct {
	v   int64
	num bool
}

// MarshalJSON prints "12.5000" or 12.5.
func (q qty) MarshalJSON() ([]byte, error) {
	if q.num {
		return strconv.AppendFloat(nil, toFloat(q.v), 'f', -1, 64), nil
	}
	b := make([]byte, 0, 24)
	b = append(b, '"')
	return append(appendQty(b, q.v), '"'), nil
}

// optQty is a minimum on the wire: null when unset.
func optQty(v int64, num, emit bool) *qty {
	if !emit || v == noMin {
		return nil
	}
	return &qty{v: v, num: num}
}
