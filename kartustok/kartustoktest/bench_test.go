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
	"net/http"
	"testing"
)

// bigCompany is the size the demo and the exporter's tests must stay fast
// at: 20 locators × 5000 items.
var bigConfig = Config{Locators: 20, Items: 5000}

func BenchmarkNewCompany(b *testing.B) {
	for b.Loop() {
		NewCompany(bigConfig)
	}
}

// BenchmarkStockSummaryPage answers one 100-row page of /stock/summary of a
// 20×5000 company, through the whole handler (auth, throttle, encoding).
func BenchmarkStockSummaryPage(b *testing.B) {
	for _, bc := range []struct{ name, query string }{
		{"all-locators", "/stock/summary?per_page=100&page=500"},
		{"one-locator", "/stock/summary?per_page=100&page=25&locator_id="},
		{"range", "/stock/summary?per_page=100&page=25&date_from=2026-11-01&locator_id="},
		{"detail", "/stock/detail?per_page=100&page=2&date_from=2026-11-01&locator_id="},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := newFixture(b, bigConfig, WithRateLimit(0, 0))
			q := bc.query
			if q[len(q)-1] == '=' {
				q += f.c.LocatorIDs()[3]
			}
			if w := f.do(f.tok, q); w.Code != http.StatusOK || len(rows(b, decodeAnswer(b, w, q, 200))) != 100 {
				b.Fatalf("%s: %d %.200s", q, w.Code, w.Body)
			}
			b.ReportAllocs()
			for b.Loop() {
				f.do(f.tok, q)
			}
		})
	}
}
