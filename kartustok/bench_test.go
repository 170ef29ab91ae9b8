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

package kartustok

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// stockSummaryPage returns a full page of /stock/summary as API.md shows
// it: 100 rows with decimal-string quantities and a per-warehouse minimum
// on every other row.
func stockSummaryPage() []byte {
	rows := make([]string, PerPage)
	for i := range rows {
		minimum := `"60.0000"`
		if i%2 == 1 {
			minimum = "null"
		}
		rows[i] = fmt.Sprintf(`{"locator_id":"Lr8pW1","locator_name":"Gudang Utama","item_id":"It%05d","item_code":"KS-%05d",`+
			`"item_name":"Tepung Terigu 25 kg \"Cap Segitiga\" %d","category_id":"Qm3x8a","uom":"sak",`+
			`"opening_qty":"%d.0000","in_qty":"50.0000","out_qty":"35.2500","ending_qty":"%d.7500","minimum_qty":%s}`,
			i, i, i, 100+i, 114+i, minimum)
	}
	return []byte(`{"status":"success","data":[` + strings.Join(rows, ",\n") +
		`],"meta":{"current_page":1,"per_page":100,"total":212,"last_page":3}}`)
}

func TestStockSummaryPageDecodes(t *testing.T) {
	rows, meta, err := decodeStrict[StockRow](stockSummaryPage())
	if err != nil || len(rows) != 100 || *meta.LastPage != 3 || rows[99].EndingQty != 213.75 || rows[1].MinimumQty != nil || *rows[0].MinimumQty != 60 {
		t.Fatalf("%d rows, %+v, %v", len(rows), meta, err)
	}
}

// BenchmarkDecodeStockSummaryPage decodes a 100-row page into typed rows,
// as every stock refresh does for every page.
func BenchmarkDecodeStockSummaryPage(b *testing.B) {
	page := stockSummaryPage()
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := decodeStrict[StockRow](page); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeStockSummaryPageMapBaseline is the reference point: the
// same page decoded by encoding/json into map[string]any, with no typing,
// no quantity parsing and no checks.
func BenchmarkDecodeStockSummaryPageMapBaseline(b *testing.B) {
	page := stockSummaryPage()
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		var m map[string]any
		if err := json.Unmarshal(page, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRepeatedKeysScan is the part of BenchmarkDecodeStockSummaryPage
// that looks for repeated keys: one pass over the page's bytes.
func BenchmarkRepeatedKeysScan(b *testing.B) {
	page := stockSummaryPage()
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		if r, err := pageRepeats(page); err != nil || r != nil {
			b.Fatal(r, err)
		}
	}
}
