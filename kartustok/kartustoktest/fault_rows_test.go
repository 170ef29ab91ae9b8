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
	"bytes"
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// assertSpoiled checks that got is want with field set to value (deleted
// when value is ""), every other value byte for byte.
func assertSpoiled(t *testing.T, want, got map[string]json.RawMessage, field, value string) {
	t.Helper()
	exp := make(map[string]json.RawMessage, len(want))
	maps.Copy(exp, want)
	if value == "" {
		delete(exp, field)
	} else {
		exp[field] = json.RawMessage(value)
	}
	assert.Equal(t, exp, got)
}

func TestFaultRowOnePaginatedRow(t *testing.T) {
	a := newHTTPAPI(t)
	p1, p2, p3 := a.raw(itemsPage(1)), a.get(itemsPage(2)), a.raw(itemsPage(3))
	a.s.SetFault(EndpointItems, Fault{RowField: "name", RowValue: `"abc"`, RowIndex: 12})
	defer a.s.ClearFaults()
	assert.Equal(t, string(p1), string(a.raw(itemsPage(1))), "page 1 does not hold row 12")
	assert.Equal(t, string(p3), string(a.raw(itemsPage(3))), "page 3 does not hold row 12")
	got := a.get(itemsPage(2))
	require.Len(t, got.rows, 10)
	assert.Equal(t, p2.meta, got.meta)
	for k := range got.rows {
		if k == 2 {
			assertSpoiled(t, p2.rows[k], got.rows[k], "name", `"abc"`)
		} else {
			assert.Equal(t, p2.rows[k], got.rows[k], "row %d", k)
		}
	}
	// With per_page 5, row 12 is on page 3 at position 2.
	clean := a.c.ItemIDs()
	got = a.get("/items?per_page=5&page=3")
	assert.Equal(t, `"abc"`, string(got.rows[2]["name"]))
	assert.Equal(t, `"`+clean[12]+`"`, string(got.rows[2]["id"]))
}

func TestFaultRowEveryRow(t *testing.T) {
	a := newHTTPAPI(t)
	path := "/stock/summary?per_page=20&page="
	clean := []answer{a.get(path + "1"), a.get(path + "2")}
	a.s.SetFault(EndpointStockSummary, Fault{RowField: "ending_qty", RowValue: "null", RowIndex: -1})
	defer a.s.ClearFaults()
	for i, page := range []string{"1", "2"} {
		got := a.get(path + page)
		require.Len(t, got.rows, len(clean[i].rows))
		for k := range got.rows {
			assertSpoiled(t, clean[i].rows[k], got.rows[k], "ending_qty", "null")
		}
	}
}

func TestFaultRowDelete(t *testing.T) {
	a := newHTTPAPI(t)
	path := "/stock/detail?per_page=10&date_from=2026-10-01&locator_id=" + a.c.LocatorIDs()[1]
	clean := a.get(path)
	a.s.SetFault(EndpointStockDetail, Fault{RowField: "balance", RowIndex: -1})
	defer a.s.ClearFaults()
	got := a.get(path)
	require.NotEmpty(t, got.rows)
	for k := range got.rows {
		assert.NotContains(t, got.rows[k], "balance")
		assertSpoiled(t, clean.rows[k], got.rows[k], "balance", "")
	}
}

func TestFaultRowValuesVerbatim(t *testing.T) {
	a := newHTTPAPI(t)
	path := "/stock/summary?per_page=10"
	clean := a.get(path)
	huge := `"` + strings.Repeat("x", 1<<20) + `"`
	for _, v := range []string{`"abc"`, `null`, `true`, `1e400`, `"NaN"`, `{}`, `-0.0000`, `"12.5000"`, huge} {
		a.s.SetFault(EndpointStockSummary, Fault{RowField: "ending_qty", RowValue: v, RowIndex: 4})
		b := a.raw(path)
		assert.True(t, bytes.Contains(b, []byte(`"ending_qty":`+v)), "%.40s is not on the wire", v)
		if v == "1e400" {
			// A float64 decoder refuses it; the rest must still decode raw.
			var f struct {
				Data []struct {
					EndingQty float64 `json:"ending_qty"`
				}
			}
			require.Error(t, json.Unmarshal(b, &f))
		}
		got := decodeList(t, b)
		for k := range got.rows {
			if k == 4 {
				assertSpoiled(t, clean.rows[k], got.rows[k], "ending_qty", v)
			} else {
				assert.Equal(t, clean.rows[k], got.rows[k], "row %d", k)
			}
		}
	}
	a.s.ClearFaults()
	// The rows compared above hold both quantity forms, so decimal strings
	// and numbers alike kept their bytes.
	var strs, nums int
	for _, r := range clean.rows {
		if q := string(r["opening_qty"]); strings.HasPrefix(q, `"`) && strings.Contains(q, ".") {
			strs++
		} else {
			nums++
		}
	}
	assert.Positive(t, strs)
	assert.Positive(t, nums)
}

func TestFaultRowFollowsTheRow(t *testing.T) {
	a := newHTTPAPI(t)
	clean := a.listing()
	// Row 8 is served on page 1 and again, shifted, on page 2.
	a.s.SetFault(EndpointItems, Fault{Shift: 3, RowField: "code", RowValue: "42", RowIndex: 8})
	defer a.s.ClearFaults()
	p1, p2 := a.get(itemsPage(1)), a.get(itemsPage(2))
	assert.Equal(t, "42", string(p1.rows[8]["code"]))
	assert.Equal(t, clean[8], p2.keys()[1])
	assert.Equal(t, "42", string(p2.rows[1]["code"]))
	for k, r := range p2.rows {
		if k != 1 {
			assert.NotEqual(t, "42", string(r["code"]))
		}
	}
	// Times counts requests, as for the other fields.
	a.s.SetFault(EndpointItems, Fault{RowField: "code", RowValue: "42", RowIndex: 0, Times: 1})
	assert.Equal(t, "42", string(a.get(itemsPage(1)).rows[0]["code"]))
	assert.NotEqual(t, "42", string(a.get(itemsPage(1)).rows[0]["code"]))
}

func TestFaultRowUnpaginated(t *testing.T) {
	a := newHTTPAPI(t)
	for _, endpoint := range []string{EndpointLocators, EndpointItemCategories} {
		clean := a.get(endpoint)
		require.Greater(t, len(clean.rows), 2)
		a.s.SetFault(endpoint, Fault{RowField: "is_active", RowValue: `"yes"`, RowIndex: 1})
		got := a.get(endpoint)
		require.Len(t, got.rows, len(clean.rows))
		for k := range got.rows {
			if k == 1 {
				assertSpoiled(t, clean.rows[k], got.rows[k], "is_active", `"yes"`)
			} else {
				assert.Equal(t, clean.rows[k], got.rows[k], "%s row %d", endpoint, k)
			}
		}
		a.s.SetFault(endpoint, Fault{RowField: "name", RowIndex: -1})
		got = a.get(endpoint)
		for k := range got.rows {
			assertSpoiled(t, clean.rows[k], got.rows[k], "name", "")
		}
		a.s.SetFault(endpoint, Fault{RowField: "name", RowValue: "1", RowIndex: len(clean.rows)})
		assert.Equal(t, clean.rows, a.get(endpoint).rows, "no row at that index")
		a.s.ClearFaults()
	}
}

func TestFaultRowObject(t *testing.T) {
	a := newHTTPAPI(t)
	data := func(path string) map[string]json.RawMessage {
		var b struct{ Data map[string]json.RawMessage }
		require.NoError(t, json.Unmarshal(a.raw(path), &b))
		return b.Data
	}
	item := "/items/" + a.c.ItemIDs()[5]
	clean := map[string]map[string]json.RawMessage{EndpointCompany: data("/meta/company"), EndpointItem: data(item)}

	a.s.SetFault(EndpointCompany, Fault{RowField: "minimum_stock_mode", RowValue: `"sometimes"`})
	assertSpoiled(t, clean[EndpointCompany], data("/meta/company"), "minimum_stock_mode", `"sometimes"`)
	a.s.SetFault(EndpointCompany, Fault{RowField: "token", RowIndex: 7})
	assertSpoiled(t, clean[EndpointCompany], data("/meta/company"), "token", "")
	a.s.SetFault(EndpointItem, Fault{RowField: "id", RowValue: "1e400", RowIndex: -1})
	assert.Contains(t, string(a.raw(item)), `"id":1e400`)
	assertSpoiled(t, clean[EndpointItem], data(item), "id", "1e400")
	a.s.ClearFaults()
	assert.Equal(t, clean[EndpointItem], data(item))
}

func TestFaultRowValueMustBeJSON(t *testing.T) {
	s := NewHandlerServer(NewCompany(Config{Items: 5}))
	assert.Panics(t, func() { s.SetFault(EndpointItems, Fault{RowField: "id", RowValue: "abc"}) })
	assert.NotPanics(t, func() { s.SetFault(EndpointItems, Fault{RowField: "id", RowValue: "1e400"}) })
}

// rawRows splits a list answer's data into its rows' bytes as sent.
func rawRows(t *testing.T, b []byte) []json.RawMessage {
	t.Helper()
	var top struct{ Data []json.RawMessage }
	require.NoError(t, json.Unmarshal(b, &top), "%s", b)
	return top.Data
}

// keysOf lists an object's keys in the order sent, repeats included.
func keysOf(t *testing.T, obj []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(obj))
	var keys []string
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok)
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, k.(string))
		var v json.RawMessage
		require.NoError(t, dec.Decode(&v))
	}
	return keys
}

func TestFaultRowRepeat(t *testing.T) {
	a := newHTTPAPI(t)
	path := "/stock/summary?per_page=10"
	clean := rawRows(t, a.raw(path))
	for _, field := range []string{"ending_qty", "ENDING_QTY", "not_sent"} {
		a.s.SetFault(EndpointStockSummary, Fault{RowField: field, RowValue: "999999", RowIndex: 4, RowRepeat: true})
		got := rawRows(t, a.raw(path))
		require.Len(t, got, len(clean))
		for k := range got {
			if k != 4 {
				assert.Equal(t, string(clean[k]), string(got[k]), "row %d", k)
				continue
			}
			// The row as it was, then the key once more.
			want := string(clean[k][:len(clean[k])-1]) + `,"` + field + `":999999}`
			assert.Equal(t, want, string(got[k]))
			keys := keysOf(t, got[k])
			assert.Equal(t, append(keysOf(t, clean[k]), field), keys)
		}
		// encoding/json takes the last of the repeated key, whatever its
		// case: the fault does what it is for.
		var row struct {
			EndingQty json.RawMessage `json:"ending_qty"`
		}
		require.NoError(t, json.Unmarshal(got[4], &row))
		if field == "not_sent" {
			assert.NotEqual(t, "999999", string(row.EndingQty))
		} else {
			assert.Equal(t, "999999", string(row.EndingQty))
		}
	}

	// In an object answer the data object itself repeats the key.
	a.s.SetFault(EndpointCompany, Fault{RowField: "timezone", RowValue: `"UTC"`, RowRepeat: true})
	var company struct{ Data json.RawMessage }
	require.NoError(t, json.Unmarshal(a.raw("/meta/company"), &company))
	keys := keysOf(t, company.Data)
	assert.Equal(t, "timezone", keys[len(keys)-1])
	assert.Equal(t, 2, strings.Count(strings.Join(keys, " "), "timezone"))
	a.s.ClearFaults()
}

func TestFaultRowRepeatNeedsAValue(t *testing.T) {
	s := NewHandlerServer(NewCompany(Config{Items: 5}))
	assert.Panics(t, func() { s.SetFault(EndpointItems, Fault{RowField: "id", RowRepeat: true}) })
}
