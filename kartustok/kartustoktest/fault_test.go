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
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestFaultAnswers(t *testing.T) {
	f := newFixture(t, Config{})
	clean := f.do(f.tok, "/items?per_page=5").Body.String()

	t.Run("status", func(t *testing.T) {
		f.s.SetFault(EndpointItems, Fault{Status: 503})
		defer f.s.ClearFaults()
		if b := decodeAnswer(t, f.do(f.tok, "/items"), "/items", 503); b.Status != "error" || b.Message != "Service Unavailable" {
			t.Errorf("503 body %+v", b)
		}
		f.s.SetFault(EndpointItems, Fault{Status: 500})
		w := f.do(f.tok, "/items")
		if b := decodeAnswer(t, w, "/items", 500); b.Message != "Server Error" {
			t.Errorf("500 body %+v", b)
		}
		if w.Header().Get("X-RateLimit-Limit") != "" {
			t.Error("a fault in front of the application carries throttle headers")
		}
		// Other endpoints are unaffected.
		decodeAnswer(t, f.do(f.tok, "/locators"), "/locators", 200)
	})
	t.Run("html 502", func(t *testing.T) {
		f.s.SetFault("*", Fault{HTML502: true})
		defer f.s.ClearFaults()
		w := f.do(f.tok, "/stock/summary")
		if w.Code != 502 || w.Header().Get("Content-Type") != "text/html" || !strings.Contains(w.Body.String(), "<h1>502 Bad Gateway</h1>") {
			t.Errorf("%d %q %s", w.Code, w.Header().Get("Content-Type"), w.Body)
		}
		// Even without a token: the proxy answers before the application.
		if w := f.do("", "/health"); w.Code != 502 {
			t.Errorf("unauthenticated request behind a failing proxy: %d", w.Code)
		}
	})
	t.Run("invalid json", func(t *testing.T) {
		f.s.SetFault(EndpointItems, Fault{InvalidJSON: true})
		defer f.s.ClearFaults()
		w := f.do(f.tok, "/items")
		if w.Code != 200 || json.Valid(w.Body.Bytes()) || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%d %s", w.Code, w.Body)
		}
	})
	t.Run("wrong types", func(t *testing.T) {
		f.s.SetFault(EndpointItems, Fault{WrongTypes: true})
		defer f.s.ClearFaults()
		b := f.get(t, "/items?per_page=5", 200)
		rs := rows(t, b)
		if len(rs) != 5 {
			t.Fatalf("%d rows", len(rs))
		}
		for _, r := range rs {
			if _, ok := r["id"].(map[string]any); !ok {
				t.Errorf("id %v is not an object", r["id"])
			}
			if _, ok := r["code"].(map[string]any); !ok {
				t.Errorf("code %v is not an object", r["code"])
			}
		}
	})
	t.Run("oversize", func(t *testing.T) {
		f.s.SetFault(EndpointItems, Fault{OversizeBytes: 1 << 20})
		defer f.s.ClearFaults()
		w := f.do(f.tok, "/items?per_page=5")
		if w.Body.Len() < 1<<20 {
			t.Fatalf("body %d bytes, want at least 1 MiB", w.Body.Len())
		}
		var padded, plain body
		if json.Unmarshal(w.Body.Bytes(), &padded) != nil || json.Unmarshal([]byte(clean), &plain) != nil ||
			string(padded.Data) != string(plain.Data) {
			t.Error("padding changed the data or broke the JSON")
		}
	})
	t.Run("truncate", func(t *testing.T) {
		f.s.SetFault(EndpointItems, Fault{Truncate: true})
		defer f.s.ClearFaults()
		w := f.do(f.tok, "/items?per_page=5")
		if cl := w.Header().Get("Content-Length"); cl != strconv.Itoa(len(clean)) || w.Body.Len() != len(clean)/2 {
			t.Errorf("Content-Length %s, body %d bytes, full body %d", cl, w.Body.Len(), len(clean))
		}
	})
	t.Run("content type", func(t *testing.T) {
		f.s.SetFault(EndpointItems, Fault{ContentType: "text/plain; charset=utf-8"})
		defer f.s.ClearFaults()
		w := f.do(f.tok, "/items?per_page=5")
		if w.Header().Get("Content-Type") != "text/plain; charset=utf-8" || w.Body.String() != clean {
			t.Errorf("%q %s", w.Header().Get("Content-Type"), w.Body)
		}
	})
	t.Run("endless pages", func(t *testing.T) {
		f.s.SetFault(EndpointItems, Fault{EndlessPages: true})
		defer f.s.ClearFaults()
		for _, page := range []string{"1", "13", "5000"} {
			b := f.get(t, "/items?per_page=100&page="+page, 200)
			if n := len(rows(t, b)); n != 100 || b.Meta.LastPage < 1000 || b.Meta.Total < 100000 {
				t.Errorf("page %s: %d rows, meta %+v", page, n, b.Meta)
			}
		}
	})
	t.Run("rate limited", func(t *testing.T) {
		f.s.SetFault("*", Fault{RateLimited: true, RetryAfter: 2500 * time.Millisecond})
		defer f.s.ClearFaults()
		w := f.do(f.tok, "/health")
		if b := decodeAnswer(t, w, "/health", 429); b.Message != "Too Many Attempts." {
			t.Errorf("%+v", b)
		}
		h := w.Header()
		if h.Get("Retry-After") != "3" || h.Get("X-RateLimit-Remaining") != "0" ||
			h.Get("X-RateLimit-Reset") != strconv.Itoa(int(f.clock.Now().Unix()+3)) {
			t.Errorf("headers %v", h)
		}
		f.s.SetFault("*", Fault{RateLimited: true})
		if got := f.do(f.tok, "/health").Header().Get("Retry-After"); got != "60" {
			t.Errorf("default Retry-After %q", got)
		}
	})
	t.Run("times", func(t *testing.T) {
		f.s.SetFault("*", Fault{Status: 500})
		f.s.SetFault(EndpointHealth, Fault{Status: 503, Times: 2})
		defer f.s.ClearFaults()
		var got []int
		for range 3 {
			got = append(got, f.do(f.tok, "/health").Code)
		}
		if got[0] != 503 || got[1] != 503 || got[2] != 500 {
			t.Errorf("statuses %v: the endpoint's fault twice, then the catch-all", got)
		}
		f.s.ClearFaults()
		if w := f.do(f.tok, "/health"); w.Code != 200 {
			t.Errorf("after ClearFaults: %d", w.Code)
		}
	})
}

func TestFaultLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{Items: 30, Now: time.Now})
		f.s.SetFault(EndpointHealth, Fault{Latency: 3 * time.Second})
		start := time.Now()
		if w := f.do(f.tok, "/health"); w.Code != 200 {
			t.Fatalf("status %d", w.Code)
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("answered after %v, want 3s", d)
		}

		// A client that gives up is not kept waiting, and the log says so.
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		r := httptest.NewRequestWithContext(ctx, http.MethodGet, BasePath+"/health", nil)
		r.Header.Set("Authorization", "Bearer "+f.tok)
		w := httptest.NewRecorder()
		start = time.Now()
		f.s.Handler().ServeHTTP(w, r)
		if d := time.Since(start); d != 500*time.Millisecond || w.Body.Len() != 0 {
			t.Errorf("handler returned after %v with %q", d, w.Body)
		}
		if got := f.s.Count(EndpointHealth, StatusClientGone); got != 1 {
			t.Errorf("%d requests logged as %d", got, StatusClientGone)
		}
	})
}

func TestTruncatedBodyOverTheNetwork(t *testing.T) {
	c := NewCompany(Config{Items: 50})
	tok := c.AddToken(TokenSpec{})
	s := NewServer(c)
	defer s.Close()
	s.SetFault(EndpointItems, Fault{Truncate: true})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/items", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reading a truncated body: %v, want unexpected EOF", err)
	}
}

func TestStartOnLoopback(t *testing.T) {
	c := NewCompany(Config{Items: 20})
	tok := c.AddToken(TokenSpec{AllowedIPs: []string{"127.0.0.1"}})
	s, err := Start("127.0.0.1:0", c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Company() != c {
		t.Error("Company() is not the company served")
	}
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") || !strings.HasSuffix(s.URL, "/public/v1") {
		t.Fatalf("URL %q", s.URL)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/meta/company", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "kartustok_exporter/test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b body
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
	if got := s.Requests(); len(got) != 1 || got[0].Endpoint != EndpointCompany || got[0].Token != tok || got[0].Status != 200 ||
		got[0].Accept != "application/json" || got[0].UserAgent != "kartustok_exporter/test" {
		t.Errorf("log %+v", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	c := NewCompany(Config{Items: 80})
	tok := c.AddToken(TokenSpec{})
	s := NewServer(c, WithRateLimit(0, 0))
	defer s.Close()
	var wg sync.WaitGroup
	paths := []string{"/stock/summary", "/stock/detail?locator_id=" + c.LocatorIDs()[0], "/items", "/meta/company"}
	for g := range 4 {
		wg.Go(func() {
			for i := range 25 {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+paths[(g+i)%len(paths)], nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			c.Step(3)
		}
	})
	wg.Go(func() {
		for range 20 {
			s.SetFault(EndpointHealth, Fault{Status: 500, Times: 1})
			_ = s.MaxInWindow(time.Second)
			_ = c.BelowMinimum()
		}
	})
	wg.Wait()
	if got := s.Count("", 200); got != 100 {
		t.Errorf("%d successful requests logged, want 100", got)
	}
}

func TestMaxInWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for trial := range 200 {
		n := rng.IntN(60)
		times := make([]time.Time, n)
		for i := range times {
			times[i] = base.Add(time.Duration(rng.IntN(20)) * 500 * time.Millisecond)
		}
		w := time.Duration(rng.IntN(9)) * 500 * time.Millisecond // zero included
		// Brute force: every closed window [s, s+w] that starts at a
		// request.
		want := 0
		for _, s := range times {
			k := 0
			for _, u := range times {
				if !u.Before(s) && u.Sub(s) <= w {
					k++
				}
			}
			want = max(want, k)
		}
		if got := maxInWindow(append([]time.Time(nil), times...), w); got != want {
			t.Fatalf("trial %d: maxInWindow = %d, brute force %d (w %v, times %v)", trial, got, want, w, times)
		}
	}
}
