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
	"errors"
	"io"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// addExamples seeds a fuzz target with the API.md examples and variants
// that exercise the edges of the decoders.
func addExamples(f *testing.F, files ...string) {
	for _, name := range files {
		f.Add([]byte(readTestdata(f, name)))
	}
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"status":"success","data":null}`, `{"status":"error","message":"Invalid URL"}`,
		`{"status":"success","data":[],"meta":{"current_page":1,"per_page":100,"total":0,"last_page":0}}`,
		`{"status":"success","data":[{"id":12,"opening_qty":1e2,"in_qty":"-0.5","out_qty":0,"ending_qty":"1E+3","minimum_qty":null}]}`,
		`{"status":"success","data":[{"id":"a\"b\\c\nd\u00e9","name":"Gudang \"Ü\"","ending_qty":"NaN"}]}`,
		`{"status":"success","data":{"id":7,"token":{"expires_at":null,"scopes":null}}}`,
		`{"status":"success","data":{"timezone":"Asia/Jakarta","token":{"expires_at":"2027-01-31 23:59:59"}}}`,
		`{"status":"success","data":{"token":{"expires_at":"2027-01-31T23:59:59"},"timezone":"America/New_York"}}`,
		`{"status":"success","data":{"timezone":"Nowhere/Else","token":{"expires_at":"2027-01-31"}}}`,
		`{"status":"success","data":{"timezone":"Asia/Jakarta","token":{"expires_at":"soon"}}}`,
		`{"status":"success","data":{"token":{"expires_at":12}}}`,
		`{"status":"success","data":[{"id":"a","is_active":"1","minimum_qty":""},{"id":"b","is_active":0,"minimum_qty":null}]}`,
		`{"status":"success","data":[{"id":"a","is_active":"false","minimum_qty":"","ending_qty":"3"}]}`,
		`{"status":"success","data":[{"id":"a","ending_qty":"3","Ending_Qty":"4","minimum_qty":1e16}]}`,
		`{"status":"success","data":{"id":"c","token":{"name":"a","NAME":"b"}}}`,
	} {
		f.Add([]byte(s))
	}
}

// roundTrip checks that a decoded value survives encoding and decoding
// again unchanged: every field the decoder accepted re-parses to the same
// value, including quantities sent as strings.
func roundTrip[T any](t *testing.T, v T, meta *PageMeta, decode func([]byte) (T, *PageMeta, error)) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"status": "success", "data": v, "meta": meta})
	if err != nil {
		return // e.g. a time outside what JSON can hold; not a decoder bug
	}
	v2, meta2, err := decode(b)
	if err != nil {
		t.Fatalf("re-decoding %s: %v", b, err)
	}
	if !reflect.DeepEqual(v, v2) || !reflect.DeepEqual(meta, meta2) {
		t.Fatalf("round trip changed the value:\n%#v\n%#v", v, v2)
	}
}

func checkQuantity(t *testing.T, q Quantity) {
	t.Helper()
	if math.IsNaN(float64(q)) || math.IsInf(float64(q), 0) || math.Abs(float64(q)) > MaxQuantity {
		t.Fatalf("decoded quantity %v", q)
	}
}

func FuzzItemsPage(f *testing.F) {
	addExamples(f, "items.json", "item_categories.json", "locators.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		items, meta, err := decodeStrict[Item](body)
		if err != nil {
			return
		}
		for _, it := range items {
			if it.MinimumQty != nil {
				checkQuantity(t, *it.MinimumQty)
			}
		}
		roundTrip(t, items, meta, decodeStrict[Item])
	})
}

func FuzzStockSummaryPage(f *testing.F) {
	addExamples(f, "stock_summary.json", "stock_detail.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		if mv, meta, err := decodeStrict[Movement](body); err == nil {
			for _, m := range mv {
				for _, q := range []Quantity{m.QtyIn, m.QtyOut, m.Balance} {
					checkQuantity(t, q)
				}
			}
			roundTrip(t, mv, meta, decodeStrict[Movement])
		}
		rows, meta, err := decodeStrict[StockRow](body)
		if err != nil {
			return
		}
		for _, r := range rows {
			for _, q := range []*Quantity{&r.OpeningQty, r.InQty, r.OutQty, &r.EndingQty} {
				if q != nil {
					checkQuantity(t, *q)
				}
			}
		}
		roundTrip(t, rows, meta, decodeStrict[StockRow])
	})
}

func FuzzCompany(f *testing.F) {
	addExamples(f, "company.json", "health.json")
	decode := func(b []byte) (Company, *PageMeta, error) {
		c, err := decodeObject[Company](b, nil)
		return c, nil, err
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := decodeObject[Company](body, nil)
		if err != nil {
			return
		}
		if c.Token != nil {
			if c.Token.ExpiresAt != nil && c.Token.ExpiresAtRaw != "" {
				t.Fatalf("expiry %s read, yet its text %q kept as unreadable", c.Token.ExpiresAt, c.Token.ExpiresAtRaw)
			}
			// The unreadable text is not part of the wire shape.
			c.Token.ExpiresAtRaw = ""
		}
		if c.Token != nil && c.Token.ExpiresAt != nil {
			// Compare instants, not time zone pointers.
			u := c.Token.ExpiresAt.UTC()
			c.Token.ExpiresAt = &u
			c2, _, err := decode(mustMarshalEnvelope(t, c))
			if err != nil {
				return
			}
			u2 := c2.Token.ExpiresAt.UTC()
			c2.Token.ExpiresAt = &u2
			if !reflect.DeepEqual(c, c2) {
				t.Fatalf("round trip changed the company:\n%#v\n%#v", c, c2)
			}
			return
		}
		roundTrip(t, c, nil, decode)
	})
}

func mustMarshalEnvelope(t *testing.T, v any) []byte {
	b, err := json.Marshal(map[string]any{"status": "success", "data": v})
	if err != nil {
		t.Skip(err)
	}
	return b
}

func FuzzErrorBody(f *testing.F) {
	for _, s := range []string{
		`{"status":"error","message":"Invalid URL"}`,
		`{"message":"Unauthenticated."}`,
		`{"message":"Too Many Attempts."}`,
		`{"status":"error","message":"Token does not have the required scope: stock.read"}`,
		"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
		"upstream timed out\n", "", `{"message":42}`, "{\"message\":\"a\\u0000b\\nc\\td \\ud800\"}",
	} {
		f.Add("application/json", []byte(s))
		f.Add("text/html", []byte(s))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		msg := errorMessage(contentType, body)
		if len(msg) > maxMessageBytes+len("…") {
			t.Fatalf("message of %d bytes", len(msg))
		}
		if !utf8.ValidString(msg) {
			t.Fatalf("invalid UTF-8 in %q", msg)
		}
		if strings.ContainsAny(msg, "\n\r\t\x00") || msg != strings.TrimSpace(msg) {
			t.Fatalf("message not one clean line: %q", msg)
		}
		var eb errorBody
		if json.Unmarshal(body, &eb) == nil && eb.Message != "" && msg != cleanMessage(eb.Message) {
			t.Fatalf("message %q, want the server's %q", msg, eb.Message)
		}
		_ = ForbiddenCauseOf(msg)
	})
}

// FuzzQuantity checks that a quantity decodes the same from a JSON number
// and from the decimal string holding the same text, and that what it
// decodes re-parses to the same float.
func FuzzQuantity(f *testing.F) {
	for _, s := range []string{`"12.5000"`, `12.5`, `"0.0000"`, `-3`, `"1e3"`, `1E-2`, `"+7"`, `" 1"`, `"1_0"`, `"NaN"`, `"Inf"`, `"0x10"`, `null`, `"1e400"`, `"\u0031"`, `"."`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var q Quantity
		if err := q.UnmarshalJSON(b); err != nil {
			return
		}
		checkQuantity(t, q)
		text := strings.TrimSpace(string(b))
		var inner string
		if json.Unmarshal([]byte(text), &inner) != nil {
			// A number: the string holding the same text decodes alike.
			inner = text
			var q2 Quantity
			if err := q2.UnmarshalJSON([]byte(strconv.Quote(text))); err != nil || q2 != q {
				t.Fatalf("%s decodes to %v, its string form to %v, %v", text, q, q2, err)
			}
		}
		f, err := strconv.ParseFloat(inner, 64)
		if err != nil || Quantity(f) != q {
			t.Fatalf("%s decodes to %v, re-parses to %v, %v", b, q, f, err)
		}
		var n float64
		if json.Unmarshal([]byte(inner), &n) == nil && Quantity(n) != q {
			t.Fatalf("%s decodes to %v, its number form to %v", b, q, n)
		}
		// What it encodes to decodes to the same value.
		var q3 Quantity
		if err := q3.UnmarshalJSON([]byte(strconv.FormatFloat(float64(q), 'g', -1, 64))); err != nil || q3 != q {
			t.Fatalf("%v does not survive encoding: %v, %v", q, q3, err)
		}
	})
}

// FuzzID checks that an ID decodes a JSON string to its content and a
// JSON number to its exact text.
func FuzzID(f *testing.F) {
	for _, s := range []string{`"It7fZk"`, `12345`, `-1.5e3`, `null`, `"a\"b\\c\u00e9"`, `"é"`, `true`, `{}`, `"\ud800"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var id ID
		if err := id.UnmarshalJSON(b); err != nil {
			return
		}
		text := strings.TrimSpace(string(b))
		var s string
		var n json.Number
		switch {
		case text == "null":
			if id != "" {
				t.Fatalf("null decodes to %q", id)
			}
		case json.Unmarshal([]byte(text), &s) == nil:
			if string(id) != s {
				t.Fatalf("%s decodes to %q, want %q", b, id, s)
			}
		case json.Unmarshal([]byte(text), &n) == nil:
			if string(id) != text {
				t.Fatalf("%s decodes to %q, want its text", b, id)
			}
		default:
			t.Fatalf("%s decoded to %q but is neither a string nor a number", b, id)
		}
		// IDs are sent back as strings; that string decodes to the same ID.
		enc, _ := json.Marshal(string(id))
		var id2 ID
		if err := id2.UnmarshalJSON(enc); err != nil || id2 != id {
			t.Fatalf("%q does not survive encoding: %q, %v", id, id2, err)
		}
	})
}

// FuzzResponse sends whatever a server might answer through the whole
// client: every outcome is a success or an *Error of a known kind that
// carries the status, and no error ever shows the token, even when the
// server echoes it.
func FuzzResponse(f *testing.F) {
	f.Add(200, "application/json", "", readTestdata(f, "locators.json"), false)
	f.Add(429, "application/json", "7", `{"message":"Too Many Attempts."}`, false)
	f.Add(403, "application/json", "", `{"status":"error","message":"Token does not have the required scope: locator.read"}`, true)
	f.Add(502, "text/html", "", "<html><title>502 Bad Gateway</title></html>", false)
	f.Add(200, "text/plain", "", `{"status":"success","data":[]}`, true)
	f.Add(301, "", "", "", false)
	// The token, echoed after a long text, straddles the cut of the
	// message.
	f.Add(403, "text/plain", "", strings.Repeat("x", 200), true)
	f.Add(200, "application/json", "", `{"status":"success","data":[{"id":"`+strings.Repeat("y", 10)+`","is_active":"`, true)
	f.Fuzz(func(t *testing.T, status int, contentType, retryAfter, body string, echo bool) {
		if status < 100 || status > 999 {
			return
		}
		c, err := New("https://a.kartustok.com", StaticToken(testToken), WithMaxRetries(0), WithMaxBodyBytes(4096),
			WithTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
				b := body
				if echo {
					b += r.Header.Get("Authorization")
				}
				h := http.Header{"Content-Type": {contentType}, "Retry-After": {retryAfter}}
				return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(b)), Request: r}, nil
			})))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = c.Locators(t.Context())
		if err == nil {
			if status < 200 || status > 299 {
				t.Fatalf("status %d succeeded", status)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%v is not an *Error", err)
		}
		if e.Status != status || e.Endpoint != EndpointLocators || !validKinds[e.Kind] {
			t.Fatalf("error %+v for status %d", e, status)
		}
		if leak := tokenLeak(err.Error(), testToken); leak != "" {
			t.Fatalf("error shows %q of the token: %v", leak, err)
		}
		if e.Kind == KindRateLimited && (status != 429 || e.RetryAfter < 0 || e.RetryAfter > PauseWindows*DefaultWindow) {
			t.Fatalf("rate limited error %+v", e)
		}
	})
}

var validKinds = map[ErrorKind]bool{
	KindUnauthorized: true, KindForbidden: true, KindNotFound: true, KindRateLimited: true,
	KindServerError: true, KindTimeout: true, KindNetwork: true, KindInvalidResponse: true,
}

// FuzzStockRows checks the tolerant decoding of a page: whatever the body,
// every row is either kept whole and usable or listed as skipped, the rows
// kept are those that decode on their own, and no text kept is longer than
// MaxLabelBytes.
func FuzzStockRows(f *testing.F) {
	addExamples(f, "stock_summary.json")
	f.Add(stockPage(3, 1, `"abc"`))
	f.Add(stockPage(3, 2, `1e400`))
	f.Add(stockPage(3, 0, `1e308`))
	f.Add(stockPage(3, 1, `"1.5","ENDING_QTY":"999999"`))
	f.Add(stockPage(2, 1, `"1","item_id":"I9"`))
	f.Add([]byte(`{"status":"success","data":[{"item_id":"I","ending_qty":"1","x":{"a":1,"a\u0020":2,"A":3}}],"meta":{"total":1}}`))
	f.Add([]byte(`{"status":"success","data":[{"item_id":"I","ending_qty":"1","item_name":"` + strings.Repeat("x", 300) + `"},7,null]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodeList[StockRow](body, 1)
		if err != nil {
			return
		}
		if len(p.rows)+len(p.invalid) != len(p.keys) {
			t.Fatalf("%d rows kept and %d skipped, but %d keys", len(p.rows), len(p.invalid), len(p.keys))
		}
		for _, r := range p.rows {
			if r.ItemID == "" || len(r.ItemID) > MaxIDBytes || len(r.LocatorID) > MaxIDBytes {
				t.Fatalf("kept a row with item_id %q", r.ItemID)
			}
			for _, q := range []*Quantity{&r.OpeningQty, r.InQty, r.OutQty, &r.EndingQty} {
				if q != nil {
					checkQuantity(t, *q)
				}
			}
			for _, s := range []string{r.LocatorName, r.ItemCode, r.ItemName, r.UOM} {
				if len(s) > MaxLabelBytes || !utf8.ValidString(s) {
					t.Fatalf("kept a text of %d bytes", len(s))
				}
			}
		}
		var env struct{ Data []json.RawMessage }
		if json.Unmarshal(body, &env) != nil {
			return
		}
		var alone []StockRow
		for _, raw := range env.Data {
			var r StockRow
			if json.Unmarshal(raw, &r) == nil {
				alone = append(alone, r)
			}
		}
		if !reflect.DeepEqual(alone, p.rows) && (len(alone) > 0 || len(p.rows) > 0) {
			t.Fatalf("page kept %v, rows decoded alone %v", p.rows, alone)
		}
	})
}

// FuzzPageCheck feeds the page checker pages a server could send, however
// wrong, and checks that a listing it calls complete really is: no key
// twice, as many rows as meta.total says, and no more pages than the total
// or the budget justifies.
func FuzzPageCheck(f *testing.F) {
	f.Add([]byte{3, 100, 1, 30, 0, 100, 0, 100, 100, 0, 200, 100, 0})
	f.Add([]byte{0, 50, 0, 0, 7, 7, 7})
	f.Add([]byte{1, 3, 2, 2, 1, 1, 2, 2, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		next := func() int {
			if len(data) == 0 {
				return 0
			}
			b := int(data[0])
			data = data[1:]
			return b
		}
		const perPage, hardCap, blindCap = 10, 50, 8
		c := newPageCheck(perPage, hardCap, blindCap)
		seen := map[rowKey]bool{}
		rows := 0
		var total *int
		for page := 1; ; page++ {
			if page > hardCap+1 {
				t.Fatalf("read %d pages", page)
			}
			flags := next()
			m := &PageMeta{}
			if flags&1 != 0 {
				m.CurrentPage = new(page + (flags>>4)%2)
			}
			if flags&2 != 0 {
				m.Total = new(next() - 2)
			}
			if flags&4 != 0 {
				m.LastPage = new(next())
			}
			if flags&8 != 0 {
				m.PerPage = new(next() % 12)
			}
			if flags == 0 {
				m = nil
			}
			n, start := next()%(perPage+2), next()
			var keys []pageKey
			for i := range n {
				keys = append(keys, pageKey{k: rowKey{ID: ID(strconv.Itoa((start + i) % 97))}, ok: (start+i)%13 != 0})
			}
			more, err := c.add("/items", page, m, keys)
			if err != nil {
				return
			}
			if page == 1 && m != nil {
				total = m.Total
			}
			for _, k := range keys {
				if k.ok && seen[k.k] {
					t.Fatalf("key %v accepted twice", k.k)
				}
				seen[k.k] = k.ok
				rows++
			}
			if total == nil && page > blindCap {
				t.Fatalf("read %d pages without a total", page)
			}
			if total != nil && page > pagesFor(*total, perPage)+1 {
				t.Fatalf("read %d pages for a total of %d", page, *total)
			}
			if !more {
				if c.finish() == nil && total != nil && rows != *total {
					t.Fatalf("complete with %d rows, total %d", rows, *total)
				}
				return
			}
		}
	})
}
