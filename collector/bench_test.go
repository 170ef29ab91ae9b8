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
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/refresh"
)

// benchLocators is the number of warehouses the stock series are spread
// over; items per warehouse make up the rest.
const benchLocators = 100

// opaqueID returns a random ID like the API's public IDs, so that series
// arrive in API order, not sorted.
func opaqueID(rng *rand.Rand) kartustok.ID {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 6)
	for i := range b {
		b[i] = chars[rng.IntN(len(chars))]
	}
	return kartustok.ID(b)
}

// benchSnapshot is a company of n stock series over benchLocators active
// warehouses, with opaque IDs in API order, quantities with decimals and a
// per-warehouse minimum on every third pair, as the engine publishes it.
func benchSnapshot(n int) *refresh.Snapshot {
	rng := rand.New(rand.NewPCG(uint64(n), 42))
	perLoc := n / benchLocators
	items := make([]kartustok.Item, perLoc)
	for j := range items {
		items[j] = kartustok.Item{ID: opaqueID(rng), Code: fmt.Sprintf("KS-%05d", j), Name: fmt.Sprintf("Barang %d", j), UOM: "pcs", Active: true}
	}
	s := &refresh.Snapshot{
		Location: time.UTC, Stock: map[kartustok.ID]*refresh.LocatorStock{},
		Company: &kartustok.Company{ID: "c1", Name: "PT Uji", MinimumStockMode: kartustok.MinimumStockPerWarehouse},
	}
	now := time.Now()
	for i := range benchLocators {
		l := kartustok.Locator{ID: opaqueID(rng), Code: fmt.Sprintf("GDG-%03d", i), Name: fmt.Sprintf("Gudang %d", i), Active: true}
		s.Locators = append(s.Locators, l)
		rows := make([]refresh.StockEntry, perLoc)
		for j := range rows {
			rows[j] = refresh.StockEntry{ItemID: items[j].ID, OnHand: float64(rng.IntN(100000)) / 4}
			if j%3 == 0 {
				rows[j].Minimum, rows[j].HasMinimum = float64(rng.IntN(500)), true
			}
		}
		s.Stock[l.ID] = &refresh.LocatorStock{Fetched: now, Rows: rows}
	}
	s.Items = items
	s.CatalogVersion = 1
	return s
}

// discard is a ResponseWriter that keeps nothing, so that a benchmark
// measures the handler, not a buffer of its answer.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// projectHandler serves snapshot s as the exporter does: the rendered
// families, and the live ones from a registry.
func projectHandler(s *refresh.Snapshot) http.Handler {
	src := &swapSource{}
	src.snap.Store(s)
	reg := prometheus.NewRegistry()
	companyOf(reg).MustRegister(NewCollector(src), NewAPIMetrics())
	return NewHandler(reg, Renderers(NewRenderer(src, nil, testCompany)), HandlerOpts{})
}

// baselineHandler serves the same stock and minimum series from plain
// client_golang GaugeVecs through promhttp, set in API order.
func baselineHandler(s *refresh.Snapshot) http.Handler {
	onHand := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kartustok_stock_on_hand", Help: "Baseline."}, []string{"locator_id", "item_id"})
	minimum := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kartustok_stock_minimum_quantity", Help: "Baseline."}, []string{"locator_id", "item_id"})
	for _, l := range s.Locators {
		for _, r := range s.Stock[l.ID].Rows {
			onHand.WithLabelValues(string(l.ID), string(r.ItemID)).Set(r.OnHand)
			if r.HasMinimum {
				minimum.WithLabelValues(string(l.ID), string(r.ItemID)).Set(r.Minimum)
			}
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(onHand, minimum)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// serve runs one scrape of h in the text format.
func serve(h http.Handler, gzip bool) {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	if gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	h.ServeHTTP(&discard{h: http.Header{}}, req)
}

// BenchmarkScrape serves n stock series (and a minimum for every third)
// through each side's real HTTP handler, plain and gzip: the project's
// handler, and a baseline of GaugeVecs holding the same series through
// promhttp. Both are warmed by one scrape; the project renders a snapshot
// once, which BenchmarkRender measures.
func BenchmarkScrape(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 300_000} {
		s := benchSnapshot(n)
		for _, side := range []struct {
			name string
			h    http.Handler
		}{{"project", projectHandler(s)}, {"gaugevec", baselineHandler(s)}} {
			for _, gz := range []bool{false, true} {
				name := fmt.Sprintf("%s/%dk/plain", side.name, n/1000)
				if gz {
					name = fmt.Sprintf("%s/%dk/gzip", side.name, n/1000)
				}
				b.Run(name, func(b *testing.B) {
					serve(side.h, gz)
					b.ReportAllocs()
					for b.Loop() {
						serve(side.h, gz)
					}
				})
			}
		}
	}
}

// BenchmarkRender renders a whole snapshot of 100,000 stock series from
// scratch, as the first scrape after the exporter starts does; later
// snapshots render only the warehouses that changed.
func BenchmarkRender(b *testing.B) {
	s := benchSnapshot(100_000)
	src := &swapSource{}
	src.snap.Store(s)
	b.ReportAllocs()
	for b.Loop() {
		NewRenderer(src, nil, testCompany).frame(time.Now())
	}
}

// heap is the live heap after a collection.
func heap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkRetainedBytesPerStockSeries reports the heap each side keeps per
// stock series: the project's snapshot with its rendered and compressed
// bytes, and the baseline's GaugeVecs (the snapshot they are built from is
// left out of the baseline's figure).
func BenchmarkRetainedBytesPerStockSeries(b *testing.B) {
	const n = 100_000
	var project, baseline float64
	for b.Loop() {
		before := heap()
		s := benchSnapshot(n)
		h := projectHandler(s)
		serve(h, false)
		project = float64(heap()-before) / n
		runtime.KeepAlive(h)

		s2 := benchSnapshot(n)
		before = heap()
		bh := baselineHandler(s2)
		serve(bh, false)
		baseline = float64(heap()-before) / n
		runtime.KeepAlive(bh)
		runtime.KeepAlive(s2)
	}
	b.ReportMetric(project, "project-B/series")
	b.ReportMetric(baseline, "gaugevec-B/series")
}

// withFlow gives every pair of s the day's flow and a 30-day flow, as the
// stock and flow refreshes bring them: four more series per pair.
func withFlow(s *refresh.Snapshot) *refresh.Snapshot {
	day := companyDay(s, time.Now())
	rng := rand.New(rand.NewPCG(7, 42))
	s.Flow = map[kartustok.ID]*refresh.LocatorFlow{}
	for id, ls := range s.Stock {
		ls.Day = day
		period := &refresh.FlowPeriod{From: "2026-11-02", To: day, Fetched: ls.Fetched, Rows: make([]refresh.FlowEntry, len(ls.Rows))}
		for j := range ls.Rows {
			r := &ls.Rows[j]
			r.In, r.Out, r.HasFlow = float64(rng.IntN(100)), float64(rng.IntN(100)), true
			period.Rows[j] = refresh.FlowEntry{ItemID: r.ItemID, In: float64(rng.IntN(3000)), Out: float64(rng.IntN(3000))}
		}
		s.Flow[id] = &refresh.LocatorFlow{Period: period, Movements: &refresh.MovementCounts{Day: day, Fetched: ls.Fetched, ByType: [4]int{12, 30, 2, 1}}}
	}
	return s
}

// BenchmarkRetainedBytesPerStockPairWithFlow reports the heap the project
// keeps per (warehouse, item) pair when every pair also has its day's and
// its 30-day in and out: the snapshot with its rendered and compressed
// bytes.
func BenchmarkRetainedBytesPerStockPairWithFlow(b *testing.B) {
	const n = 100_000
	var project float64
	for b.Loop() {
		before := heap()
		s := withFlow(benchSnapshot(n))
		h := projectHandler(s)
		serve(h, false)
		project = float64(heap()-before) / n
		runtime.KeepAlive(h)
	}
	b.ReportMetric(project, "project-B/pair")
}

// BenchmarkRenderWithFlow is BenchmarkRender with the flow of withFlow.
func BenchmarkRenderWithFlow(b *testing.B) {
	s := withFlow(benchSnapshot(100_000))
	src := &swapSource{}
	src.snap.Store(s)
	b.ReportAllocs()
	for b.Loop() {
		NewRenderer(src, nil, testCompany).frame(time.Now())
	}
}
