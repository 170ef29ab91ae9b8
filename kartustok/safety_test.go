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
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"
)

const okHealth = `{"status":"success","data":{"status":"ok","time":"t"}}`

// tokenLeak returns the first substring of the token of at least 8 bytes
// that s holds, or "".
func tokenLeak(s, token string) string {
	const n = 8
	for i := 0; i+n <= len(token); i++ {
		if strings.Contains(s, token[i:i+n]) {
			return token[i : i+n]
		}
	}
	return ""
}

// TestRedirectHopsSpendBudgetAndAreObserved: every hop of a same-host
// redirect is a request the server counts, so each one waits for budget
// and is reported to the observer.
func TestRedirectHopsSpendBudgetAndAreObserved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sends []time.Time
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sends = append(sends, time.Now())
			switch r.URL.Path {
			case "/public/v1/health":
				http.Redirect(w, r, "/public/v1/health-1", http.StatusFound)
			case "/public/v1/health-1":
				http.Redirect(w, r, "/public/v1/health-2", http.StatusFound)
			default:
				writeJSON(w, 200, okHealth)
			}
		})
		// The third hop waits a minute for budget, longer than the 10 s
		// a request has: the wait must not count against that time.
		c, rec := newBubbleClient(t, h, WithBudget(2, time.Minute), WithTimeout(10*time.Second))
		start := time.Now()
		if _, err := c.Health(t.Context()); err != nil {
			t.Fatal(err)
		}
		if len(sends) != 3 {
			t.Fatalf("%d server hits, want 3", len(sends))
		}
		if worst := maxInWindow(sends, time.Minute); worst > 2 {
			t.Errorf("%d server hits in one minute, budget 2", worst)
		}
		if got := sends[2].Sub(start); got <= time.Minute {
			t.Errorf("third hop sent at +%s, before the first left the window", got)
		}
		reqs := rec.Requests()
		if len(reqs) != 3 {
			t.Fatalf("observed %d requests for 3 hops: %+v", len(reqs), reqs)
		}
		for i, want := range []int{302, 302, 200} {
			if r := reqs[i]; r.Status != want || r.Kind != "" || r.Endpoint != EndpointHealth || r.Attempt != 1 {
				t.Errorf("hop %d observed as %+v", i, r)
			}
		}
		if rec.TotalWait() <= 0 {
			t.Error("the third hop's budget wait was not observed")
		}

		// A budget of one per hour allows one hop; the redirect waits
		// for budget until the caller gives up, as a first request would.
		sends = nil
		c, rec = newBubbleClient(t, h, WithBudget(1, time.Hour), WithMaxRetries(0))
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
		defer cancel()
		_, err := c.Health(ctx)
		if KindOf(err) != KindTimeout || !errors.Is(err, context.DeadlineExceeded) || len(sends) != 1 {
			t.Errorf("budget 1/h: %v after %d server hits", err, len(sends))
		}
		if reqs := rec.Requests(); len(reqs) != 1 || reqs[0].Status != 302 {
			t.Errorf("budget 1/h: observed %+v", reqs)
		}
	})
}

// TestRedirectLimit: maxRedirects redirects are followed, one more is not.
func TestRedirectLimit(t *testing.T) {
	for _, redirects := range []int{maxRedirects, maxRedirects + 1} {
		var hits atomic.Int32
		c, rec := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n := int(hits.Add(1)); n <= redirects {
				http.Redirect(w, r, "/public/v1/health", http.StatusFound)
				return
			}
			writeJSON(w, 200, okHealth)
		}))
		_, err := c.Health(t.Context())
		if redirects == maxRedirects && err != nil {
			t.Errorf("%d redirects: %v", redirects, err)
		}
		if redirects > maxRedirects && !errors.Is(err, errRedirect) {
			t.Errorf("%d redirects: %v", redirects, err)
		}
		if int(hits.Load()) != len(rec.Requests()) {
			t.Errorf("%d redirects: %d server hits, %d observed", redirects, hits.Load(), len(rec.Requests()))
		}
	}
}

// TestTokenRedactedBeforeTheMessageIsCut: a server that echoes the token
// at the end of a long message must not leave a prefix of it where the
// message is cut.
func TestTokenRedactedBeforeTheMessageIsCut(t *testing.T) {
	for pad := 190; pad < 240; pad++ {
		c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(strings.Repeat("x", pad) + " " + r.Header.Get("Authorization")))
		}), WithMaxRetries(0))
		_, err := c.Health(t.Context())
		if err == nil {
			t.Fatal("no error")
		}
		if leak := tokenLeak(err.Error(), testToken); leak != "" {
			t.Fatalf("pad %d: error shows %q of the token: %v", pad, leak, err)
		}
	}
}

// TestRedactScrubsTokenFragments: any run of 8 or more bytes of the token
// is removed, not only the whole token.
func TestRedactScrubsTokenFragments(t *testing.T) {
	for in, want := range map[string]string{
		"a " + testToken + " b":        "a [redacted] b",
		"cut: " + testToken[:12] + "…": "cut: [redacted]…",
		"short ks_test":                "short ks_test",
		"":                             "",
	} {
		if got := redact(in, testToken); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDecodeErrorsShowRawBytesSafely: error text built from what the
// server sent is one line of valid UTF-8.
func TestDecodeErrorsShowRawBytesSafely(t *testing.T) {
	for _, body := range []string{
		`{"status":"success","data":[{"locator_id":[1,` + "\n\t" + `2,3,4,5,6,7,8,9]}]}`,
		`{"status":"success","data":[{"item_id":["éééééééééééééééééé"]}]}`,
		`{"status":"success","data":[{"id":"L","opening_qty":"ééééééééééééééééééééééééééééé"}]}`,
	} {
		_, _, err := decodeStrict[StockRow]([]byte(body))
		if err == nil {
			t.Fatalf("%s decoded", body)
		}
		if msg := err.Error(); !utf8.ValidString(msg) || strings.ContainsAny(msg, "\n\t") {
			t.Errorf("error %q", msg)
		}
	}
	if got := truncate("ééé", 3); !utf8.ValidString(got) || got != "é…" {
		t.Errorf("truncate = %q", got)
	}
}

// TestCallerCancellation: a caller that cancels mid-request is not a
// network failure of the API.
func TestCallerCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hang := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		})
		c, rec := newBubbleClient(t, hang, WithMaxRetries(3))
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel)
		_, err := c.Health(ctx)
		if !errors.Is(err, context.Canceled) || KindOf(err) != KindTimeout {
			t.Errorf("cancelled: %v (kind %q)", err, KindOf(err))
		}
		reqs := rec.Requests()
		if len(reqs) != 1 || !reqs[0].Canceled || reqs[0].Kind != "" || reqs[0].Status != 0 || reqs[0].Duration != time.Second {
			t.Errorf("cancelled request observed as %+v", reqs)
		}

		c, rec = newBubbleClient(t, hang, WithMaxRetries(3))
		ctx, cancel = context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		_, err = c.Health(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || KindOf(err) != KindTimeout {
			t.Errorf("deadline: %v (kind %q)", err, KindOf(err))
		}
		if reqs := rec.Requests(); len(reqs) != 1 || reqs[0].Canceled || reqs[0].Kind != KindTimeout {
			t.Errorf("request past the caller's deadline observed as %+v", reqs)
		}
	})
}

// swapToken is a TokenSource whose token a test can rotate.
type swapToken struct {
	mu  sync.Mutex
	tok string
}

func (s *swapToken) Token() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tok, nil
}

func (s *swapToken) set(tok string) {
	s.mu.Lock()
	s.tok = tok
	s.mu.Unlock()
}

// TestTokenRotatedDuringBudgetWait: the token is read again after the
// wait for budget, so a rotation during the wait is not sent stale.
func TestTokenRotatedDuringBudgetWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen []string
		src := &swapToken{tok: "old-token"}
		c, err := New("https://a.kartustok.com", src, WithBudget(1, time.Minute),
			WithTransport(handlerTransport{http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = append(seen, r.Header.Get("Authorization"))
				writeJSON(w, 200, okHealth)
			})}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Health(t.Context()); err != nil {
			t.Fatal(err)
		}
		time.AfterFunc(30*time.Second, func() { src.set("new-token") })
		if _, err := c.Health(t.Context()); err != nil {
			t.Fatal(err)
		}
		if len(seen) != 2 || seen[1] != "Bearer new-token" {
			t.Errorf("sent %q; the second request must carry the rotated token", seen)
		}
	})
}

func TestBaseURLPaths(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"https://a.kartustok.com", "https://a.kartustok.com/public/v1", ""},
		{"https://a.kartustok.com/", "https://a.kartustok.com/public/v1", ""},
		{"https://a.kartustok.com/public/v1", "https://a.kartustok.com/public/v1", ""},
		{"https://a.kartustok.com/public/v1/", "https://a.kartustok.com/public/v1", ""},
		{"https://proxy.example/kartustok/public/v1", "https://proxy.example/kartustok/public/v1", ""},
		{"https://a.kartustok.com/public/v1/health", "", "use https://a.kartustok.com/public/v1"},
		{"https://a.kartustok.com/public", "", "use https://a.kartustok.com/public/v1"},
		{"https://a.kartustok.com/public/v2", "", "use https://a.kartustok.com/public/v1"},
		{"https://a.kartustok.com/xpublic/v1", "", "use https://a.kartustok.com/public/v1"},
		{"http://127.0.0.1:8080/api", "", "use http://127.0.0.1:8080/public/v1"},
	} {
		c, err := New(tc.in, StaticToken("x"))
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("New(%q): %v", tc.in, err)
		case tc.err == "" && c.BaseURL() != tc.want:
			t.Errorf("New(%q).BaseURL() = %q, want %q", tc.in, c.BaseURL(), tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("New(%q) = %v, want an error containing %q", tc.in, err, tc.err)
		}
	}
}

// TestNoBudgetWaitReportedWithoutWaiting: a call that did not wait for
// budget reports no wait, so the observer's counter is not fed noise.
func TestNoBudgetWaitReportedWithoutWaiting(t *testing.T) {
	c, rec := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, okHealth)
	}))
	for range 3 {
		if _, err := c.Health(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.waits) != 0 {
		t.Errorf("budget waits reported without waiting: %v", rec.waits)
	}
}

// TestLocalErrorsHaveNoKind: calls refused before any request are plain
// errors, KindOf "".
func TestLocalErrorsHaveNoKind(t *testing.T) {
	c, rec := newTestClient(t, http.HandlerFunc(func(_ http.ResponseWriter, _ *http.Request) {
		t.Error("request sent")
	}))
	if _, _, err := c.StockDetail(t.Context(), StockDetailFilter{}); err == nil || KindOf(err) != "" {
		t.Errorf("StockDetail without a locator: %v", err)
	}
	c2, _ := New(c.BaseURL(), StaticToken(""))
	if _, err := c2.Health(t.Context()); err == nil || KindOf(err) != "" {
		t.Errorf("empty token: %v", err)
	}
	if len(rec.Requests()) != 0 {
		t.Error("a refused call was observed")
	}
}

func TestWithHealthReserve(t *testing.T) {
	for _, n := range []int{-1, 3, 4} {
		if _, err := New("https://a.kartustok.com", StaticToken("x"), WithBudget(3, time.Minute), WithHealthReserve(n)); err == nil {
			t.Errorf("reserve %d of a budget of 3 accepted", n)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		var sends []string
		c, _ := newBubbleClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sends = append(sends, r.URL.Path)
			if r.URL.Path == "/public/v1/health" {
				writeJSON(w, 200, okHealth)
				return
			}
			writeJSON(w, 200, `{"status":"success","data":[]}`)
		}), WithBudget(3, time.Minute), WithHealthReserve(1))
		for range 2 {
			if _, _, err := c.Locators(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		// The third normal call must wait for the window; Health, made
		// meanwhile, goes out at once on the reserved slot.
		done := make(chan time.Time)
		go func() {
			if _, _, err := c.Locators(t.Context()); err != nil {
				t.Error(err)
			}
			done <- time.Now()
		}()
		start := time.Now()
		synctest.Wait()
		if _, err := c.Health(t.Context()); err != nil || time.Since(start) != 0 {
			t.Errorf("Health with a reserve: %v after %s", err, time.Since(start))
		}
		if at := <-done; at.Sub(start) <= time.Minute-time.Millisecond {
			t.Errorf("a normal call used the reserved slot after %s", at.Sub(start))
		}
		if want := []string{"/public/v1/locators", "/public/v1/locators", "/public/v1/health", "/public/v1/locators"}; !slices.Equal(sends, want) {
			t.Errorf("sends %q", sends)
		}
	})
}
