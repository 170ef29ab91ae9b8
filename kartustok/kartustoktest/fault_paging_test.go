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
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// httpAPI is a company of 45 items on a stopped clock, served over a real
// socket without a throttle.
type httpAPI struct {
	t   *testing.T
	c   *Company
	s   *Server
	tok string
}

func newHTTPAPI(t *testing.T) *httpAPI {
	t.Helper()
	c := NewCompany(Config{Items: 45, NumberQuantities: 0.3, Now: func() time.Time { return testStart }})
	s := NewServer(c, WithRateLimit(0, 0))
	t.Cleanup(s.Close)
	return &httpAPI{t: t, c: c, s: s, tok: c.AddToken(TokenSpec{})}
}

// raw GETs path (relative to the base URL) and wants a 200 JSON answer.
func (a *httpAPI) raw(path string) []byte {
	a.t.Helper()
	req, err := http.NewRequestWithContext(a.t.Context(), http.MethodGet, a.s.URL+path, nil)
	require.NoError(a.t, err)
	req.Header.Set("Authorization", "Bearer "+a.tok)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err)
	require.Equal(a.t, http.StatusOK, resp.StatusCode, "GET %s: %s", path, b)
	require.Equal(a.t, "application/json", resp.Header.Get("Content-Type"))
	return b
}

// answer is a decoded list answer, with the raw bytes of every value.
type answer struct {
	top  map[string]json.RawMessage
	rows []map[string]json.RawMessage
	meta map[string]json.RawMessage // nil when absent
}

// get GETs a list answer.
func (a *httpAPI) get(path string) answer {
	a.t.Helper()
	return decodeList(a.t, a.raw(path))
}

func decodeList(t *testing.T, b []byte) answer {
	t.Helper()
	var ans answer
	require.NoError(t, json.Unmarshal(b, &ans.top), "%s", b)
	require.NoError(t, json.Unmarshal(ans.top["data"], &ans.rows), "%s", b)
	if m, ok := ans.top["meta"]; ok {
		require.NoError(t, json.Unmarshal(m, &ans.meta))
	}
	return ans
}

// count is one integer field of the meta block.
func (ans answer) count(t *testing.T, field string) int {
	t.Helper()
	raw, ok := ans.meta[field]
	require.True(t, ok, "meta has no %s: %v", field, ans.meta)
	n, err := strconv.Atoi(string(raw))
	require.NoError(t, err)
	return n
}

// keys identifies each row: its id, or its locator and item.
func (ans answer) keys() []string {
	out := make([]string, len(ans.rows))
	for i, r := range ans.rows {
		if id, ok := r["id"]; ok {
			out[i] = string(id)
		} else {
			out[i] = string(r["locator_id"]) + "/" + string(r["item_id"])
		}
	}
	return out
}

// listing reads every page of /items with per_page 10.
func (a *httpAPI) listing() []string {
	a.t.Helper()
	var out []string
	for page := 1; page <= 5; page++ {
		ans := a.get("/items?per_page=10&page=" + strconv.Itoa(page))
		require.Equal(a.t, 45, ans.count(a.t, "total"))
		out = append(out, ans.keys()...)
	}
	require.Len(a.t, out, 45)
	return out
}

func itemsPage(page int) string { return "/items?per_page=10&page=" + strconv.Itoa(page) }

func TestFaultZeroValueChangesNothing(t *testing.T) {
	a := newHTTPAPI(t)
	loc := a.c.LocatorIDs()[0]
	paths := map[string][]string{
		EndpointHealth:         {"/health"},
		EndpointCompany:        {"/meta/company"},
		EndpointItemCategories: {"/item-categories"},
		EndpointLocators:       {"/locators"},
		EndpointItem:           {"/items/" + a.c.ItemIDs()[3]},
		EndpointItems:          {"/items", itemsPage(2), itemsPage(5), itemsPage(6)},
		EndpointStockSummary:   {"/stock/summary?per_page=100", "/stock/summary?per_page=7&page=3"},
		EndpointStockDetail:    {"/stock/detail?locator_id=" + loc, "/stock/detail?per_page=3&page=2&locator_id=" + loc},
	}
	// Each of these leaves a field at its zero value or sets one that does
	// nothing on its own.
	faults := []Fault{{}, {EchoPage: true}, {RowValue: `"x"`, RowIndex: -1}, {RowIndex: 3}}
	for endpoint, ps := range paths {
		for _, p := range ps {
			clean := a.raw(p)
			for _, f := range faults {
				a.s.SetFault(endpoint, f)
				assert.Equal(t, string(clean), string(a.raw(p)), "GET %s with %+v", p, f)
				a.s.ClearFaults()
			}
		}
	}
	// The meta block keeps its exact shape.
	assert.Contains(t, string(a.raw(itemsPage(2))), `,"meta":{"current_page":2,"per_page":10,"total":45,"last_page":5}}`)
}

func TestFaultIgnorePage(t *testing.T) {
	a := newHTTPAPI(t)
	clean := a.listing()
	for _, endpoint := range []string{EndpointItems, EndpointStockSummary} {
		path := map[string]string{EndpointItems: "/items?per_page=10", EndpointStockSummary: "/stock/summary?per_page=10"}[endpoint]
		first := a.get(path + "&page=1")
		t.Run(endpoint, func(t *testing.T) {
			a.s.SetFault(endpoint, Fault{IgnorePage: true})
			defer a.s.ClearFaults()
			for _, page := range []int{1, 3, 9} {
				ans := a.get(path + "&page=" + strconv.Itoa(page))
				assert.Equal(t, first.keys(), ans.keys(), "page %d", page)
				assert.Equal(t, 1, ans.count(t, "current_page"), "page %d", page)
				assert.Equal(t, first.meta, ans.meta, "page %d", page)
			}

			a.s.SetFault(endpoint, Fault{IgnorePage: true, EchoPage: true})
			for _, page := range []int{1, 3, 9} {
				ans := a.get(path + "&page=" + strconv.Itoa(page))
				assert.Equal(t, first.keys(), ans.keys(), "page %d", page)
				assert.Equal(t, page, ans.count(t, "current_page"), "page %d", page)
				assert.Equal(t, first.count(t, "total"), ans.count(t, "total"))
				assert.Equal(t, first.count(t, "last_page"), ans.count(t, "last_page"))
			}
		})
	}
	assert.Equal(t, clean[:10], a.get(itemsPage(1)).keys())
}

func TestFaultShift(t *testing.T) {
	a := newHTTPAPI(t)
	clean := a.listing()

	t.Run("every page", func(t *testing.T) {
		a.s.SetFault(EndpointItems, Fault{Shift: 3})
		defer a.s.ClearFaults()
		p1 := a.get(itemsPage(1))
		assert.Equal(t, clean[:10], p1.keys(), "page 1 is unaffected")
		assert.Equal(t, 45, p1.count(t, "total"))
		assert.Equal(t, 5, p1.count(t, "last_page"))
		p2 := a.get(itemsPage(2))
		assert.Equal(t, clean[7:17], p2.keys(), "the last 3 rows of page 1 come again")
		assert.Equal(t, 2, p2.count(t, "current_page"))
		assert.Equal(t, 48, p2.count(t, "total"))
		assert.Equal(t, 5, p2.count(t, "last_page"))
		assert.Equal(t, clean[37:], a.get(itemsPage(5)).keys())
		assert.Empty(t, a.get(itemsPage(6)).rows)
	})
	t.Run("last page grows", func(t *testing.T) {
		a.s.SetFault(EndpointItems, Fault{Shift: 7})
		defer a.s.ClearFaults()
		p5 := a.get(itemsPage(5))
		assert.Equal(t, clean[33:43], p5.keys())
		assert.Equal(t, 52, p5.count(t, "total"))
		assert.Equal(t, 6, p5.count(t, "last_page"))
		assert.Equal(t, clean[43:], a.get(itemsPage(6)).keys())
	})
	t.Run("times 1", func(t *testing.T) {
		// A client has read page 1; one request later the list has moved.
		assert.Equal(t, clean[:10], a.get(itemsPage(1)).keys())
		a.s.SetFault(EndpointItems, Fault{Shift: 3, Times: 1})
		p2 := a.get(itemsPage(2))
		assert.Equal(t, clean[7:17], p2.keys())
		assert.Equal(t, 48, p2.count(t, "total"))
		// Reading again from page 1 gives the true listing.
		assert.Equal(t, clean, a.listing())
	})
	t.Run("times counts page 1", func(t *testing.T) {
		a.s.SetFault(EndpointItems, Fault{Shift: 3, Times: 2})
		assert.Equal(t, clean[:10], a.get(itemsPage(1)).keys())
		assert.Equal(t, clean[7:17], a.get(itemsPage(2)).keys())
		assert.Equal(t, clean[20:30], a.get(itemsPage(3)).keys(), "the fault is spent")
	})
	t.Run("negative", func(t *testing.T) {
		a.s.SetFault(EndpointItems, Fault{Shift: -4})
		defer a.s.ClearFaults()
		p2 := a.get(itemsPage(2))
		assert.Equal(t, clean[14:24], p2.keys(), "4 rows are skipped")
		assert.Equal(t, 41, p2.count(t, "total"))
		assert.Equal(t, 5, p2.count(t, "last_page"))
		a.s.SetFault(EndpointItems, Fault{Shift: -100})
		p2 = a.get(itemsPage(2))
		assert.Empty(t, p2.rows)
		assert.Equal(t, 0, p2.count(t, "total"))
		assert.Equal(t, 1, p2.count(t, "last_page"))
	})
	t.Run("beyond the page start", func(t *testing.T) {
		a.s.SetFault(EndpointItems, Fault{Shift: 15})
		defer a.s.ClearFaults()
		p2 := a.get(itemsPage(2))
		assert.Equal(t, clean[:5], p2.keys(), "the inserted rows are not served")
		assert.Equal(t, 60, p2.count(t, "total"))
		assert.Equal(t, 6, p2.count(t, "last_page"))
	})
	t.Run("stock detail", func(t *testing.T) {
		path := "/stock/detail?per_page=5&locator_id=" + a.c.LocatorIDs()[0] + "&date_from=2026-10-01&page="
		p1 := a.get(path + "1")
		p2 := a.get(path + "2")
		require.Len(t, p2.rows, 5)
		a.s.SetFault(EndpointStockDetail, Fault{Shift: 2})
		defer a.s.ClearFaults()
		shifted := a.get(path + "2")
		assert.Equal(t, append(p1.keys()[3:], p2.keys()[:3]...), shifted.keys())
		assert.Equal(t, p2.count(t, "total")+2, shifted.count(t, "total"))
	})
}

func TestFaultTotalDrift(t *testing.T) {
	a := newHTTPAPI(t)
	clean := a.listing()
	a.s.SetFault(EndpointItems, Fault{TotalDrift: 7})
	defer a.s.ClearFaults()
	p1 := a.get(itemsPage(1))
	assert.Equal(t, 45, p1.count(t, "total"), "page 1 is unaffected")
	p2 := a.get(itemsPage(2))
	assert.Equal(t, clean[10:20], p2.keys())
	assert.Equal(t, 52, p2.count(t, "total"))
	assert.Equal(t, 5, p2.count(t, "last_page"), "last_page stays the real one")

	a.s.SetFault(EndpointItems, Fault{TotalDrift: -5})
	assert.Equal(t, 40, a.get(itemsPage(3)).count(t, "total"))
	a.s.SetFault(EndpointItems, Fault{TotalDrift: -1000})
	p3 := a.get(itemsPage(3))
	assert.Equal(t, 0, p3.count(t, "total"))
	assert.Equal(t, clean[20:30], p3.keys())
	assert.Equal(t, 5, p3.count(t, "last_page"))
}

func TestFaultLastPage(t *testing.T) {
	a := newHTTPAPI(t)
	clean := a.listing()
	for _, last := range []int{1, 1_000_000_000} {
		a.s.SetFault(EndpointItems, Fault{LastPage: last})
		for page := 1; page <= 6; page++ {
			ans := a.get(itemsPage(page))
			assert.Equal(t, last, ans.count(t, "last_page"))
			assert.Equal(t, 45, ans.count(t, "total"))
			assert.Equal(t, page, ans.count(t, "current_page"))
			assert.Equal(t, clean[min(45, (page-1)*10):min(45, page*10)], ans.keys())
		}
	}
	a.s.ClearFaults()
	assert.Equal(t, 5, a.get(itemsPage(1)).count(t, "last_page"))
}

func TestFaultNoTotalNoMeta(t *testing.T) {
	a := newHTTPAPI(t)
	path := "/stock/summary?per_page=10&page=2"
	clean := a.get(path)

	a.s.SetFault(EndpointStockSummary, Fault{NoTotal: true})
	ans := a.get(path)
	assert.NotContains(t, ans.meta, "total")
	assert.Equal(t, map[string]json.RawMessage{
		"current_page": []byte("2"), "per_page": []byte("10"),
		"last_page": clean.meta["last_page"],
	}, ans.meta)
	assert.Equal(t, clean.rows, ans.rows)

	a.s.SetFault(EndpointStockSummary, Fault{NoMeta: true})
	ans = a.get(path)
	assert.Nil(t, ans.meta)
	assert.Len(t, ans.top, 2, "only status and data: %v", ans.top)
	assert.Equal(t, `"success"`, string(ans.top["status"]))
	assert.Equal(t, clean.rows, ans.rows)

	a.s.ClearFaults()
	assert.Equal(t, clean, a.get(path))
}

func TestFaultPagingCombined(t *testing.T) {
	a := newHTTPAPI(t)
	clean := a.listing()
	// IgnorePage wins over Shift and TotalDrift; LastPage and NoTotal
	// still apply.
	a.s.SetFault(EndpointItems, Fault{IgnorePage: true, EchoPage: true, Shift: 3, TotalDrift: 9, LastPage: 2, NoTotal: true})
	defer a.s.ClearFaults()
	ans := a.get(itemsPage(4))
	assert.Equal(t, clean[:10], ans.keys())
	assert.Equal(t, map[string]json.RawMessage{
		"current_page": []byte("4"), "per_page": []byte("10"),
		"last_page": []byte("2"),
	}, ans.meta)
	// EndlessPages still fills every page; TotalDrift moves its total.
	a.s.SetFault(EndpointItems, Fault{EndlessPages: true, TotalDrift: -1})
	ans = a.get(itemsPage(13))
	assert.Len(t, ans.rows, 10)
	assert.Equal(t, endlessLastPage*10-1, ans.count(t, "total"))
	assert.Equal(t, endlessLastPage, ans.count(t, "last_page"))
}
