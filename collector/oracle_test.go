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
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/refresh"
)

// oracle produces the derived families the plain way: at every scrape it
// works them all out from scratch with derivation's rules and hands them to
// client_golang as const metrics, which a registry checks against their
// Descs, sorts and encodes. The Renderer must serve exactly what it does:
// whatever the Renderer cached, and however it strings its blocks, escapes
// and compresses them.
type oracle struct {
	src     Source
	mins    func() Minimums
	company string
}

var _ prometheus.Collector = oracle{}

func (o oracle) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range renderedFamilies {
		ch <- f.desc
	}
}

func (o oracle) Collect(ch chan<- prometheus.Metric) {
	s := o.src.Snapshot()
	var mins Minimums
	if o.mins != nil {
		mins = o.mins()
	}
	d := newDerivation(o.src, s, indexItems(s.Items), mins, time.Now(), o.company)
	sink := func(desc *prometheus.Desc, v float64, labels ...string) {
		emit(ch, desc, prometheus.GaugeValue, v, append(labels, o.company)...)
	}
	d.companySamples(sink)
	d.locatorSamples(sink)
	d.itemSamples(sink)
	for i := range s.Locators {
		l := &s.Locators[i]
		if ls := s.Stock[l.ID]; d.stockFresh(ls) {
			d.stockSamples(l, ls, sink)
		}
		if lf := s.Flow[l.ID]; flowShown(l, lf) {
			d.flowSamples(l, lf, sink)
		}
	}
}

// oracleCase is the production handler of a source and a registry of the
// same live families with the oracle in place of the Renderer.
type oracleCase struct {
	handler http.Handler
	want    *prometheus.Registry
}

func newOracleCase(src Source, mins func() Minimums) *oracleCase {
	rl := fakeRateLimit{kartustok.RateLimitStatus{Known: true, Limit: 120, Remaining: 7}}
	api := NewAPIMetrics()
	api.ObserveRequest(kartustok.RequestInfo{Endpoint: kartustok.EndpointStockSummary, Status: 200, Duration: 120 * time.Millisecond})
	live := prometheus.NewPedanticRegistry()
	companyOf(live).MustRegister(NewCollector(src, WithRateLimit(rl)), api)
	want := prometheus.NewPedanticRegistry()
	companyOf(want).MustRegister(NewCollector(src, WithRateLimit(rl)), api)
	want.MustRegister(oracle{src: src, mins: mins, company: testCompany})
	return &oracleCase{handler: NewHandler(live, Renderers(NewRenderer(src, mins, testCompany)), HandlerOpts{}), want: want}
}

// canonical encodes families, sorted as a registry sorts them, in the text
// format.
func canonical(t *testing.T, mfs []*dto.MetricFamily) string {
	t.Helper()
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		require.NoError(t, enc.Encode(mf))
	}
	return b.String()
}

// check scrapes the handler as a scraper sending accept and
// acceptEncoding would, and compares the answer with the oracle's: every
// family once, with its HELP, TYPE, series and values; in OpenMetrics,
// whose HELP and TYPE lines expfmt cannot read back, the series and values.
func (c *oracleCase) check(t *testing.T, accept, acceptEncoding string) bool {
	t.Helper()
	mfs, err := c.want.Gather()
	require.NoError(t, err)
	body, hdr := scrapeHandler(t, c.handler, accept, acceptEncoding)
	format := expfmt.ResponseFormat(hdr)
	om := format.FormatType() == expfmt.TypeOpenMetrics
	for _, mf := range mfs {
		name := mf.GetName()
		if om {
			name = strings.TrimSuffix(name, "_total")
		}
		assert.Equal(t, 1, strings.Count(body, "# TYPE "+name+" "), "family %s once", name)
	}
	if om {
		assert.True(t, strings.HasSuffix(body, "\n# EOF\n"))
		want := testkit.MustGather(t, prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return mfs, nil }))
		for k := range want { // see parseExposition
			if strings.Contains(k, "_bucket{") || strings.Contains(k, "_sum{") || strings.Contains(k, "_count{") {
				delete(want, k)
			}
		}
		delete(want, `kartustok_api_request_duration_seconds{company="sinarjaya",endpoint="/stock/summary"}`)
		return assert.Equal(t, want, parseExposition(t, body, format))
	}
	assert.Equal(t, expfmt.TypeTextPlain, format.FormatType())
	got, err := parseText(body)
	require.NoError(t, err)
	return assert.Equal(t, canonical(t, mfs), canonical(t, got))
}

// scrapeForms are the answers a scraper may ask for.
var scrapeForms = []struct{ accept, encoding string }{
	{"", ""},
	{"", "gzip"},
	{"application/openmetrics-text;version=1.0.0", ""},
	{"application/openmetrics-text;version=1.0.0", "gzip, deflate"},
	{"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", "gzip"},
}

// TestRendererMatchesTheOracle: a snapshot with everything the rendered
// families must get right (a stale locator, carried entries fresh and
// expired, pairs with a minimum of their own and no row, flow of the day
// and of the day before), in every format and encoding.
func TestRendererMatchesTheOracle(t *testing.T) {
	src := &swapSource{}
	src.snap.Store(richSnapshot(time.Now()))
	mins := &tableMinimums{
		stock: map[[2]string]float64{{"GDG-01", "KS-3"}: 15, {"GDG-03", "KS-3"}: 15, {"GDG-04", "KS-3"}: 2, {"GDG-04", "KS-4"}: 1},
		pairs: map[string][]string{"KS-3": {"GDG-01", "GDG-03", "GDG-04"}, "KS-4": {"GDG-04"}},
	}
	c := newOracleCase(src, fixedMinimums(mins))
	ms := testkit.MustGather(t, c.want)
	require.Contains(t, ms, `kartustok_stock_on_hand{company="sinarjaya",item_id="i3",locator_id="L4"}`, "a carried entry")
	require.Contains(t, ms, `kartustok_stock_on_hand{company="sinarjaya",item_id="i3",locator_id="L1"}`, "a pair without a row")
	require.Contains(t, ms, `kartustok_stock_inflow_quantity{company="sinarjaya",item_id="i1",locator_id="L4",period="today"}`)
	for _, f := range scrapeForms {
		t.Run(fmt.Sprintf("%s %s", f.accept, f.encoding), func(t *testing.T) { c.check(t, f.accept, f.encoding) })
	}
}

// leadMinimums is a tableMinimums that also gives lead times.
type leadMinimums struct {
	*tableMinimums
	days map[string]float64 // by item code
}

func (m *leadMinimums) LeadTime(it *kartustok.Item) (float64, bool) {
	d, ok := m.days[it.Code]
	return d, ok
}

// world is a company whose snapshot a test changes at random, as the
// engine does: every change makes a new snapshot, replaces what changed
// whole, and moves CatalogVersion when the catalog changes.
type world struct {
	rng   *rand.Rand
	s     *refresh.Snapshot
	added int // items added
}

func newWorld(rng *rand.Rand) *world {
	s := &refresh.Snapshot{
		Company:       &kartustok.Company{ID: "c1", Name: awkward, Subdomain: "sinarjaya", Timezone: "Asia/Jakarta", MinimumStockMode: kartustok.MinimumStockPerWarehouse},
		Location:      time.FixedZone("WIB", 7*3600),
		CategoryNames: map[kartustok.ID]string{"cat1": "Bahan Baku", "cat2": `Kemasan "Plastik"`},
		Stock:         map[kartustok.ID]*refresh.LocatorStock{},
		Flow:          map[kartustok.ID]*refresh.LocatorFlow{},
		LocatorsKnown: true, ItemsKnown: true,
	}
	for i := 1; i <= 5; i++ {
		s.Locators = append(s.Locators, kartustok.Locator{ID: kartustok.ID(fmt.Sprintf("L%d", i)), Code: fmt.Sprintf("GDG-%02d", i), Name: fmt.Sprintf("Gudang %d", i), Active: i != 5})
	}
	for i := 1; i <= 8; i++ {
		it := kartustok.Item{ID: kartustok.ID(fmt.Sprintf("i%d", i)), Code: fmt.Sprintf("KS-%d", i), Name: fmt.Sprintf("Barang %d", i), CategoryID: "cat1", UOM: "pcs", Active: i != 7}
		if i%3 == 0 {
			it.MinimumQty = quantity(float64(10 * i))
		}
		s.Items = append(s.Items, it)
	}
	return &world{rng: rng, s: s}
}

// next returns a copy of the snapshot to change.
func (w *world) next() *refresh.Snapshot {
	s := *w.s
	s.Stock = maps.Clone(w.s.Stock)
	s.Flow = maps.Clone(w.s.Flow)
	return &s
}

// ago is a time up to max before now, often near the ages at which
// things expire.
func (w *world) ago(maxAge time.Duration) time.Time {
	return time.Now().Add(-time.Duration(w.rng.Int64N(int64(maxAge))))
}

// day is the company's today or yesterday.
func (w *world) day() string {
	now := time.Now()
	if w.rng.IntN(3) == 0 {
		now = now.AddDate(0, 0, -1)
	}
	return companyDay(w.s, now)
}

func (w *world) itemID() kartustok.ID {
	if w.rng.IntN(12) == 0 {
		return "gone" // an item the catalog does not know
	}
	return w.s.Items[w.rng.IntN(len(w.s.Items))].ID
}

func (w *world) entry(id kartustok.ID) refresh.StockEntry {
	e := refresh.StockEntry{ItemID: id, OnHand: float64(w.rng.IntN(400)) / 4}
	if w.rng.IntN(2) == 0 {
		e.Minimum, e.HasMinimum = float64(w.rng.IntN(50)), true
	}
	if w.rng.IntN(2) == 0 {
		e.In, e.Out, e.HasFlow = float64(w.rng.IntN(20)), float64(w.rng.IntN(20))/2, true
	}
	return e
}

// step changes the world at random.
func (w *world) step() {
	s := w.next()
	rng := w.rng
	loc := s.Locators[rng.IntN(len(s.Locators))].ID
	switch rng.IntN(9) {
	case 0, 1, 2: // a stock read
		ls := &refresh.LocatorStock{Fetched: w.ago(5 * time.Minute), Day: w.day()}
		seen := map[kartustok.ID]bool{}
		for range rng.IntN(8) {
			if id := w.itemID(); !seen[id] {
				seen[id] = true
				ls.Rows = append(ls.Rows, w.entry(id))
			}
		}
		for range rng.IntN(3) {
			if id := w.itemID(); !seen[id] {
				seen[id] = true
				ls.Skipped = append(ls.Skipped, id)
				if rng.IntN(2) == 0 {
					ls.Carried = append(ls.Carried, refresh.CarriedEntry{StockEntry: w.entry(id), Fetched: ls.Fetched.Add(-time.Duration(rng.Int64N(int64(40 * time.Minute)))), Day: w.day()})
				}
			}
		}
		ls.Unkeyed = rng.IntN(8) == 0
		s.Stock[loc] = ls
	case 3, 4: // a flow read
		lf := &refresh.LocatorFlow{}
		if rng.IntN(4) != 0 {
			p := &refresh.FlowPeriod{From: "2000-01-01", To: w.day(), Fetched: w.ago(40 * time.Minute)}
			for range rng.IntN(5) {
				p.Rows = append(p.Rows, refresh.FlowEntry{ItemID: w.itemID(), In: float64(rng.IntN(300)), Out: float64(rng.IntN(300))})
			}
			slices.SortFunc(p.Rows, func(a, b refresh.FlowEntry) int { return strings.Compare(string(a.ItemID), string(b.ItemID)) })
			p.Rows = slices.CompactFunc(p.Rows, func(a, b refresh.FlowEntry) bool { return a.ItemID == b.ItemID })
			lf.Period = p
		}
		if rng.IntN(4) != 0 {
			lf.Movements = &refresh.MovementCounts{Day: w.day(), Fetched: w.ago(40 * time.Minute), ByType: [4]int{rng.IntN(9), rng.IntN(9), rng.IntN(9), rng.IntN(9)}}
		}
		s.Flow[loc] = lf
	case 5: // a locator's stock or flow gone
		delete(s.Stock, loc)
		delete(s.Flow, loc)
	case 6: // the catalog changes
		s.Items = slices.Clone(s.Items)
		s.Locators = slices.Clone(s.Locators)
		it := &s.Items[rng.IntN(len(s.Items))]
		switch rng.IntN(8) {
		case 0:
			it.Active = !it.Active
		case 1:
			it.Name = awkward + strconv.Itoa(rng.IntN(9))
		case 2:
			it.MinimumQty = quantity(float64(rng.IntN(30)))
		case 3:
			it.CategoryName = []string{"", "Pemanis"}[rng.IntN(2)]
		case 4:
			l := &s.Locators[rng.IntN(len(s.Locators))]
			l.Active = !l.Active
		case 5: // a new code, which the minimums know by
			if c, ok := strings.CutSuffix(it.Code, "X"); ok {
				it.Code = c
			} else {
				it.Code += "X"
			}
		case 6: // a new item
			w.added++
			n := 100 + w.added
			s.Items = append(s.Items, kartustok.Item{ID: kartustok.ID(fmt.Sprintf("n%d", n)), Code: fmt.Sprintf("KS-%d", n), Name: "Baru", CategoryID: "cat2", UOM: "kg", Active: true})
		case 7: // an item gone
			if len(s.Items) > 3 {
				s.Items = slices.Delete(s.Items, 0, 1)
			}
		}
		s.CatalogVersion++
	case 7: // the company changes its minimum-stock mode
		co := *s.Company
		co.MinimumStockMode = []string{kartustok.MinimumStockPerWarehouse, kartustok.MinimumStockUnion, kartustok.MinimumStockInactive, "per_moon_phase"}[rng.IntN(4)]
		s.Company = &co
		s.CatalogVersion++
	case 8: // a catalog refresh that finds it as it was
		s.Items = slices.Clone(s.Items)
		s.Locators = slices.Clone(s.Locators)
	}
	w.s = s
}

// TestRendererMatchesTheOracleOverTime changes a company at random for
// hundreds of steps, with the minimums swapped now and then and time
// passing (reads expire, the company's midnight comes), and checks after
// every step that the one Renderer, with all it cached, serves what the
// oracle works out from scratch.
func TestRendererMatchesTheOracleOverTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(15, 4))
		w := newWorld(rng)
		src := &swapSource{}
		src.snap.Store(w.s)
		all := 20.0
		table := &tableMinimums{
			stock: map[[2]string]float64{{"GDG-01", "KS-2"}: 60, {"GDG-02", "KS-4"}: 5, {"GDG-03", "KS-5"}: 0},
			items: map[string]float64{"KS-1": 9, "KS-3": 0},
			pairs: map[string][]string{"KS-2": {"GDG-01", "GDG-03"}, "KS-4": {"GDG-02", "GDG-05"}, "KS-5": {"GDG-03"}, "KS-9": {"GDG-01"}},
		}
		choices := []Minimums{
			nil,
			table,
			&tableMinimums{all: &all},
			&leadMinimums{table, map[string]float64{"KS-1": 3, "KS-2": 0.5}},
		}
		var mins Minimums
		c := newOracleCase(src, func() Minimums { return mins })
		// Mostly short steps, in which reads stay fresh for a while.
		sleeps := []time.Duration{0, 0, time.Second, time.Minute, time.Minute, 3 * time.Minute, 3 * time.Minute, 7 * time.Minute, 45 * time.Minute}
		for step := range 400 {
			for range rng.IntN(3) { // sometimes none: time passes
				w.step()
			}
			src.snap.Store(w.s)
			if rng.IntN(10) == 0 {
				mins = choices[rng.IntN(len(choices))]
			}
			if rng.IntN(15) == 0 {
				// To shortly before the company's next midnight, which
				// the short steps that follow cross with fresh reads.
				now := time.Now().In(w.s.Location)
				midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, now.Location())
				time.Sleep(midnight.Sub(now) - 10*time.Minute)
			} else {
				time.Sleep(sleeps[rng.IntN(len(sleeps))])
			}
			f := scrapeForms[rng.IntN(len(scrapeForms))]
			if !c.check(t, f.accept, f.encoding) {
				t.Fatalf("step %d (%s %s): the Renderer and the oracle differ", step, f.accept, f.encoding)
			}
		}
	})
}
