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
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

// BenchmarkScrapeWhileRefreshing serves 10,000 stock series as
// BenchmarkScrape does, but as an exporter that polls the API between
// scrapes: before every scrape the client observes one more request, which
// changes kartustok_api_requests_total and
// kartustok_api_request_duration_seconds, as the dozens of requests between
// two scrapes of a polling exporter do.
func BenchmarkScrapeWhileRefreshing(b *testing.B) {
	for _, gz := range []bool{false, true} {
		src := &swapSource{}
		src.snap.Store(benchSnapshot(10_000))
		api := NewAPIMetrics()
		reg := prometheus.NewRegistry()
		companyOf(reg).MustRegister(NewCollector(src), api)
		h := NewHandler(reg, Renderers(NewRenderer(src, nil, testCompany)), HandlerOpts{})
		name := "plain"
		if gz {
			name = "gzip"
		}
		b.Run(name, func(b *testing.B) {
			serve(h, gz)
			b.ReportAllocs()
			for b.Loop() {
				api.ObserveRequest(kartustok.RequestInfo{Endpoint: kartustok.EndpointStockSummary, Status: 200, Duration: 120 * time.Millisecond})
				serve(h, gz)
			}
		})
	}
}
