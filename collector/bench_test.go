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
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/kartustok/kartustok_exporter/kartustok"
	ksync "github.com/kartustok/kartustok_exporter/sync"
)

const (
	benchLocators = 100
	benchItems    = 1000 // 100 × 1000 = 100,000 stock series
)

// benchRows returns one locator's rows as the client decodes them: every
// ID a string of its own.
func benchRows(loc, items int) []kartustok.StockRow {
	rows := make([]kartustok.StockRow, items)
	for j := range rows {
		rows[j] = kartustok.StockRow{
			LocatorID: kartustok.ID(fmt.Sprintf("Loc%03d", loc)),
			ItemID:    kartustok.ID(fmt.Sprintf("It%05d", j)),
			EndingQty: kartustok.Quantity(j),
		}
	}
	return rows
}

func benchStock() map[kartustok.ID]*ksync.LocatorStock {
	stock := make(map[kartustok.ID]*ksync.LocatorStock, benchLocators)
	now := time.Now()
	for i := range benchLocators {
		id := kartustok.ID(fmt.Sprintf("Loc%03d", i))
		rows := benchRows(i, benchItems)
		entries := make([]ksync.StockEntry, len(rows))
		for j, r := range rows {
			entries[j] = ksync.StockEntry{ItemID: r.ItemID, OnHand: float64(r.EndingQty)}
		}
		stock[id] = &ksync.LocatorStock{Fetched: now, Rows: entries}
	}
	return stock
}

func scrape(b *testing.B, g prometheus.Gatherer) {
	mfs, err := g.Gather()
	if err != nil {
		b.Fatal(err)
	}
	enc := expfmt.NewEncoder(io.Discard, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScrape100kStockSeries measures one scrape (gather and encode) of
// 100,000 stock series served from the snapshot, beside a baseline serving
// the same series from a plain GaugeVec.
func BenchmarkScrape100kStockSeries(b *testing.B) {
	b.Run("snapshot", func(b *testing.B) {
		e := fixedSource{&ksync.Snapshot{Location: time.UTC, Stock: benchStock()}}
		reg := prometheus.NewRegistry()
		reg.MustRegister(NewCollector(e))
		b.ReportAllocs()
		for b.Loop() {
			scrape(b, reg)
		}
	})
	b.Run("gaugevec-baseline", func(b *testing.B) {
		vec := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kartustok_stock_on_hand", Help: "Baseline."}, []string{"locator_id", "item_id"})
		for i := range benchLocators {
			for _, r := range benchRows(i, benchItems) {
				vec.WithLabelValues(string(r.LocatorID), string(r.ItemID)).Set(float64(r.EndingQty))
			}
		}
		reg := prometheus.NewRegistry()
		reg.MustRegister(vec)
		b.ReportAllocs()
		for b.Loop() {
			scrape(b, reg)
		}
	})
}

// BenchmarkRetainedBytesPerStockSeries reports the heap a snapshot keeps
// per stock series once the decoded API rows are gone.
func BenchmarkRetainedBytesPerStockSeries(b *testing.B) {
	var perSeries float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		stock := benchStock()
		runtime.GC()
		runtime.ReadMemStats(&after)
		perSeries = float64(after.HeapAlloc-before.HeapAlloc) / (benchLocators * benchItems)
		runtime.KeepAlive(stock)
	}
	b.ReportMetric(perSeries, "B/series")
}
