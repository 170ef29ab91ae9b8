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
	"math/bits"
	"math/rand/v2"
	"strings"
)

// UnusualNames are item names that exercise JSON encoding and label
// escaping: quotes, a backslash, a newline and non-ASCII text. Every company
// with more than len(UnusualNames) items gives them to the items with codes
// KS-00002 onwards; ItemByName finds them.
var UnusualNames = []string{
	`Kopi "Toraja" 250g`,
	`Baut M8\Galvanis`,
	"Gula\nPasir",
	"Cabai Rawit 🌶️ / Kecap Manis Bango",
	"Crème brûlée <Premium> & Ñandú – 1½ kg",
}

type category struct {
	id, name, desc string
	active         bool
}

type locator struct {
	id, code, name string
	active         bool
}

type item struct {
	id, code, name, upc, desc, uom string
	cat                            int
	min                            int64 // item master minimum, noMin when unset
	active                         bool
	fractional                     bool // its unit allows fractional quantities
}

var categoryNames = [][2]string{
	{"Bahan Baku", "Raw material"},
	{"Barang Jadi", "Finished goods"},
	{"Kemasan", "Packaging"},
	{"Sparepart", "Spare parts for machines"},
	{"ATK", "Alat tulis kantor"},
	{"Bahan Kimia", "Chemicals, store away from food"},
	{"Makanan & Minuman", "Food and beverages"},
	{"Perkakas", "Tools"},
	{"Elektrikal", "Cables, lamps, switches"},
	{"Bangunan", "Building material"},
}

var locatorNames = []string{
	"Gudang Utama", "Gudang Cabang Bekasi", "Gudang Surabaya", "Toko Pusat",
	"Gudang Pelabuhan — Tanjung Priok", "Gudang Bandung", "Gudang Medan", "Gudang Makassar",
	"Gudang Semarang", "Gudang Denpasar",
}

// products are base names with the unit they are counted in; fractional
// units get quantities with decimals.
var products = []struct {
	name, uom  string
	fractional bool
}{
	{"Tepung Terigu", "sak", false},
	{"Gula Pasir", "kg", true},
	{"Minyak Goreng", "liter", true},
	{"Beras Premium", "kg", true},
	{"Kopi Bubuk", "pak", false},
	{"Teh Celup", "dus", false}, //nolint:misspell // Indonesian: "teh" is tea
	{"Susu Kental Manis", "kaleng", false},
	{"Kecap Manis", "botol", false},
	{"Sabun Cuci", "pcs", false},
	{"Kardus", "pcs", false},
	{"Lakban Bening", "roll", false},
	{"Baut", "pcs", false},
	{"Mur", "pcs", false},
	{"Kabel NYA", "meter", true},
	{"Pipa PVC", "batang", false},
	{"Cat Tembok", "galon", false},
	{"Semen", "sak", false},
	{"Paku", "kg", true},
	{"Plastik Wrap", "roll", false},
	{"Garam Halus", "kg", true},
	{"Kertas HVS", "rim", false},
	{"Oli Mesin", "liter", true},
	{"Lampu LED", "pcs", false},
	{"Sarung Tangan", "pasang", false},
}

var (
	variants = []string{"", "Premium", "Ekonomis", "Super", "Putih", "Merah", "Biru", "Grade A", "Import", "Lokal"}
	sizes    = []string{"", "250g", "500g", "1 kg", "5 kg", "25 kg", "1 L", "5 L", "isi 12", "isi 24", "M8", "M10", "1/2 inch"}
)

// idSpace is 62^6: IDs are six base62 characters.
const idSpace = 56800235584

// idGen hands out opaque IDs: an affine bijection of a counter over the ID
// space, so IDs look random, never collide and need no bookkeeping.
type idGen struct {
	a, b, n uint64
}

func newIDGen(rng *rand.Rand) idGen {
	for {
		a := idSpace/3 + rng.Uint64N(idSpace-idSpace/3)
		if a%2 == 1 && a%31 != 0 { // coprime with 62^6 = 2^6·31^6
			return idGen{a: a, b: rng.Uint64N(idSpace)}
		}
	}
}

func (g *idGen) next() string {
	hi, lo := bits.Mul64(g.a, g.n%idSpace)
	x := (bits.Rem64(hi, lo, idSpace) + g.b) % idSpace
	g.n++
	var buf [6]byte
	for i := range buf {
		buf[i] = base62[x%62]
		x /= 62
	}
	return string(buf[:])
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func randBase62(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = base62[rng.IntN(62)]
	}
	return string(b)
}

// ean13 returns a valid EAN-13 with Indonesia's 899 prefix.
func ean13(rng *rand.Rand) string {
	var d [13]int
	d[0], d[1], d[2] = 8, 9, 9
	for i := 3; i < 12; i++ {
		d[i] = rng.IntN(10)
	}
	sum := 0
	for i := range 12 {
		if i%2 == 0 {
			sum += d[i]
		} else {
			sum += 3 * d[i]
		}
	}
	d[12] = (10 - sum%10) % 10
	var sb strings.Builder
	for _, x := range d {
		sb.WriteByte(byte('0' + x))
	}
	return sb.String()
}

// generate fills c from cfg; it is deterministic in cfg.Seed and the day of
// cfg.Now.
func generate(c *Company, cfg Config) {
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x47454e))
	c.ids = newIDGen(rng)
	c.id = c.ids.next()

	c.catIdx = map[string]int{}
	for i := range cfg.Categories {
		ct := category{id: c.ids.next(), active: true}
		if i < len(categoryNames) {
			ct.name, ct.desc = categoryNames[i][0], categoryNames[i][1]
		} else {
			ct.name = fmt.Sprintf("Kategori %d", i+1)
		}
		c.catIdx[ct.id] = i
		c.cats = append(c.cats, ct)
	}

	c.locIdx = map[string]int{}
	for i := range cfg.Locators {
		l := locator{id: c.ids.next(), code: fmt.Sprintf("GDG-%02d", i+1), active: true}
		if i < len(locatorNames) {
			l.name = locatorNames[i]
		} else {
			l.name = fmt.Sprintf("Gudang %d", i+1)
		}
		c.locIdx[l.id] = i
		c.locs = append(c.locs, l)
	}

	special := cfg.Items > len(UnusualNames)
	c.itmIdx = map[string]int{}
	for i := range cfg.Items {
		p := products[rng.IntN(len(products))]
		it := item{
			id:         c.ids.next(),
			code:       fmt.Sprintf("KS-%05d", i+1),
			upc:        ean13(rng),
			uom:        p.uom,
			fractional: p.fractional,
			cat:        rng.IntN(len(c.cats)),
			active:     rng.Float64() >= 0.04,
			min:        noMin,
		}
		name := strings.Join(strings.Fields(p.name+" "+variants[rng.IntN(len(variants))]+" "+sizes[rng.IntN(len(sizes))]), " ")
		if special && i >= 1 && i <= len(UnusualNames) {
			name = UnusualNames[i-1]
			it.active = true
		}
		it.name = name
		if rng.Float64() < 0.3 {
			it.desc = "Stok " + strings.ToLower(p.name) + ", simpan di tempat kering"
		}
		c.itmIdx[it.id] = i
		c.items = append(c.items, it)
	}

	nPairs := len(c.locs) * len(c.items)
	c.pairRows = make([][]int32, nPairs)
	c.locRows = make([][]int32, len(c.locs))
	c.docSeq = map[string]int{}
	c.pairMin = make([]int64, nPairs)
	for p := range c.pairMin {
		c.pairMin[p] = noMin
	}

	// Opening balances: one receipt per locator, 30 days before today,
	// for about nine in ten items; the unusual names are always stocked in
	// the first locator so tests find them in /stock/summary.
	today := dayOf(c.now(), c.loc)
	for l := range c.locs {
		d := c.newDoc(txReceipt, today-30)
		for i := range c.items {
			forced := special && l == 0 && i >= 1 && i <= len(UnusualNames)
			if !forced && rng.Float64() >= 0.9 {
				continue
			}
			c.addRow(d, today-30, l*len(c.items)+i, c.randQty(rng, i, 20, 400), 0)
		}
	}

	// History on every day since, so that any recent date range has
	// movements.
	h := min(max(nPairs/3, 30), 40000)
	if cfg.HistoryDocs > 0 {
		h = cfg.HistoryDocs
	}
	for k := range h {
		day := today - 29 + int32(k*30/h)
		c.postRandom(rng, day, true)
	}

	// Per-warehouse minimums, chosen against the balances now so that the
	// configured share is below its minimum; a third of those are out of
	// stock altogether.
	for p := range nPairs {
		if len(c.pairRows[p]) == 0 || rng.Float64() >= 0.7 {
			continue
		}
		bal := c.balance(p)
		if rng.Float64() < cfg.BelowMinimum {
			if bal > 0 && rng.IntN(3) == 0 {
				last := c.rows[c.pairRows[p][len(c.pairRows[p])-1]].day
				day := max(last, today-int32(rng.IntN(5)))
				c.addRow(c.newDoc(txIssue, day), day, p, 0, bal)
				bal = 0
			}
			c.pairMin[p] = (bal/unit + 1 + int64(rng.IntN(int(bal/unit/2+20)))) * unit
			continue
		}
		if m := int64(float64(bal/unit)*(0.2+0.7*rng.Float64())) * unit; m > 0 {
			c.pairMin[p] = m
		}
	}

	// Item master minimums (the union minimum), against the total over
	// every locator.
	for i := range c.items {
		if rng.Float64() >= 0.7 {
			continue
		}
		total := c.itemTotal(i)
		if rng.Float64() < cfg.BelowMinimum {
			c.items[i].min = (total/unit + 1 + int64(rng.IntN(50))) * unit
			continue
		}
		if m := int64(float64(total/unit)*(0.2+0.7*rng.Float64())) * unit; m > 0 {
			c.items[i].min = m
		}
	}
}
