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
	"bytes"
	"cmp"
	"compress/flate"
	"context"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/refresh"
)

// family is one metric family a Renderer serves from rendered bytes.
type family struct {
	desc   *prometheus.Desc
	name   string
	help   string
	labels []string // as the Desc declares them
	order  []int    // indexes into labels, by label name: the order lines carry them in
	// textHeader and omHeader are the HELP and TYPE lines in each format.
	textHeader, omHeader []byte
}

// The families derived from the snapshot's catalog and stock, which grow
// with the company, in name order.
var renderedFamilies = [numRendered]*family{
	newFamily(companyInfoDesc, "company_info"),
	newFamily(itemInfoDesc, "item_info"),
	newFamily(itemLeadTimeDesc, "item_lead_time_seconds"),
	newFamily(itemMinimumDesc, "item_minimum_quantity"),
	newFamily(locatorInfoDesc, "locator_info"),
	newFamily(stockInflowDesc, "stock_inflow_quantity"),
	newFamily(stockMinimumDesc, "stock_minimum_quantity"),
	newFamily(stockMovementsDesc, "stock_movements"),
	newFamily(stockOnHandDesc, "stock_on_hand"),
	newFamily(stockOutflowDesc, "stock_outflow_quantity"),
}

// The indexes of renderedFamilies: the catalog's families come first.
const (
	famCompany = iota
	famItemInfo
	famLeadTime
	famItemMinimum
	famLocatorInfo
	famInflow
	famStockMinimum
	famMovements
	famOnHand
	famOutflow
	numRendered
	numCatalog = famLocatorInfo + 1
)

// familyIndex maps a Desc to its index in renderedFamilies.
var familyIndex = func() map[*prometheus.Desc]int {
	m := map[*prometheus.Desc]int{}
	for i, f := range renderedFamilies {
		m[f.desc] = i
	}
	return m
}()

// newFamily describes the family of d, named kartustok_<name>. The help
// and labels are those d was built with (see descSpecs).
func newFamily(d *prometheus.Desc, name string) *family {
	spec := descSpecs[d]
	f := &family{desc: d, name: namespace + "_" + name, help: spec.help, labels: spec.labels}
	f.order = make([]int, len(f.labels))
	for i := range f.order {
		f.order[i] = i
	}
	slices.SortFunc(f.order, func(a, b int) int { return cmp.Compare(f.labels[a], f.labels[b]) })
	f.textHeader = []byte("# HELP " + f.name + " " + textHelp.Replace(f.help) + "\n# TYPE " + f.name + " gauge\n")
	f.omHeader = []byte("# HELP " + f.name + " " + openMetricsHelp.Replace(f.help) + "\n# TYPE " + f.name + " gauge\n")
	return f
}

// block is rendered lines of one family: the text, the same text as raw
// deflate data ending in a sync flush (so that blocks can be strung into
// one gzip stream), and the text's CRC-32 for the gzip trailer. A block is
// never modified once built, so any number of scrapes share it.
type block struct {
	text []byte
	gz   []byte
	crc  uint32
	// shift is the operator that appends the text's length to a running
	// CRC-32 (see crc32Shift), computed once.
	shift [32]uint32
}

// line is one rendered sample and its label values by label name, which
// order the lines of a block as client_golang orders a family's metrics.
type line struct {
	values []string
	text   []byte
}

// newBlock joins lines in order and compresses them once.
func newBlock(lines []line) *block {
	slices.SortFunc(lines, func(a, b line) int { return slices.Compare(a.values, b.values) })
	var n int
	for _, l := range lines {
		n += len(l.text)
	}
	text := make([]byte, 0, n)
	for _, l := range lines {
		text = append(text, l.text...)
	}
	return compress(text)
}

// flateRenderPool holds the writers that compress rendered blocks.
var flateRenderPool = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(io.Discard, flate.DefaultCompression) // a valid level never fails
	return w
}}

// compress makes a block of text, compressing it once.
func compress(text []byte) *block {
	b := &block{text: text, crc: crc32.ChecksumIEEE(text), shift: crc32Shift(int64(len(text)))}
	var buf bytes.Buffer
	buf.Grow(len(text)/4 + 64) // rendered samples deflate to about a fifth
	w := flateRenderPool.Get().(*flate.Writer)
	w.Reset(&buf)
	_, _ = w.Write(text)
	_ = w.Flush()
	flateRenderPool.Put(w)
	b.gz = bytes.Clone(buf.Bytes()) // exactly as large as it needs to be
	return b
}

// sample renders one sample of f as a line.
func sample(f *family, v float64, values []string) line {
	ordered := make([]string, len(f.order))
	for k, i := range f.order {
		ordered[k] = values[i]
	}
	return line{values: ordered, text: appendSample(nil, f, v, values)}
}

// appendSample renders one sample line of f: name{labels} value, labels by
// name, values escaped and the value formatted as the text format does.
// The line is the same in the OpenMetrics format.
func appendSample(dst []byte, f *family, v float64, values []string) []byte {
	dst = append(dst, f.name...)
	if len(values) > 0 {
		dst = append(dst, '{')
		for k, i := range f.order {
			if k > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, f.labels[i]...)
			dst = append(dst, '=', '"')
			dst = appendEscaped(dst, values[i])
			dst = append(dst, '"')
		}
		dst = append(dst, '}')
	}
	dst = append(dst, ' ')
	dst = appendFloat(dst, v)
	return append(dst, '\n')
}

// appendEscaped escapes a label value: backslash, double quote and line
// feed.
func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '"':
			dst = append(dst, '\\', '"')
		case '\n':
			dst = append(dst, '\\', 'n')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendFloat formats a sample value as the text format does.
func appendFloat(dst []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, "NaN"...)
	case math.IsInf(v, 1):
		return append(dst, "+Inf"...)
	case math.IsInf(v, -1):
		return append(dst, "-Inf"...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}

// Escapers of HELP texts: backslash and line feed, and for OpenMetrics
// also double quotes.
var (
	textHelp        = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	openMetricsHelp = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// header returns the HELP and TYPE lines of f, as the format's encoder
// writes them.
func (f *family) header(openMetrics bool) []byte {
	if openMetrics {
		return f.omHeader
	}
	return f.textHeader
}

// stockKey is what a locator's stock blocks were rendered from; they stand
// while it does not change.
type stockKey struct {
	ls      *refresh.LocatorStock
	catalog uint64
	mins    Minimums
	useMin  bool
}

// stockBlocks are a locator's rendered kartustok_stock_minimum_quantity,
// kartustok_stock_on_hand and the day's flow, valid until a carried entry
// in them expires.
type stockBlocks struct {
	key        stockKey
	day        string // the company's date they were rendered for
	minimum    *block
	onHand     *block
	inflow     *block
	outflow    *block
	validUntil time.Time // zero: while the key holds
}

// flowKey is what a locator's flow blocks were rendered from.
type flowKey struct {
	lf  *refresh.LocatorFlow
	day string
}

// flowBlocks are a locator's rendered 30-day flow and movement counts,
// valid until one of their reads expires.
type flowBlocks struct {
	key        flowKey
	inflow     *block
	outflow    *block
	movements  *block
	validUntil time.Time
}

// catalogKey is what the catalog blocks were rendered from.
type catalogKey struct {
	catalog uint64
	mins    Minimums
	useMin  bool
}

// Renderer is the one producer of the families derived from the
// snapshot's catalog and stock (company, locator and item info, the
// minimums and lead times, stock on hand, flow and movements; derived.go
// says what they hold). It serves them as bytes rendered once per change:
// each locator's stock when its stock, the catalog or the minimums change,
// its flow when its flow or the company's day change, the catalog's
// families when the catalog or the minimums change. A scrape strings the
// blocks of the locators whose stock is fresh together and writes them as
// they are, so scrapes cost almost nothing and share the same memory
// however many run at once.
type Renderer struct {
	src      Source
	minimums func() Minimums
	// company is the value of every series' company label.
	company string

	mu      sync.Mutex
	catKey  catalogKey
	catalog [numCatalog]*block // the catalog's families, in order
	// items indexes itemsOf, the Items of the snapshot last rendered, by
	// ID.
	items   map[kartustok.ID]*kartustok.Item
	itemsOf []kartustok.Item
	stock   map[kartustok.ID]*stockBlocks
	flow    map[kartustok.ID]*flowBlocks
}

// NewRenderer returns a renderer of src's snapshots, with the minimums
// that minimums returns; a nil func, or a nil result, keeps the API's own.
// The renderer calls it once per scrape and uses the result throughout, so
// that one scrape never mixes two versions of minimums that change while
// the exporter runs (a file reloaded on SIGHUP); it must be safe for
// concurrent use. company is the value of every series' company label.
func NewRenderer(src Source, minimums func() Minimums, company string) *Renderer {
	if minimums == nil {
		minimums = func() Minimums { return nil }
	}
	return &Renderer{src: src, minimums: minimums, company: company, stock: map[kartustok.ID]*stockBlocks{}, flow: map[kartustok.ID]*flowBlocks{}}
}

// Company is the company whose snapshots r renders.
func (r *Renderer) Company() string { return r.company }

// Run renders every new snapshot in the background, and the stock and flow
// again at the company's midnight, when the day's figures end, looking
// every interval, so that scrapes find them rendered instead of rendering
// them themselves; a scrape that comes first still renders what it needs. It
// returns when ctx is done.
func (r *Renderer) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	var (
		last    *refresh.Snapshot
		lastDay string
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A new snapshot, or the company's midnight, which ends the day's
		// figures without one.
		now := time.Now()
		if s := r.src.Snapshot(); s != last || companyDay(s, now) != lastDay {
			last, lastDay = s, companyDay(s, now)
			r.frame(now)
		}
	}
}

// frame is what one scrape writes of the rendered families: the blocks of
// each family of renderedFamilies, in order.
type frame [numRendered][]*block

// sameItems reports whether a and b are the same slice.
func sameItems(a, b []kartustok.Item) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// frame returns the blocks a scrape at now writes, rendering what changed
// since the last scrape.
func (r *Renderer) frame(now time.Time) *frame {
	s := r.src.Snapshot()
	mins := r.minimums()

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.items == nil || !sameItems(r.itemsOf, s.Items) {
		r.items, r.itemsOf = indexItems(s.Items), s.Items
	}
	d := newDerivation(r.src, s, r.items, mins, now, r.company)
	var f frame
	ck := catalogKey{catalog: s.CatalogVersion, mins: mins, useMin: d.useItemMin}
	if r.catalog[0] == nil || r.catKey != ck {
		r.renderCatalog(d)
		r.catKey = ck
	}
	for i, b := range r.catalog { // the catalog's families, in order
		if len(b.text) > 0 {
			f[i] = append(f[i], b)
		}
	}
	ids := make([]kartustok.ID, 0, len(s.Stock))
	flowIDs := make([]kartustok.ID, 0, len(s.Flow))
	for i := range s.Locators {
		l := &s.Locators[i]
		if ls := s.Stock[l.ID]; d.stockFresh(ls) {
			ids = append(ids, l.ID)
			key := stockKey{ls: ls, catalog: s.CatalogVersion, mins: mins, useMin: d.useStockMin}
			sb := r.stock[l.ID]
			if sb == nil || sb.key != key || sb.day != d.today || expired(sb.validUntil, now) {
				sb = renderStock(d, l, ls)
				sb.key, sb.day = key, d.today
				r.stock[l.ID] = sb
			}
		}
		if lf := s.Flow[l.ID]; flowShown(l, lf) {
			flowIDs = append(flowIDs, l.ID)
			key := flowKey{lf: lf, day: d.today}
			fb := r.flow[l.ID]
			if fb == nil || fb.key != key || expired(fb.validUntil, now) {
				fb = renderFlow(d, l, lf)
				fb.key = key
				r.flow[l.ID] = fb
			}
		}
	}
	// Forget the locators that are gone, inactive or stale.
	forget(r.stock, ids)
	forget(r.flow, flowIDs)
	slices.Sort(ids)
	slices.Sort(flowIDs)
	add := func(i int, b *block) {
		if len(b.text) > 0 {
			f[i] = append(f[i], b)
		}
	}
	for _, id := range ids {
		sb := r.stock[id]
		add(famStockMinimum, sb.minimum)
		add(famOnHand, sb.onHand)
		add(famInflow, sb.inflow)
		add(famOutflow, sb.outflow)
	}
	for _, id := range flowIDs {
		fb := r.flow[id]
		add(famInflow, fb.inflow)
		add(famOutflow, fb.outflow)
		add(famMovements, fb.movements)
	}
	return &f
}

// expired reports whether blocks valid until t (zero: for ever) have
// expired at now.
func expired(t, now time.Time) bool { return !t.IsZero() && !now.Before(t) }

// forget deletes the entries of m that are not in keep.
func forget[V any](m map[kartustok.ID]V, keep []kartustok.ID) {
	if len(m) <= len(keep) {
		return
	}
	k := make(map[kartustok.ID]bool, len(keep))
	for _, id := range keep {
		k[id] = true
	}
	for id := range m {
		if !k[id] {
			delete(m, id)
		}
	}
}

// renderCatalog renders the catalog's families. r.mu must be held.
func (r *Renderer) renderCatalog(d *derivation) {
	var lines [numCatalog][]line
	sink := func(desc *prometheus.Desc, v float64, labels ...string) {
		i := familyIndex[desc]
		lines[i] = append(lines[i], sample(renderedFamilies[i], v, append(labels, r.company)))
	}
	d.companySamples(sink)
	d.itemSamples(sink)
	d.locatorSamples(sink)
	for i := range r.catalog {
		r.catalog[i] = newBlock(lines[i])
	}
}

// renderStock renders one locator's stock families. Its lines differ only
// in the item and the value, so they are sorted by item and written into
// one buffer each, without a line of their own.
func renderStock(d *derivation, l *kartustok.Locator, ls *refresh.LocatorStock) *stockBlocks {
	var minimum, onHand, inflow, outflow []point
	sink := func(desc *prometheus.Desc, v float64, labels ...string) {
		switch desc {
		case stockOnHandDesc:
			onHand = append(onHand, point{labels[1], v})
		case stockInflowDesc:
			inflow = append(inflow, point{labels[1], v})
		case stockOutflowDesc:
			outflow = append(outflow, point{labels[1], v})
		default:
			minimum = append(minimum, point{labels[1], v})
		}
	}
	d.stockSamples(l, ls, sink)
	sb := &stockBlocks{
		minimum: renderPoints(renderedFamilies[famStockMinimum], d.company, l.ID, "", minimum),
		onHand:  renderPoints(renderedFamilies[famOnHand], d.company, l.ID, "", onHand),
		inflow:  renderPoints(renderedFamilies[famInflow], d.company, l.ID, periodToday, inflow),
		outflow: renderPoints(renderedFamilies[famOutflow], d.company, l.ID, periodToday, outflow),
	}
	// A carried entry drops out once its value is too old: render again
	// then.
	for _, c := range ls.Carried {
		if until := c.Fetched.Add(d.maxAge); until.After(d.now) && (sb.validUntil.IsZero() || until.Before(sb.validUntil)) {
			sb.validUntil = until
		}
	}
	return sb
}

// point is one sample of a locator's block: its second label and value.
type point struct {
	label string
	v     float64
}

// renderPoints renders one locator's samples of f, sorted by their second
// label (the item or transaction type), with the third label set to third
// when f has one, and the last, the company, to company. Its lines differ only in that label and the value, so
// they are written into one buffer each, without a line of their own.
func renderPoints(f *family, company string, locator kartustok.ID, third string, points []point) *block {
	slices.SortFunc(points, func(a, b point) int { return strings.Compare(a.label, b.label) })
	bp := textPool.Get().(*[]byte)
	defer textPool.Put(bp)
	text := (*bp)[:0]
	labels := []string{string(locator), ""}
	if len(f.labels) == 4 {
		labels = append(labels, third)
	}
	labels = append(labels, company)
	for _, p := range points {
		labels[1] = p.label
		text = appendSample(text, f, p.v, labels)
	}
	*bp = text[:0]
	return compress(bytes.Clone(text)) // exactly as large as it needs to be
}

// textPool holds the buffers locator blocks are written into before they
// are copied out at their exact size, so that a full render of a large
// company does not allocate every block twice.
var textPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 64<<10)
	return &b
}}

// renderFlow renders one locator's 30-day flow and movement counts.
func renderFlow(d *derivation, l *kartustok.Locator, lf *refresh.LocatorFlow) *flowBlocks {
	var inflow, outflow, movements []point
	sink := func(desc *prometheus.Desc, v float64, labels ...string) {
		switch desc {
		case stockInflowDesc:
			inflow = append(inflow, point{labels[1], v})
		case stockOutflowDesc:
			outflow = append(outflow, point{labels[1], v})
		default:
			movements = append(movements, point{labels[1], v})
		}
	}
	d.flowSamples(l, lf, sink)
	fb := &flowBlocks{
		inflow:    renderPoints(renderedFamilies[famInflow], d.company, l.ID, period30Days, inflow),
		outflow:   renderPoints(renderedFamilies[famOutflow], d.company, l.ID, period30Days, outflow),
		movements: renderPoints(renderedFamilies[famMovements], d.company, l.ID, "", movements),
	}
	for _, fetched := range []time.Time{periodFetched(lf), movementsFetched(lf)} {
		if until := fetched.Add(d.flowAge); !fetched.IsZero() && until.After(d.now) && (fb.validUntil.IsZero() || until.Before(fb.validUntil)) {
			fb.validUntil = until
		}
	}
	return fb
}

func periodFetched(lf *refresh.LocatorFlow) time.Time {
	if lf.Period == nil {
		return time.Time{}
	}
	return lf.Period.Fetched
}

func movementsFetched(lf *refresh.LocatorFlow) time.Time {
	if lf.Movements == nil {
		return time.Time{}
	}
	return lf.Movements.Fetched
}
