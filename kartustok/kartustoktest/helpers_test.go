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
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for Config.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

// testStart is 14:03 in Jakarta, 07:03 UTC.
var testStart = time.Date(2026, 11, 27, 7, 3, 0, 0, time.UTC)

// fixture is a company on a fake clock with one all-scope token, served by
// a handler that tests drive with httptest.NewRecorder.
type fixture struct {
	c     *Company
	s     *Server
	clock *fakeClock
	tok   string
}

func newFixture(t testing.TB, cfg Config, opts ...Option) *fixture {
	t.Helper()
	clock := newFakeClock(testStart)
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	c := NewCompany(cfg)
	return &fixture{c: c, s: NewHandlerServer(c, opts...), clock: clock, tok: c.AddToken(TokenSpec{})}
}

// do sends one request through the handler; path is relative to /public/v1.
func (f *fixture) do(tok, path string) *httptest.ResponseRecorder {
	return f.doFrom(tok, path, "192.0.2.1:1234")
}

func (f *fixture) doFrom(tok, path, remote string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, BasePath+path, nil)
	r.RemoteAddr = remote
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	w := httptest.NewRecorder()
	f.s.Handler().ServeHTTP(w, r)
	return w
}

// body is a decoded answer.
type body struct {
	Status  string              `json:"status"`
	Message string              `json:"message"`
	Errors  map[string][]string `json:"errors"`
	Data    json.RawMessage     `json:"data"`
	Meta    *pageCounts         `json:"meta"`
}

// pageCounts is a decoded meta block.
type pageCounts struct {
	CurrentPage int `json:"current_page"`
	PerPage     int `json:"per_page"`
	Total       int `json:"total"`
	LastPage    int `json:"last_page"`
}

// get requests path with the fixture's token and wants status want.
func (f *fixture) get(t testing.TB, path string, want int) body {
	t.Helper()
	w := f.do(f.tok, path)
	return decodeAnswer(t, w, path, want)
}

func decodeAnswer(t testing.TB, w *httptest.ResponseRecorder, path string, want int) body {
	t.Helper()
	if w.Code != want {
		t.Fatalf("GET %s: status %d, want %d; body %s", path, w.Code, want, w.Body.String())
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("GET %s: Content-Type %q", path, ct)
	}
	var b body
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("GET %s: %v; body %s", path, err, w.Body.String())
	}
	return b
}

// rows decodes a list answer's data into generic objects.
func rows(t testing.TB, b body) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal(b.Data, &out); err != nil {
		t.Fatalf("data is not a list of objects: %v; %s", err, b.Data)
	}
	return out
}

// all fetches every page of a paginated endpoint with per_page=100.
func (f *fixture) all(t testing.TB, path string, q url.Values) []map[string]any {
	t.Helper()
	var out []map[string]any
	for page := 1; ; page++ {
		q.Set("page", strconv.Itoa(page))
		q.Set("per_page", "100")
		b := f.get(t, path+"?"+q.Encode(), http.StatusOK)
		out = append(out, rows(t, b)...)
		if b.Meta == nil {
			t.Fatalf("%s: no meta", path)
		}
		if page >= b.Meta.LastPage {
			if len(out) != b.Meta.Total {
				t.Fatalf("%s: %d rows over all pages, meta.total %d", path, len(out), b.Meta.Total)
			}
			return out
		}
		if page > 10000 {
			t.Fatalf("%s: more than 10000 pages", path)
		}
	}
}

// qtyOf parses a quantity the API sent as a decimal string or a number.
func qtyOf(t testing.TB, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case string:
		var f float64
		if err := json.Unmarshal([]byte(x), &f); err != nil {
			t.Fatalf("quantity %q: %v", x, err)
		}
		return f
	case float64:
		return x
	}
	t.Fatalf("quantity %v (%T) is neither a string nor a number", v, v)
	return 0
}
