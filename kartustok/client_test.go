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
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/version"
	"github.com/stretchr/testify/assert"
)

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNewNormalisesBaseURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://sinarjaya.kartustok.com", "https://sinarjaya.kartustok.com/public/v1"},
		{"https://sinarjaya.kartustok.com/", "https://sinarjaya.kartustok.com/public/v1"},
		{"https://sinarjaya.kartustok.com/public/v1", "https://sinarjaya.kartustok.com/public/v1"},
		{"https://sinarjaya.kartustok.com/public/v1/", "https://sinarjaya.kartustok.com/public/v1"},
		{"https://sinarjaya.kartustok.com/public/v1//", "https://sinarjaya.kartustok.com/public/v1"},
		{" http://127.0.0.1:8080 ", "http://127.0.0.1:8080/public/v1"},
		{"https://proxy.example/kartustok/public/v1", "https://proxy.example/kartustok/public/v1"},
	} {
		c, err := New(tc.in, StaticToken("x"))
		if err != nil {
			t.Errorf("New(%q): %v", tc.in, err)
			continue
		}
		if got := c.BaseURL(); got != tc.want {
			t.Errorf("New(%q).BaseURL() = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNewRefusesBadBaseURLs(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://member.kartustok.com/public/v1", "use your company's own https://<subdomain>.kartustok.com/public/v1"},
		{"https://MEMBER.kartustok.com.", "member domain"},
		{"https://member.kartustok.com:443", "member domain"},
		{"ftp://sinarjaya.kartustok.com", "https://"},
		{"sinarjaya.kartustok.com", "https://"},
		{"https://", "no host"},
		{"https://user:pw@sinarjaya.kartustok.com", "credentials"},
		{"https://sinarjaya.kartustok.com/public/v1?x=1", "query"},
		{"https://proxy.example/kartustok/", "use https://proxy.example/public/v1"},
		{"https://sinar jaya.kartustok.com/\x7f", "base URL"},
	} {
		_, err := New(tc.in, StaticToken("x"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
	if strings.Contains(fmt.Sprint(New("https://user:pw@a.kartustok.com", StaticToken("x"))), "pw") {
		t.Error("error repeats the password of a base URL")
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	for name, o := range map[string]Option{
		"timeout":  WithTimeout(0),
		"budget":   WithBudget(0, time.Minute),
		"window":   WithBudget(10, 0),
		"body":     WithMaxBodyBytes(0),
		"retries":  WithMaxRetries(-1),
		"pages":    WithMaxPages(0),
		"no token": nil,
	} {
		var err error
		if o == nil {
			_, err = New("https://a.kartustok.com", nil)
		} else {
			_, err = New("https://a.kartustok.com", StaticToken("x"), o)
		}
		if err == nil {
			t.Errorf("%s: New accepted a bad option", name)
		}
	}
	c, err := New("https://a.kartustok.com", StaticToken("x"), WithBudget(50, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if b, w := c.Budget(); b != 50 || w != 30*time.Second {
		t.Errorf("Budget() = %d, %s", b, w)
	}
	c, _ = New("https://a.kartustok.com", StaticToken("x"))
	if b, w := c.Budget(); b != 96 || w != time.Minute {
		t.Errorf("default Budget() = %d, %s, want 96 per 1m", b, w)
	}
}

func TestRequestHeaders(t *testing.T) {
	var got http.Header
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.Header().Set("X-RateLimit-Limit", "120")
		w.Header().Set("X-RateLimit-Remaining", "117")
		writeJSON(w, 200, `{"status":"success","data":{"status":"ok","time":"t"}}`)
	}), WithVersion("1.2.3"))
	if c.RateLimit().Known {
		t.Error("RateLimit known before any request")
	}
	if _, err := c.Health(t.Context()); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"Authorization": "Bearer " + testToken,
		"Accept":        "application/json",
		"User-Agent":    "kartustok_exporter/1.2.3",
	} {
		if got.Get(k) != want {
			t.Errorf("%s: %q, want %q", k, got.Get(k), want)
		}
	}
	rl := c.RateLimit()
	if !rl.Known || rl.Limit != 120 || rl.Remaining != 117 || rl.At.IsZero() {
		t.Errorf("RateLimit() = %+v", rl)
	}

	saved := version.Version
	t.Cleanup(func() { version.Version = saved })
	version.Version = "9.8.7"
	if c, _ = New("https://a.kartustok.com", StaticToken("x")); c.userAgent != "kartustok_exporter/9.8.7" {
		t.Errorf("User-Agent from the build version %q", c.userAgent)
	}
	version.Version = ""
	if c, _ = New("https://a.kartustok.com", StaticToken("x")); c.userAgent != "kartustok_exporter/unknown" {
		t.Errorf("User-Agent without a build version %q", c.userAgent)
	}
}

func TestDefaultTransportBoundsEveryPhase(t *testing.T) {
	c, err := New("https://a.kartustok.com", StaticToken("x"), WithTimeout(7*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := c.transport.(*http.Transport)
	if !ok {
		t.Fatalf("default transport %T", c.transport)
	}
	if tr.DialContext == nil || tr.TLSHandshakeTimeout <= 0 || tr.ResponseHeaderTimeout != 7*time.Second || tr.Proxy == nil {
		t.Errorf("transport %+v", tr)
	}
	if c.http.CheckRedirect == nil || c.http.Transport != tr {
		t.Error("the HTTP client does not use the transport and redirect policy")
	}
}

// apiHandler serves the API.md examples, checking each request's query.
func apiHandler(t *testing.T, queries *[]string) http.Handler {
	mux := http.NewServeMux()
	serve := func(path, file string) {
		body := readTestdata(t, file)
		mux.HandleFunc("GET /public/v1"+path, func(w http.ResponseWriter, r *http.Request) {
			*queries = append(*queries, r.URL.Path+"?"+r.URL.RawQuery)
			writeJSON(w, 200, body)
		})
	}
	serve("/health", "health.json")
	serve("/meta/company", "company.json")
	serve("/item-categories", "item_categories.json")
	serve("/locators", "locators.json")
	serve("/items", "items.json")
	serve("/stock/summary", "stock_summary.json")
	serve("/stock/detail", "stock_detail.json")
	mux.HandleFunc("GET /public/v1/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		*queries = append(*queries, r.URL.EscapedPath())
		writeJSON(w, 200, `{"status":"success","data":{"id":12345,"code":"KS-1","name":"A \"quoted\"\\ name\n","minimum_qty":null,"is_active":false,"extra":{"x":[1]}}}`)
	})
	return mux
}

func TestEndpointsDecodeTheDocumentedShapes(t *testing.T) {
	var queries []string
	c, rec := newTestClient(t, apiHandler(t, &queries))
	ctx := t.Context()

	h, err := c.Health(ctx)
	if err != nil || h.Status != "ok" || h.Time != "2026-11-27T14:03:00+07:00" {
		t.Errorf("Health() = %+v, %v", h, err)
	}
	co, err := c.Company(ctx)
	if err != nil || co.ID != "c9XkQ2" || co.Timezone != "Asia/Jakarta" || co.MinimumStockMode != MinimumStockPerWarehouse ||
		co.Token == nil || co.Token.Prefix != "ks_4f9a" || len(co.Token.Scopes) != 5 || co.Token.ExpiresAt == nil ||
		!co.Token.ExpiresAt.Equal(time.Date(2027, 1, 31, 16, 59, 59, 0, time.UTC)) {
		t.Errorf("Company() = %+v, %v", co, err)
	}
	cats, _, err := c.ItemCategories(ctx)
	if err != nil || len(cats) != 1 || cats[0] != (Category{ID: "Qm3x8a", Name: "Bahan Baku", Description: "Raw material", Active: true}) {
		t.Errorf("ItemCategories() = %+v, %v", cats, err)
	}
	locs, _, err := c.Locators(ctx)
	if err != nil || len(locs) != 1 || locs[0] != (Locator{ID: "Lr8pW1", Code: "GDG-01", Name: "Gudang Utama", Active: true}) {
		t.Errorf("Locators() = %+v, %v", locs, err)
	}
	yes, no := true, false
	items, pages, err := c.Items(ctx, ItemFilter{Query: "tepung & co", Active: &yes, CategoryID: "Qm3x8a"})
	if err != nil || pages.Pages != 1 || len(items) != 1 || items[0].MinimumQty == nil || *items[0].MinimumQty != 40 || items[0].UPC != "8991234567890" {
		t.Errorf("Items() = %+v, %d, %v", items, pages.Pages, err)
	}
	if _, _, err := c.Items(ctx, ItemFilter{Active: &no}); err != nil {
		t.Error(err)
	}
	rows, pages, err := c.StockSummary(ctx, StockSummaryFilter{LocatorID: "Lr8pW1", ItemID: "It7fZk", CategoryID: "Qm3x8a", DateFrom: "2026-11-01", DateTo: "2026-11-27"})
	want := StockRow{
		LocatorID: "Lr8pW1", LocatorName: "Gudang Utama", ItemID: "It7fZk", ItemCode: "KS-00001", ItemName: "Tepung Terigu 25 kg",
		CategoryID: "Qm3x8a", UOM: "sak", OpeningQty: 120, InQty: new(Quantity(50)), OutQty: new(Quantity(35)), EndingQty: 135,
	}
	if err != nil || pages.Pages != 1 || len(rows) != 1 || rows[0].MinimumQty == nil || *rows[0].MinimumQty != 60 {
		t.Fatalf("StockSummary() = %+v, %d, %v", rows, pages.Pages, err)
	}
	rows[0].MinimumQty = nil
	assert.Equal(t, want, rows[0], "StockSummary() row")
	if _, _, err := c.StockSummary(ctx, StockSummaryFilter{}); err != nil {
		t.Error(err)
	}
	mv, pages, err := c.StockDetail(ctx, StockDetailFilter{LocatorID: "Lr8pW1", ItemID: "It7fZk", TransactionType: "receipt", DateFrom: "2026-11-27", DateTo: "2026-11-27"})
	if err != nil || pages.Pages != 1 || len(mv) != 1 || mv[0] != (Movement{
		ID: "Mv2Lq9", Date: "2026-11-27", DocumentNo: "RCV/2026/11/0042",
		TransactionType: "receipt", LocatorID: "Lr8pW1", ItemID: "It7fZk", QtyIn: 50, Balance: 135,
	}) {
		t.Errorf("StockDetail() = %+v, %d, %v", mv, pages.Pages, err)
	}
	it, err := c.Item(ctx, "It/7 f..")
	if err != nil || it.ID != "12345" || it.MinimumQty != nil || it.Name != "A \"quoted\"\\ name\n" || it.Active {
		t.Errorf("Item() = %+v, %v", it, err)
	}
	if _, err := c.Item(ctx, ".."); err != nil {
		t.Error(err)
	}

	wantQueries := []string{
		"/public/v1/health?",
		"/public/v1/meta/company?",
		"/public/v1/item-categories?",
		"/public/v1/locators?",
		"/public/v1/items?category_id=Qm3x8a&is_active=1&page=1&per_page=100&q=tepung+%26+co",
		"/public/v1/items?is_active=0&page=1&per_page=100",
		"/public/v1/stock/summary?category_id=Qm3x8a&date_from=2026-11-01&date_to=2026-11-27&item_id=It7fZk&locator_id=Lr8pW1&page=1&per_page=100",
		"/public/v1/stock/summary?page=1&per_page=100",
		"/public/v1/stock/detail?date_from=2026-11-27&date_to=2026-11-27&item_id=It7fZk&locator_id=Lr8pW1&page=1&per_page=100&transaction_type=receipt",
		"/public/v1/items/It%2F7%20f..",
		"/public/v1/items/%2E%2E",
	}
	if strings.Join(queries, "\n") != strings.Join(wantQueries, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(queries, "\n"), strings.Join(wantQueries, "\n"))
	}

	var endpoints []string
	for _, r := range rec.Requests() {
		endpoints = append(endpoints, r.Endpoint)
		if r.Status != 200 || r.Kind != "" || r.Attempt != 1 || r.Bytes <= 0 || r.Duration <= 0 {
			t.Errorf("observed %+v", r)
		}
	}
	if got := strings.Join(endpoints, " "); got != "/health /meta/company /item-categories /locators /items /items /stock/summary /stock/summary /stock/detail /items/{id} /items/{id}" {
		t.Errorf("observed endpoints %s", got)
	}
}

func TestCallsRefusedBeforeAnyRequest(t *testing.T) {
	var n atomic.Int32
	c, _ := newTestClient(t, http.HandlerFunc(func(_ http.ResponseWriter, _ *http.Request) { n.Add(1) }))
	if _, _, err := c.StockDetail(t.Context(), StockDetailFilter{ItemID: "x"}); err == nil || !strings.Contains(err.Error(), "locator") {
		t.Errorf("StockDetail without locator: %v", err)
	}
	if _, err := c.Item(t.Context(), ""); err == nil {
		t.Error("Item(\"\") did not fail")
	}
	if n.Load() != 0 {
		t.Errorf("%d requests sent", n.Load())
	}
}

func TestErrorClasses(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		ct, body  string
		kind      ErrorKind
		forbidden ForbiddenCause
		msg       string
		attempts  int
	}{
		{"401 enveloped", 401, "application/json", `{"status":"error","message":"Token has been revoked"}`, KindUnauthorized, "", "Token has been revoked", 1},
		{"401 bare Laravel", 401, "application/json", `{"message":"Unauthenticated."}`, KindUnauthorized, "", "Unauthenticated.", 1},
		{"403 scope", 403, "application/json", `{"status":"error","message":"Token does not have the required scope: stock.read"}`, KindForbidden, ForbiddenScope, "Token does not have the required scope: stock.read", 1},
		{"403 ip", 403, "application/json", `{"message":"Your IP address is not allowed for this token."}`, KindForbidden, ForbiddenIP, "Your IP address is not allowed for this token.", 1},
		{"403 other", 403, "application/json", `{"message":"Forbidden."}`, KindForbidden, ForbiddenUnknown, "Forbidden.", 1},
		{"404 invalid url", 404, "application/json", `{"status":"error","message":"Invalid URL"}`, KindNotFound, "", "Invalid URL", 1},
		{"422", 422, "application/json", `{"message":"The per page field must not be greater than 100.","errors":{"per_page":["x"]}}`, KindInvalidResponse, "", "The per page field must not be greater than 100.", 1},
		{"429 bare", 429, "application/json", `{"message":"Too Many Attempts."}`, KindRateLimited, "", "Too Many Attempts.", 1},
		{"500", 500, "application/json", `{"status":"error","message":"Server Error"}`, KindServerError, "", "Server Error", 3},
		{"503 no body", 503, "", ``, KindServerError, "", "", 3},
		{"502 HTML", 502, "text/html", "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>", KindServerError, "", `HTML page "502 Bad Gateway" instead of JSON (likely from a proxy)`, 3},
		{"504 text", 504, "text/plain", "upstream\ttimed out\n\n(after 60 s)", KindServerError, "", "non-JSON body: upstream timed out (after 60 s)", 3},
		{"400 JSON no message", 400, "application/json", `{"error":"x"}`, KindInvalidResponse, "", "JSON error body without a message", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctestRun(t, func(t *testing.T) {
				c, rec := newBubbleClient(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					if tc.ct != "" {
						w.Header().Set("Content-Type", tc.ct)
					}
					if tc.status == 429 {
						w.Header().Set("Retry-After", "3")
					}
					w.WriteHeader(tc.status)
					_, _ = w.Write([]byte(tc.body))
				}))
				_, _, err := c.Locators(t.Context())
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v is not an *Error", err)
				}
				if e.Kind != tc.kind || KindOf(err) != tc.kind || e.Status != tc.status || e.Forbidden != tc.forbidden || e.Message != tc.msg || e.Endpoint != EndpointLocators {
					t.Errorf("got %+v", e)
				}
				if got := len(rec.Requests()); got != tc.attempts {
					t.Errorf("%d attempts, want %d", got, tc.attempts)
				}
				for i, r := range rec.Requests() {
					if r.Attempt != i+1 || r.Status != tc.status || r.Kind != tc.kind || r.Endpoint != EndpointLocators {
						t.Errorf("observed %+v", r)
					}
				}
				if tc.status == 429 && e.RetryAfter != 3*time.Second {
					t.Errorf("RetryAfter %s", e.RetryAfter)
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("kartustok: GET /locators: %d ", tc.status)) {
					t.Errorf("Error() = %q", err)
				}
			})
		})
	}
}

func TestErrorString(t *testing.T) {
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{
			&Error{Kind: KindForbidden, Endpoint: "/stock/summary", Status: 403, Forbidden: ForbiddenScope, Message: "Token does not have the required scope: stock.read"},
			"kartustok: GET /stock/summary: 403 forbidden (missing scope): Token does not have the required scope: stock.read",
		},
		{
			&Error{Kind: KindForbidden, Endpoint: "/health", Status: 403, Forbidden: ForbiddenIP, Message: "IP not allowed"},
			"kartustok: GET /health: 403 forbidden (client IP not in the token's allowed IPs): IP not allowed",
		},
		{
			&Error{Kind: KindRateLimited, Endpoint: "/items", Status: 429, RetryAfter: 7 * time.Second, Message: "Too Many Attempts."},
			"kartustok: GET /items: 429 rate limited (retry after 7s): Too Many Attempts.",
		},
		{
			&Error{Kind: KindTimeout, Endpoint: "/items", Err: context.DeadlineExceeded},
			"kartustok: GET /items: timeout: context deadline exceeded",
		},
		{
			&Error{Kind: KindInvalidResponse, Endpoint: "/items", Status: 200, Message: "body larger than the 10-byte limit"},
			"kartustok: GET /items: 200 invalid response: body larger than the 10-byte limit",
		},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q\n want %q", got, tc.want)
		}
	}
	wrapped := fmt.Errorf("collecting: %w", &Error{Kind: KindNotFound})
	if KindOf(wrapped) != KindNotFound || KindOf(errors.New("x")) != "" || KindOf(nil) != "" {
		t.Error("KindOf does not see through wrapping")
	}
	inner := errors.New("inner")
	if !errors.Is(&Error{Err: inner}, inner) {
		t.Error("Unwrap")
	}
}

func TestTokenNeverInErrors(t *testing.T) {
	// A hostile or careless server echoes the Authorization header back.
	for _, status := range []int{200, 401, 403, 404, 422, 429, 500} {
		c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok := r.Header.Get("Authorization")
			w.Header().Set("Retry-After", "0")
			if status == 200 {
				writeJSON(w, 200, `{"status":"error","message":"bad token `+tok+`"}`)
				return
			}
			writeJSON(w, status, `{"message":"your token `+tok+` is not welcome"}`)
		}), WithMaxRetries(0))
		_, err := c.Health(t.Context())
		if err == nil {
			t.Fatalf("%d: no error", status)
		}
		assertNoToken(t, err)
		if !strings.Contains(err.Error(), "[redacted]") {
			t.Errorf("%d: message lost: %v", status, err)
		}
	}
}

func TestSuccessBodyProblems(t *testing.T) {
	big := `{"status":"success","data":[` + strings.Repeat(`{"id":"Lr8pW1","code":"GDG-01","name":"Gudang Utama","is_active":true},`, 50) + `{"id":"x"}]}`
	for _, tc := range []struct {
		name, ct, body, want string
		chunked              bool
	}{
		{"HTML login page", "text/html; charset=utf-8", "<!DOCTYPE html><html><title>Sign in</title></html>", `content type "text/html; charset=utf-8" instead of JSON: HTML page "Sign in" instead of JSON (likely from a proxy)`, false},
		{"no content type", "", `{"status":"success","data":[]}`, `content type "" instead of JSON`, false},
		{"text/plain JSON", "text/plain", `{"status":"success","data":[]}`, `instead of JSON`, false},
		{"truncated", "application/json", `{"status":"success","data":[{"id":"Lr8pW1","co`, "truncated JSON", false},
		{"not JSON", "application/json", `<html>oops</html>`, "malformed JSON at byte 1", false},
		{"an object for the list", "application/json", `{"status":"success","data":{"id":"Lr8pW1"}}`, "unexpected JSON shape", false},
		{"status error in a 200", "application/json", `{"status":"error","message":"Invalid URL"}`, `status "error" instead of "success": Invalid URL`, false},
		{"no data", "application/json", `{"status":"success"}`, `no "data"`, false},
		{"null data", "application/json", `{"status":"success","data":null}`, `no "data"`, false},
		{"oversize with length", "application/json", big, "body larger than the 2048-byte limit", false},
		{"oversize chunked", "application/json", big, "body larger than the 2048-byte limit", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, rec := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if tc.ct != "" {
					w.Header().Set("Content-Type", tc.ct)
				} else {
					w.Header()["Content-Type"] = nil
				}
				if !tc.chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(tc.body)))
				}
				_, _ = w.Write([]byte(tc.body))
				if tc.chunked {
					w.(http.Flusher).Flush()
				}
			}), WithMaxBodyBytes(2048))
			_, _, err := c.Locators(t.Context())
			if KindOf(err) != KindInvalidResponse || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want invalid_response containing %q", err, tc.want)
			}
			if n := len(rec.Requests()); n != 1 {
				t.Errorf("%d attempts; an invalid response must not be retried", n)
			}
		})
	}
	// Exactly at the cap is fine.
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, big) }), WithMaxBodyBytes(int64(len(big))))
	if locs, _, err := c.Locators(t.Context()); err != nil || len(locs) != 51 {
		t.Errorf("body at the cap: %d, %v", len(locs), err)
	}
}

func TestBodyCutShortIsANetworkErrorAndRetried(t *testing.T) {
	synctestRun(t, func(t *testing.T) {
		rec := &recorder{}
		c, err := New("https://a.kartustok.com", StaticToken(testToken), WithObserver(rec), WithMaxRetries(1),
			WithTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
				return &http.Response{
					StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
					ContentLength: 1000, Body: io.NopCloser(io.MultiReader(strings.NewReader(`{"status":"success","data":[`), errReader{io.ErrUnexpectedEOF})),
					Request: r,
				}, nil
			})))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = c.Locators(t.Context())
		if KindOf(err) != KindNetwork || !errors.Is(err, io.ErrUnexpectedEOF) || len(rec.Requests()) != 2 {
			t.Errorf("got %v after %d attempts", err, len(rec.Requests()))
		}
		if r := rec.Requests()[0]; r.Status != 200 || r.Bytes != int64(len(`{"status":"success","data":[`)) {
			t.Errorf("observed %+v", r)
		}
	})
}

func TestNetworkErrorIsRetried(t *testing.T) {
	synctestRun(t, func(t *testing.T) {
		rec := &recorder{}
		c, err := New("http://127.0.0.1:1", StaticToken(testToken), WithObserver(rec), WithMaxRetries(2),
			WithTransport(roundTripFunc(func(_ *http.Request) (*http.Response, error) {
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
			})))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = c.Health(t.Context())
		if KindOf(err) != KindNetwork || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("got %v", err)
		}
		if n := len(rec.Requests()); n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
		for _, r := range rec.Requests() {
			if r.Status != 0 || r.Kind != KindNetwork {
				t.Errorf("observed %+v", r)
			}
		}
		// Two backoffs: [0.5 s, 1 s] then [1 s, 2 s].
		if d := time.Since(start); d < 1500*time.Millisecond || d > 3*time.Second {
			t.Errorf("retries took %s", d)
		}
	})
}

func TestTimeoutIsRetried(t *testing.T) {
	synctestRun(t, func(t *testing.T) {
		c, rec := newBubbleClient(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // never answers
		}), WithTimeout(2*time.Second), WithMaxRetries(1))
		_, err := c.Health(t.Context())
		if KindOf(err) != KindTimeout || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v", err)
		}
		reqs := rec.Requests()
		if len(reqs) != 2 || reqs[0].Duration != 2*time.Second || reqs[1].Attempt != 2 {
			t.Errorf("observed %+v", reqs)
		}
	})
}

func TestRedirects(t *testing.T) {
	var otherAuth atomic.Value
	var otherHits atomic.Int32
	otherSrv := newLoopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		otherAuth.Store(r.Header.Get("Authorization"))
		writeJSON(w, 200, `{"status":"success","data":{"status":"ok","time":"t"}}`)
	}))

	var hops atomic.Int32
	c, rec := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/public/v1/health":
			http.Redirect(w, r, otherSrv.URL+"/public/v1/health", http.StatusFound)
		case "/public/v1/locators":
			http.Redirect(w, r, "/public/v1/locators-moved", http.StatusMovedPermanently)
		case "/public/v1/locators-moved":
			if r.Header.Get("Authorization") != "Bearer "+testToken {
				t.Error("same-host redirect lost the token")
			}
			writeJSON(w, 200, `{"status":"success","data":[]}`)
		case "/public/v1/item-categories":
			hops.Add(1)
			http.Redirect(w, r, "/public/v1/item-categories", http.StatusFound)
		}
	}))
	_, err := c.Health(t.Context())
	if KindOf(err) != KindNetwork || !errors.Is(err, errRedirect) || !strings.Contains(err.Error(), "another host") {
		t.Errorf("cross-host redirect: %v", err)
	}
	if otherHits.Load() != 0 || otherAuth.Load() != nil {
		t.Errorf("the other host got %d requests (Authorization %v)", otherHits.Load(), otherAuth.Load())
	}
	if len(rec.Requests()) != 1 {
		t.Errorf("a refused redirect was retried: %d attempts", len(rec.Requests()))
	}
	if _, _, err := c.Locators(t.Context()); err != nil {
		t.Errorf("same-host redirect: %v", err)
	}
	_, _, err = c.ItemCategories(t.Context())
	// The first request and maxRedirects hops went out; the next
	// redirect was refused.
	if !errors.Is(err, errRedirect) || hops.Load() != maxRedirects+1 {
		t.Errorf("redirect loop: %v after %d hops", err, hops.Load())
	}
	assertNoToken(t, err)
}

func TestTokenFileRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	if err := os.WriteFile(path, []byte("  first-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var seen []string
	srv := newLoopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("Authorization"))
		writeJSON(w, 200, `{"status":"success","data":{"status":"ok","time":"t"}}`)
	}))
	c, err := New(srv.URL, TokenFile(path))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Health(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Rewritten in place, same size.
	if err := os.WriteFile(path, []byte("second-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Health(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Replaced through a symlink swap, as Kubernetes rotates secrets.
	target := filepath.Join(dir, "v2")
	if err := os.WriteFile(target, []byte("third-token\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(link, path); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Health(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := "Bearer first-token,Bearer second-token,Bearer third-token"
	if got := strings.Join(seen, ","); got != want {
		t.Errorf("tokens sent %s, want %s", got, want)
	}

	// A token file that goes bad fails the call before any request.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	_, err = c.Health(t.Context())
	if err == nil || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "third-token") {
		t.Errorf("missing file: %v", err)
	}
	if len(seen) != 3 {
		t.Errorf("a request was sent without a token")
	}
}

func TestTokenSourceErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := write("empty", " \n\t\n")
	inner := write("inner", "secret-part-one secret-part-two\n")
	huge := write("huge", strings.Repeat("A", maxTokenBytes+1))
	unreadable := dir // a directory cannot be read as a file
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		src  TokenSource
		want string
	}{
		{TokenFile(empty), "token file " + empty + " is empty"},
		{TokenFile(inner), "token file " + inner + " holds white space"},
		{TokenFile(huge), "token file " + huge + " is larger than"},
		{TokenFile(unreadable), "token file " + unreadable},
		{TokenFile(missing), "token file " + missing + ": no such file or directory"},
		{TokenEnv("KARTUSTOK_TEST_UNSET_VARIABLE"), "environment variable KARTUSTOK_TEST_UNSET_VARIABLE is empty"},
		{StaticToken(""), "static token is empty"},
	} {
		tok, err := tc.src.Token()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Token() = %q, %v; want an error containing %q", tok, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "secret-part") || strings.Contains(err.Error(), "AAAA")) {
			t.Errorf("error shows the token: %v", err)
		}
	}

	t.Setenv("KARTUSTOK_TEST_TOKEN", " env-token\n")
	if tok, err := TokenEnv("KARTUSTOK_TEST_TOKEN").Token(); tok != "env-token" || err != nil {
		t.Errorf("TokenEnv: %q, %v", tok, err)
	}
	if tok, err := StaticToken("s").Token(); tok != "s" || err != nil {
		t.Errorf("StaticToken: %q, %v", tok, err)
	}
}

// pagedHandler serves /items with n rows in pages of perPage, claiming
// lastPage in meta (or the true last page when lastPage is 0).
func pagedHandler(t *testing.T, total, perPage, lastPage int, pagesSeen *[]string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("per_page") != "100" {
			t.Errorf("per_page=%q", q.Get("per_page"))
		}
		page, _ := strconv.Atoi(q.Get("page"))
		*pagesSeen = append(*pagesSeen, q.Get("page"))
		var rows []string
		for i := (page - 1) * perPage; i < min(page*perPage, total); i++ {
			rows = append(rows, fmt.Sprintf(`{"id":"I%d","minimum_qty":1}`, i))
		}
		last := lastPage
		if last == 0 {
			last = max(1, (total+perPage-1)/perPage)
		}
		writeJSON(w, 200, fmt.Sprintf(`{"status":"success","data":[%s],"meta":{"current_page":%d,"per_page":%d,"total":%d,"last_page":%d}}`,
			strings.Join(rows, ","), page, perPage, total, last))
	})
}

func TestPagination(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		total, perPage, lastPage int
		wantRows, wantPages      int
		wantRequests             string
	}{
		{"stops at last_page", 300, 100, 0, 300, 3, "1,2,3"},
		{"reads past an understated last_page to meta.total", 1000, 100, 2, 1000, 10, "1,2,3,4,5,6,7,8,9,10"},
		{"stops on a short page", 250, 100, 99, 250, 3, "1,2,3"},
		{"stops at meta.total whatever last_page says", 300, 100, 99, 300, 3, "1,2,3"},
		{"server with a smaller page size", 120, 50, 0, 120, 3, "1,2,3"},
		{"empty listing", 0, 100, 0, 0, 1, "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var seen []string
			c, _ := newTestClient(t, pagedHandler(t, tc.total, tc.perPage, tc.lastPage, &seen))
			items, pages, err := c.Items(t.Context(), ItemFilter{})
			if err != nil || len(items) != tc.wantRows || pages.Pages != tc.wantPages || strings.Join(seen, ",") != tc.wantRequests {
				t.Errorf("got %d rows, %d pages, %v; requests %v", len(items), pages.Pages, err, seen)
			}
			for i, it := range items {
				if it.ID != ID(fmt.Sprintf("I%d", i)) {
					t.Fatalf("row %d is %s", i, it.ID)
				}
			}
		})
	}
}

func TestPageCap(t *testing.T) {
	// Pagination that never ends: every page full of new rows, meta
	// missing.
	var n atomic.Int32
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		page := n.Add(1)
		var rows []string
		for i := range 100 {
			rows = append(rows, fmt.Sprintf(`{"locator_id":"L","item_id":"I%d-%d","opening_qty":1,"in_qty":0,"out_qty":0,"ending_qty":"1"}`, page, i))
		}
		writeJSON(w, 200, `{"status":"success","data":[`+strings.Join(rows, ",")+`]}`)
	}), WithMaxPages(7))
	rows, pages, err := c.StockSummary(t.Context(), StockSummaryFilter{})
	if KindOf(err) != KindInvalidResponse || !strings.Contains(err.Error(), "more than 7 pages without a meta.total") || rows != nil || pages.Requests != 7 {
		t.Errorf("got %d rows, %d requests, %v", len(rows), pages.Requests, err)
	}
	if n.Load() != 7 {
		t.Errorf("%d requests, want 7", n.Load())
	}
}

func TestFailedPageFailsTheListing(t *testing.T) {
	var seen []string
	inner := pagedHandler(t, 500, 100, 0, &seen)
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "3" {
			writeJSON(w, 404, `{"status":"error","message":"Invalid URL"}`)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	items, pages, err := c.Items(t.Context(), ItemFilter{})
	if KindOf(err) != KindNotFound || items != nil || pages.Requests != 2 {
		t.Errorf("got %d items, %d pages, %v", len(items), pages.Requests, err)
	}
}

// TestRateLimitHeadersArePlausibleOrCut: a pause a 429 asks for is at most
// PauseWindows windows, and a header that cannot be true is named, whether
// it was cut (a pause) or ignored (a count).
func TestRateLimitHeadersArePlausibleOrCut(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	const maxPause = PauseWindows * time.Minute
	year2100 := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name        string
		h           http.Header
		retry       time.Duration
		retrySet    bool
		implausible []string
	}{
		{"seconds", http.Header{"Retry-After": {"7"}}, 7 * time.Second, true, nil},
		{"zero", http.Header{"Retry-After": {"0"}}, 0, true, nil},
		{"date", http.Header{"Retry-After": {now.Add(30 * time.Second).UTC().Format(http.TimeFormat)}}, 30 * time.Second, true, nil},
		{"reset", http.Header{"X-Ratelimit-Reset": {strconv.FormatInt(now.Unix()+42, 10)}}, 42 * time.Second, true, nil},
		{"reset passed", http.Header{"X-Ratelimit-Reset": {strconv.FormatInt(now.Unix()-5, 10)}}, 0, true, nil},
		{"unreadable retry-after, reset", http.Header{"Retry-After": {"soon"}, "X-Ratelimit-Reset": {strconv.FormatInt(now.Unix()+9, 10)}}, 9 * time.Second, true, []string{"Retry-After"}},
		{"none", http.Header{}, 0, false, nil},
		{"huge seconds", http.Header{"Retry-After": {"999999999"}}, maxPause, true, []string{"Retry-After"}},
		{"seconds beyond int64", http.Header{"Retry-After": {"99999999999999999999"}}, 0, false, []string{"Retry-After"}},
		{"date in 2100", http.Header{"Retry-After": {year2100.Format(http.TimeFormat)}}, maxPause, true, []string{"Retry-After"}},
		{"reset in 2100", http.Header{"X-Ratelimit-Reset": {strconv.FormatInt(year2100.Unix(), 10)}}, maxPause, true, []string{"X-RateLimit-Reset"}},
		{"just two windows", http.Header{"Retry-After": {"120"}}, maxPause, true, nil},
		{"remaining above limit", http.Header{"X-Ratelimit-Limit": {"120"}, "X-Ratelimit-Remaining": {"1000000000"}}, 0, false, []string{"X-RateLimit-Remaining"}},
		{"negative remaining", http.Header{"X-Ratelimit-Limit": {"120"}, "X-Ratelimit-Remaining": {"-1"}}, 0, false, []string{"X-RateLimit-Remaining"}},
		{"remaining not a number", http.Header{"X-Ratelimit-Limit": {"120"}, "X-Ratelimit-Remaining": {"NaN"}}, 0, false, []string{"X-RateLimit-Remaining"}},
		{"limit of 0", http.Header{"X-Ratelimit-Limit": {"0"}, "X-Ratelimit-Remaining": {"0"}}, 0, false, []string{"X-RateLimit-Limit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rl := readRateLimit(tc.h, now, maxPause)
			assert.Equal(t, tc.retrySet, rl.retrySet)
			assert.Equal(t, tc.retry, rl.retry)
			assert.Equal(t, tc.implausible, rl.implausible)
		})
	}
	rl := readRateLimit(http.Header{"X-Ratelimit-Limit": {"120"}, "X-Ratelimit-Remaining": {"120"}}, now, maxPause)
	assert.True(t, rl.hasLimit && rl.hasRemaining && rl.limit == 120 && rl.remaining == 120, "a full window is plausible: %+v", rl)
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	for n := 1; n <= 8; n++ {
		d := backoffBase << min(n-1, 5)
		for range 50 {
			if b := backoff(n); b < d/2 || b > d {
				t.Fatalf("backoff(%d) = %s, outside [%s, %s]", n, b, d/2, d)
			}
		}
	}
}

func TestContextCancelledStopsRetries(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	c, rec := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		cancel()
		writeJSON(w, 500, `{"message":"Server Error"}`)
	}), WithMaxRetries(5))
	_, err := c.Health(ctx)
	if err == nil || len(rec.Requests()) != 1 {
		t.Errorf("got %v after %d attempts", err, len(rec.Requests()))
	}
	_, err = c.Health(ctx)
	if !errors.Is(err, context.Canceled) || len(rec.Requests()) != 1 {
		t.Errorf("call with a cancelled context: %v after %d attempts", err, len(rec.Requests()))
	}
}

func TestCleanMessage(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	got := cleanMessage(long)
	if !strings.HasSuffix(got, "…") || len(got) > maxMessageBytes+len("…") || !utf8.ValidString(got) {
		t.Errorf("cleanMessage(400 bytes) = %q (%d bytes)", got, len(got))
	}
	for in, want := range map[string]string{
		"  a\n\tb \x00 c  ": "a b c",
		"bad \xff byte":     "bad \uFFFD byte",
		"":                  "",
	} {
		if got := cleanMessage(in); got != want {
			t.Errorf("cleanMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedactedErrorKeepsTheChain(t *testing.T) {
	inner := errors.New("token " + testToken)
	r := redactedError{msg: redact(inner.Error(), testToken), err: inner}
	if !errors.Is(r, inner) || strings.Contains(r.Error(), testToken) {
		t.Errorf("redactedError %q", r)
	}
}
