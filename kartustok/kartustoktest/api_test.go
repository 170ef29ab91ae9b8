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
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	idRe   = regexp.MustCompile(`^[0-9A-Za-z]{6}$`)
	qtyRe  = regexp.MustCompile(`^-?[0-9]+\.[0-9]{4}$`)
	dateRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// wantKeys fails unless obj has exactly the keys of the API.md example.
func wantKeys(t *testing.T, what string, obj map[string]any, keys ...string) {
	t.Helper()
	got := slices.Sorted(maps.Keys(obj))
	slices.Sort(keys)
	if !slices.Equal(got, keys) {
		t.Errorf("%s keys = %v, want %v", what, got, keys)
	}
}

func wantID(t *testing.T, what string, v any) {
	t.Helper()
	if s, ok := v.(string); !ok || !idRe.MatchString(s) {
		t.Errorf("%s = %#v, want an opaque string ID", what, v)
	}
}

func wantQty(t *testing.T, what string, v any) {
	t.Helper()
	if s, ok := v.(string); !ok || !qtyRe.MatchString(s) {
		t.Errorf("%s = %#v, want a decimal string with four decimals", what, v)
	}
}

func object(t *testing.T, b body) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b.Data, &m); err != nil {
		t.Fatalf("data is not an object: %v", err)
	}
	return m
}

func TestShapes(t *testing.T) {
	f := newFixture(t, Config{})
	expires := time.Date(2027, 1, 31, 16, 59, 59, 0, time.UTC)
	f.tok = f.c.AddToken(TokenSpec{Name: "Prometheus", ExpiresAt: expires})

	t.Run("health", func(t *testing.T) {
		b := f.get(t, "/health", http.StatusOK)
		if b.Status != "success" || b.Meta != nil {
			t.Errorf("envelope status %q meta %v", b.Status, b.Meta)
		}
		h := object(t, b)
		wantKeys(t, "health", h, "status", "time")
		if f.c.Today() != "2026-11-27" || f.c.Location().String() != "Asia/Jakarta" || f.c.MinimumStockMode() != ModePerWarehouse {
			t.Errorf("Today %s, Location %v, mode %s", f.c.Today(), f.c.Location(), f.c.MinimumStockMode())
		}
		if h["status"] != "ok" || h["time"] != "2026-11-27T14:03:00+07:00" {
			t.Errorf("health = %v", h)
		}
	})
	t.Run("meta/company", func(t *testing.T) {
		m := object(t, f.get(t, "/meta/company", http.StatusOK))
		wantKeys(t, "company", m, "id", "name", "subdomain", "timezone", "minimum_stock_mode", "token")
		wantID(t, "company id", m["id"])
		if m["name"] != "PT Sinar Jaya Abadi" || m["subdomain"] != "sinarjaya" || m["timezone"] != "Asia/Jakarta" ||
			m["minimum_stock_mode"] != "per_warehouse" {
			t.Errorf("company = %v", m)
		}
		tok := m["token"].(map[string]any)
		wantKeys(t, "token", tok, "name", "prefix", "scopes", "expires_at")
		if tok["name"] != "Prometheus" || tok["prefix"] != f.tok[:7] || !strings.HasPrefix(f.tok, "ks_") {
			t.Errorf("token = %v", tok)
		}
		if tok["expires_at"] != "2027-01-31T23:59:59+07:00" {
			t.Errorf("expires_at = %v, want RFC 3339 in the company's zone", tok["expires_at"])
		}
		if got := len(tok["scopes"].([]any)); got != 5 {
			t.Errorf("scopes = %v", tok["scopes"])
		}
	})
	t.Run("item-categories", func(t *testing.T) {
		b := f.get(t, "/item-categories", http.StatusOK)
		if b.Meta != nil {
			t.Error("item-categories is not paginated but has meta")
		}
		rs := rows(t, b)
		if len(rs) != 8 {
			t.Fatalf("%d categories, want 8", len(rs))
		}
		for _, r := range rs {
			wantKeys(t, "category", r, "id", "name", "description", "is_active")
			wantID(t, "category id", r["id"])
		}
		if rs[0]["name"] != "Bahan Baku" {
			t.Errorf("first category %v", rs[0])
		}
	})
	t.Run("locators", func(t *testing.T) {
		b := f.get(t, "/locators", http.StatusOK)
		if b.Meta != nil {
			t.Error("locators is not paginated but has meta")
		}
		rs := rows(t, b)
		if len(rs) != 4 {
			t.Fatalf("%d locators, want 4", len(rs))
		}
		for i, r := range rs {
			wantKeys(t, "locator", r, "id", "code", "name", "is_active")
			if r["id"] != f.c.LocatorIDs()[i] || r["code"] != "GDG-0"+string(rune('1'+i)) || r["is_active"] != true {
				t.Errorf("locator %d = %v", i, r)
			}
		}
	})
	t.Run("items", func(t *testing.T) {
		rs := f.all(t, "/items", url.Values{})
		if got, want := len(rs), len(f.c.ItemIDs()); got != want {
			t.Fatalf("%d items, want %d", got, want)
		}
		inactive := 0
		for i, r := range rs {
			wantKeys(t, "item", r, "id", "code", "name", "upc", "description", "category_id", "category_name",
				"uom", "minimum_qty", "is_active")
			if r["id"] != f.c.ItemIDs()[i] {
				t.Fatalf("item %d id %v, want API order", i, r["id"])
			}
			if r["code"] != "KS-"+strings.Repeat("0", 5-len(strconv.Itoa(i+1)))+strconv.Itoa(i+1) {
				t.Errorf("item %d code %v", i, r["code"])
			}
			if upc, _ := r["upc"].(string); len(upc) != 13 {
				t.Errorf("upc %v", r["upc"])
			}
			if r["minimum_qty"] != nil {
				t.Errorf("per_warehouse mode: item minimum_qty %v, want null", r["minimum_qty"])
			}
			ct, ok := f.c.Category(r["category_id"].(string))
			if !ok || ct.Name != r["category_name"] {
				t.Errorf("item category %v / %v", r["category_id"], r["category_name"])
			}
			if r["is_active"] == false {
				inactive++
			}
		}
		if inactive == 0 || inactive > len(rs)/5 {
			t.Errorf("%d of %d items inactive, want a few", inactive, len(rs))
		}
		one := object(t, f.get(t, "/items/"+rs[3]["id"].(string), http.StatusOK))
		if !maps.Equal(one, rs[3]) {
			t.Errorf("/items/{id} = %v, list row %v", one, rs[3])
		}
	})
	t.Run("stock/summary", func(t *testing.T) {
		b := f.get(t, "/stock/summary?per_page=100", http.StatusOK)
		rs := rows(t, b)
		if len(rs) != 100 {
			t.Fatalf("%d rows", len(rs))
		}
		withMin := 0
		for _, r := range rs {
			wantKeys(t, "summary row", r, "locator_id", "locator_name", "item_id", "item_code", "item_name",
				"category_id", "uom", "opening_qty", "in_qty", "out_qty", "ending_qty", "minimum_qty")
			for _, k := range []string{"opening_qty", "in_qty", "out_qty", "ending_qty"} {
				wantQty(t, k, r[k])
			}
			if r["minimum_qty"] != nil {
				wantQty(t, "minimum_qty", r["minimum_qty"])
				withMin++
			}
			l, _ := f.c.Locator(r["locator_id"].(string))
			it, _ := f.c.Item(r["item_id"].(string))
			if l.Name != r["locator_name"] || it.Code != r["item_code"] || it.Name != r["item_name"] ||
				it.CategoryID != r["category_id"] || it.UOM != r["uom"] {
				t.Errorf("row %v does not match locator %v / item %v", r, l, it)
			}
		}
		if withMin == 0 || withMin == len(rs) {
			t.Errorf("%d of %d rows have a per-warehouse minimum, want some", withMin, len(rs))
		}
	})
	t.Run("stock/detail", func(t *testing.T) {
		q := "/stock/detail?per_page=100&date_from=2026-10-01&locator_id=" + f.c.LocatorIDs()[0]
		rs := rows(t, f.get(t, q, http.StatusOK))
		if len(rs) != 100 {
			t.Fatalf("%d rows", len(rs))
		}
		types := map[any]int{}
		for _, r := range rs {
			wantKeys(t, "detail row", r, "id", "date", "document_no", "transaction_type", "locator_id", "item_id",
				"qty_in", "qty_out", "balance")
			wantID(t, "movement id", r["id"])
			for _, k := range []string{"qty_in", "qty_out", "balance"} {
				wantQty(t, k, r[k])
			}
			if !dateRe.MatchString(r["date"].(string)) || !regexp.MustCompile(`^(RCV|ISS|MOV|ADJ)/\d{4}/\d{2}/\d{4}$`).MatchString(r["document_no"].(string)) {
				t.Errorf("row %v", r)
			}
			types[r["transaction_type"]]++
		}
		if types["receipt"] == 0 {
			t.Errorf("transaction types %v", types)
		}
	})
}

func TestPagination(t *testing.T) {
	f := newFixture(t, Config{Items: 130})
	loc := f.c.LocatorIDs()[0]
	cases := []struct {
		path          string
		wantPerPage   int
		wantTotalRows int
	}{
		{"/items", 20, 130},
		{"/stock/summary?date_from=2026-10-01", 50, len(f.c.StockPairs())},
		{"/stock/detail?date_from=2026-10-01&locator_id=" + loc, 50, -1},
	}
	for _, tc := range cases {
		b := f.get(t, tc.path, http.StatusOK)
		if b.Meta == nil || b.Meta.PerPage != tc.wantPerPage || b.Meta.CurrentPage != 1 {
			t.Fatalf("%s: meta %+v, want per_page %d", tc.path, b.Meta, tc.wantPerPage)
		}
		if tc.wantTotalRows >= 0 && b.Meta.Total != tc.wantTotalRows {
			t.Errorf("%s: total %d, want %d", tc.path, b.Meta.Total, tc.wantTotalRows)
		}
		if want := (b.Meta.Total + b.Meta.PerPage - 1) / b.Meta.PerPage; b.Meta.LastPage != want {
			t.Errorf("%s: last_page %d, want %d", tc.path, b.Meta.LastPage, want)
		}
		if len(rows(t, b)) != min(tc.wantPerPage, b.Meta.Total) {
			t.Errorf("%s: first page has %d rows", tc.path, len(rows(t, b)))
		}
		sep := "?"
		if strings.Contains(tc.path, "?") {
			sep = "&"
		}
		last := f.get(t, tc.path+sep+"per_page=100&page="+strconv.Itoa(max(1, (b.Meta.Total+99)/100)), http.StatusOK)
		if n := len(rows(t, last)); n != b.Meta.Total-(last.Meta.CurrentPage-1)*100 {
			t.Errorf("%s: last page with per_page=100 has %d rows, total %d", tc.path, n, b.Meta.Total)
		}
		past := f.get(t, tc.path+sep+"page=9999", http.StatusOK)
		if n := len(rows(t, past)); n != 0 || past.Meta.Total != b.Meta.Total {
			t.Errorf("%s: page past the end has %d rows, meta %+v", tc.path, n, past.Meta)
		}
	}
	// A repeated parameter counts with its last value, as PHP parses it.
	if b := f.get(t, "/items?per_page=5&per_page=7", http.StatusOK); b.Meta.PerPage != 7 || len(rows(t, b)) != 7 {
		t.Errorf("repeated per_page: meta %+v", b.Meta)
	}
	f.get(t, "/items?per_page=5&per_page=500", http.StatusUnprocessableEntity)
	// A list that matches nothing still says last_page 1, as Laravel does.
	b := f.get(t, "/items?q=no-such-item", http.StatusOK)
	if b.Meta.Total != 0 || b.Meta.LastPage != 1 || string(b.Data) != "[]" {
		t.Errorf("empty list: data %s meta %+v", b.Data, b.Meta)
	}
}

func TestItemFilters(t *testing.T) {
	f := newFixture(t, Config{Items: 300})
	all := f.all(t, "/items", url.Values{})
	count := func(pred func(map[string]any) bool) int {
		n := 0
		for _, r := range all {
			if pred(r) {
				n++
			}
		}
		return n
	}
	active := f.all(t, "/items", url.Values{"is_active": {"1"}})
	inactive := f.all(t, "/items", url.Values{"is_active": {"0"}})
	if len(active) != count(func(r map[string]any) bool { return r["is_active"] == true }) ||
		len(inactive) != count(func(r map[string]any) bool { return r["is_active"] == false }) ||
		len(inactive) == 0 {
		t.Errorf("is_active: %d active, %d inactive of %d", len(active), len(inactive), len(all))
	}
	cat := f.c.CategoryIDs()[2]
	byCat := f.all(t, "/items", url.Values{"category_id": {cat}})
	if want := count(func(r map[string]any) bool { return r["category_id"] == cat }); len(byCat) != want || want == 0 {
		t.Errorf("category_id: %d rows, want %d", len(byCat), want)
	}
	// q searches code and name, case-insensitively.
	for _, tc := range []struct {
		q    string
		want func(map[string]any) bool
	}{
		{"ks-0001", func(r map[string]any) bool { return strings.HasPrefix(r["code"].(string), "KS-0001") }},
		{"TORAJA", func(r map[string]any) bool { return strings.Contains(strings.ToLower(r["name"].(string)), "toraja") }},
		{"gula", func(r map[string]any) bool { return strings.Contains(strings.ToLower(r["name"].(string)), "gula") }},
	} {
		got := f.all(t, "/items", url.Values{"q": {tc.q}})
		if want := count(tc.want); len(got) != want || want == 0 {
			t.Errorf("q=%s: %d rows, want %d", tc.q, len(got), want)
		}
	}
	if n := len(f.all(t, "/items", url.Values{"category_id": {"zzzzzz"}})); n != 0 {
		t.Errorf("unknown category: %d rows", n)
	}
}

func TestValidation(t *testing.T) {
	f := newFixture(t, Config{})
	loc := "&locator_id=" + f.c.LocatorIDs()[0]
	cases := []struct{ path, field, msg string }{
		{"/stock/detail", "locator_id", "The locator id field is required."},
		{"/stock/detail?locator_id=", "locator_id", "The locator id field is required."},
		{"/items?per_page=101", "per_page", "The per page field must not be greater than 100."},
		{"/items?per_page=0", "per_page", "The per page field must be at least 1."},
		{"/stock/summary?per_page=abc", "per_page", "The per page field must be an integer."},
		{"/stock/summary?page=0", "page", "The page field must be at least 1."},
		{"/stock/summary?page=-3", "page", "The page field must be at least 1."},
		{"/items?page=1.5", "page", "The page field must be an integer."},
		{"/stock/summary?date_from=2026-13-01", "date_from", "The date from field must match the format Y-m-d."},
		{"/stock/summary?date_to=27-11-2026", "date_to", "The date to field must match the format Y-m-d."},
		{"/stock/summary?date_from=2026-11-3", "date_from", "The date from field must match the format Y-m-d."},
		{"/stock/summary?date_from=2026-11-20&date_to=2026-11-19", "date_to", "The date to field must be a date after or equal to date from."},
		{"/stock/detail?date_from=2026-02-30" + loc, "date_from", "The date from field must match the format Y-m-d."},
		{"/items?is_active=2", "is_active", "The is active field must be true or false."},
		{"/items?is_active=true", "is_active", "The is active field must be true or false."},
		{"/stock/detail?transaction_type=sale" + loc, "transaction_type", "The selected transaction type is invalid."},
	}
	for _, tc := range cases {
		b := f.get(t, tc.path, http.StatusUnprocessableEntity)
		if b.Status != "error" || b.Message != tc.msg || len(b.Errors[tc.field]) != 1 || b.Errors[tc.field][0] != tc.msg {
			t.Errorf("%s: %+v, want message %q on %s", tc.path, b, tc.msg, tc.field)
		}
	}
	b := f.get(t, "/stock/detail?per_page=500&page=0", http.StatusUnprocessableEntity)
	if b.Message != "The locator id field is required. (and 2 more errors)" || len(b.Errors) != 3 {
		t.Errorf("several errors: %+v", b)
	}
	for _, path := range []string{"/items/abc", "/items/toolong1", "/stock/summary?locator_id=x", "/stock/detail?locator_id=bad-id"} {
		if b := f.get(t, path, http.StatusNotFound); b.Message != "Invalid public ID" {
			t.Errorf("%s: %+v", path, b)
		}
	}
	if b := f.get(t, "/items/zzzzzz", http.StatusNotFound); b.Message != "Item not found" || b.Status != "error" {
		t.Errorf("unknown item: %+v", b)
	}
	// A well-formed ID that matches nothing filters to nothing.
	if b := f.get(t, "/stock/detail?locator_id=zzzzzz", http.StatusOK); b.Meta.Total != 0 {
		t.Errorf("unknown locator: %+v", b.Meta)
	}
}

func TestInvalidURLAndMethods(t *testing.T) {
	f := newFixture(t, Config{})
	for _, p := range []string{
		"/public/v1", "/public/v1/", "/public/v1/nope", "/public/v1/items/", "/public/v1/items/abcdef/x",
		"/public/v2/health", "/", "/health", "/public/v1/stock", "/public/v1/Stock/summary",
	} {
		for _, tok := range []string{f.tok, ""} {
			r := httptest.NewRequest(http.MethodGet, p, nil)
			if tok != "" {
				r.Header.Set("Authorization", "Bearer "+tok)
			}
			w := httptest.NewRecorder()
			f.s.Handler().ServeHTTP(w, r)
			if b := decodeAnswer(t, w, p, http.StatusNotFound); b.Status != "error" || b.Message != "Invalid URL" {
				t.Errorf("%s: %+v", p, b)
			}
		}
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		r := httptest.NewRequest(m, BasePath+"/items", strings.NewReader("{}"))
		r.Header.Set("Authorization", "Bearer "+f.tok)
		w := httptest.NewRecorder()
		f.s.Handler().ServeHTTP(w, r)
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %d %v", m, w.Code, w.Header())
		}
	}
	r := httptest.NewRequest(http.MethodHead, BasePath+"/health", nil)
	r.Header.Set("Authorization", "Bearer "+f.tok)
	w := httptest.NewRecorder()
	f.s.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Errorf("HEAD: %d", w.Code)
	}
	if got := f.s.Count("/nope", http.StatusNotFound); got != 2 {
		t.Errorf("log counts %d requests to /nope, want 2", got)
	}
}

// TestInMemory serves the real API through the in-memory transport, with
// the loopback address allowed-IP checks see, and fails a request whose
// context has ended as a socket would.
func TestInMemory(t *testing.T) {
	c := NewCompany(Config{Locators: 1, Items: 3})
	tok := c.AddToken(TokenSpec{AllowedIPs: []string{"127.0.0.1"}})
	srv := NewHandlerServer(c)
	client := &http.Client{Transport: InMemory(srv.Handler())}

	req, err := http.NewRequest(http.MethodGet, "http://sim.invalid/public/v1/health", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200 for a token allowed from 127.0.0.1", resp.StatusCode)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := client.Do(req.WithContext(ctx)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
