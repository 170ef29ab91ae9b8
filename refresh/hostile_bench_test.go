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

package refresh_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kartustok/kartustok_exporter/collector"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/refresh"
)

// hostileAPI serves every endpoint from bodies built once, so that what the
// server costs does not count in the exporter's heap: each answer is a
// valid one padded with a string field to pad bytes, or, with junk, a body
// of pad bytes that is no JSON at all, sent without a Content-Length so
// that the client must read it up to its cap to find out.
func hostileAPI(pad int, junk bool) http.Handler {
	data := map[string]string{
		kartustok.EndpointHealth:         `{"status":"ok"}`,
		kartustok.EndpointCompany:        `{"id":"c1","timezone":"Asia/Jakarta","minimum_stock_mode":"per_warehouse"}`,
		kartustok.EndpointItemCategories: `[]`,
		kartustok.EndpointLocators:       `[{"id":"L1","code":"G1","name":"Gudang","is_active":true},{"id":"L2","code":"G2","name":"Gudang 2","is_active":true}]`,
		kartustok.EndpointItems:          `[]`,
		kartustok.EndpointStockSummary:   `[{"locator_id":"L1","item_id":"I1","ending_qty":"1"}]`,
	}
	bodies := map[string][]byte{}
	for ep, d := range data {
		meta := ""
		if ep == kartustok.EndpointItems || ep == kartustok.EndpointStockSummary {
			n := strings.Count(d, `"item_id"`)
			meta = `,"meta":{"current_page":1,"per_page":100,"total":` + string(rune('0'+n)) + `,"last_page":1}`
		}
		b := `{"status":"success","data":` + d + meta + `}`
		if pad > len(b) {
			filler := pad - len(b) - len(`,"padding":""`)
			b = `{"status":"success","padding":"` + strings.Repeat("x", filler) + `","data":` + d + meta + `}`
		}
		if junk {
			b = strings.Repeat("<", pad)
		}
		bodies[ep] = []byte(b)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ep := strings.TrimPrefix(r.URL.Path, "/public/v1")
		b, ok := bodies[ep]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		for len(b) > 0 { // several writes: chunked, no Content-Length
			n := min(len(b), 64<<10)
			if _, err := w.Write(b[:n]); err != nil {
				return
			}
			b = b[n:]
		}
	})
}

// peakHeap runs the engine's loops against h for d and returns the
// most heap in use seen, sampled every millisecond, above what was in use
// before it started.
func peakHeap(b *testing.B, h http.Handler, d time.Duration) (peak uint64, requests int) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	metrics := collector.NewAPIMetrics()
	client, err := kartustok.New(srv.URL, kartustok.StaticToken("ks_bench"), kartustok.WithBudget(1_000_000, time.Minute),
		kartustok.WithObserver(metrics), kartustok.WithMaxRetries(0))
	if err != nil {
		b.Fatal(err)
	}
	e, err := refresh.New(client, refresh.Config{
		HealthInterval: time.Millisecond, CatalogInterval: time.Millisecond, StockInterval: time.Millisecond,
		MaxStaleness: time.Hour, Budget: 1_000_000, Window: time.Minute,
	})
	if err != nil {
		b.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { e.Run(ctx) })
	for ctx.Err() == nil {
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > base {
			peak = max(peak, ms.HeapInuse-base)
		}
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	for _, s := range e.Snapshot().Sync {
		requests += int(s.Errors)
	}
	return peak, requests
}

// BenchmarkHostileBodies reports the heap the exporter's loops hold
// at most while the API answers every request with a body at the cap
// (kartustok.DefaultMaxBodyBytes): valid JSON padded to just under it, or
// junk just over it. "honest" is the same API with plain answers, the
// baseline. Each iteration runs the loops for one second with no wait
// between requests.
func BenchmarkHostileBodies(b *testing.B) {
	for _, tc := range []struct {
		name string
		pad  int
		junk bool
	}{
		{"honest", 0, false},
		{"valid-at-the-cap", kartustok.DefaultMaxBodyBytes - 1024, false},
		{"junk-over-the-cap", 2 * kartustok.DefaultMaxBodyBytes, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := hostileAPI(tc.pad, tc.junk)
			var peak uint64
			for b.Loop() {
				p, _ := peakHeap(b, h, time.Second)
				peak = max(peak, p)
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}
