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
	"strconv"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	f := newFixture(t, Config{})
	expiring := f.c.AddToken(TokenSpec{ExpiresAt: testStart.Add(time.Hour)})
	revoked := f.c.AddToken(TokenSpec{})
	f.c.RevokeToken(revoked)
	inactive := f.c.AddToken(TokenSpec{Inactive: true})
	metaOnly := f.c.AddToken(TokenSpec{Scopes: []string{ScopeMeta}})
	noScopes := f.c.AddToken(TokenSpec{Scopes: []string{}})
	elsewhere := f.c.AddToken(TokenSpec{AllowedIPs: []string{"10.0.0.7", "10.1.0.0/16"}})

	cases := []struct {
		name, tok, path, remote string
		status                  int
		bare                    bool // Laravel's {"message":…} without "status"
		msg                     string
	}{
		{"missing", "", "/health", "", 401, true, "Unauthenticated."},
		{"unknown", "ks_notatoken", "/health", "", 401, true, "Unauthenticated."},
		{"revoked", revoked, "/health", "", 401, false, "Token has been revoked"},
		{"inactive", inactive, "/health", "", 401, false, "Token is inactive"},
		{"scope", metaOnly, "/stock/summary", "", 403, false, "Token does not have the required scope: stock.read"},
		{"scope items", metaOnly, "/items/zzzzzz", "", 403, false, "Token does not have the required scope: item.read"},
		{"scope locators", metaOnly, "/locators", "", 403, false, "Token does not have the required scope: locator.read"},
		{"scope categories", metaOnly, "/item-categories", "", 403, false, "Token does not have the required scope: category.read"},
		{"no scopes", noScopes, "/health", "", 403, false, "Token does not have the required scope: meta.read"},
		{"ip", elsewhere, "/health", "192.0.2.1:1", 403, false, "Client IP is not in the token's allowed IPs"},
		{"ip allowed", elsewhere, "/health", "10.0.0.7:5555", 200, false, ""},
		{"ip prefix", elsewhere, "/health", "10.1.200.3:5555", 200, false, ""},
		{"meta scope", metaOnly, "/meta/company", "", 200, false, ""},
		{"not yet expired", expiring, "/health", "", 200, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			remote := tc.remote
			if remote == "" {
				remote = "192.0.2.1:1234"
			}
			w := f.doFrom(tc.tok, tc.path, remote)
			b := decodeAnswer(t, w, tc.path, tc.status)
			if tc.status == 200 {
				return
			}
			wantStatus := "error"
			if tc.bare {
				wantStatus = ""
			}
			if b.Message != tc.msg || b.Status != wantStatus {
				t.Errorf("body %+v, want message %q status %q", b, tc.msg, wantStatus)
			}
		})
	}

	// Expiry is checked against the company's clock, to the second.
	f.clock.Advance(time.Hour - time.Second)
	decodeAnswer(t, f.do(expiring, "/health"), "/health", 200)
	f.clock.Advance(time.Second)
	if b := decodeAnswer(t, f.do(expiring, "/health"), "/health", 401); b.Message != "Token has expired" || b.Status != "error" {
		t.Errorf("expired: %+v", b)
	}

	// An inactive token works once switched on; a revoked one never again.
	f.c.SetTokenActive(inactive, true)
	decodeAnswer(t, f.do(inactive, "/health"), "/health", 200)
	if got := f.c.TokenLastUsed(inactive); !got.Equal(f.clock.Now()) {
		t.Errorf("last used %v, want %v", got, f.clock.Now())
	}
	f.c.SetTokenActive(revoked, true)
	decodeAnswer(t, f.do(revoked, "/health"), "/health", 401)

	// The log keeps the token sent, so tests can tell callers apart.
	if got := f.s.Count("/health", http.StatusUnauthorized); got != 6 {
		t.Errorf("%d 401s on /health logged, want 6", got)
	}
	for _, e := range f.s.Requests() {
		if e.Status == 401 && e.Token == f.tok {
			t.Errorf("request with a valid token logged as 401: %+v", e)
		}
	}
}

func TestMetaTokenObject(t *testing.T) {
	f := newFixture(t, Config{Timezone: "Asia/Makassar"})
	hidden := f.c.AddToken(TokenSpec{HideFromMeta: true})
	m := object(t, decodeAnswer(t, f.do(hidden, "/meta/company"), "/meta/company", 200))
	if _, ok := m["token"]; ok {
		t.Errorf("HideFromMeta: token object %v present", m["token"])
	}
	named := f.c.AddToken(TokenSpec{Name: "Grafana", Scopes: []string{ScopeMeta, ScopeStock}})
	m = object(t, decodeAnswer(t, f.do(named, "/meta/company"), "/meta/company", 200))
	tok := m["token"].(map[string]any)
	if tok["expires_at"] != nil || tok["name"] != "Grafana" || tok["prefix"] != TokenPrefix(named) || len(tok["scopes"].([]any)) != 2 {
		t.Errorf("token object %v", tok)
	}
	if m["timezone"] != "Asia/Makassar" {
		t.Errorf("timezone %v", m["timezone"])
	}
	exp := f.c.AddToken(TokenSpec{ExpiresAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)})
	m = object(t, decodeAnswer(t, f.do(exp, "/meta/company"), "/meta/company", 200))
	if got := m["token"].(map[string]any)["expires_at"]; got != "2027-01-01T08:00:00+08:00" {
		t.Errorf("expires_at %v", got)
	}
}

func TestThrottleFixedWindow(t *testing.T) {
	f := newFixture(t, Config{}, WithRateLimit(3, 10*time.Second))
	f.clock.Advance(500 * time.Millisecond) // windows start at the first request, not on a boundary
	start := f.clock.Now()
	check := func(wantStatus, wantRemaining int) *http.Response {
		t.Helper()
		w := f.do(f.tok, "/health")
		if w.Code != wantStatus {
			t.Fatalf("at +%v: status %d, want %d", f.clock.Now().Sub(start), w.Code, wantStatus)
		}
		h := w.Header()
		if h.Get("X-RateLimit-Limit") != "3" || h.Get("X-RateLimit-Remaining") != strconv.Itoa(wantRemaining) {
			t.Fatalf("at +%v: limit %q remaining %q, want 3 and %d", f.clock.Now().Sub(start),
				h.Get("X-RateLimit-Limit"), h.Get("X-RateLimit-Remaining"), wantRemaining)
		}
		return w.Result()
	}
	check(200, 2)
	f.clock.Advance(time.Second)
	check(200, 1)
	check(200, 0)
	f.clock.Advance(2300 * time.Millisecond) // +3.3 s: 6.7 s of the window left
	resp := check(429, 0)
	if got := resp.Header.Get("Retry-After"); got != "7" {
		t.Errorf("Retry-After %q, want 7 (whole seconds, rounded up)", got)
	}
	if got, want := resp.Header.Get("X-RateLimit-Reset"), strconv.FormatInt(f.clock.Now().Unix()+7, 10); got != want {
		t.Errorf("X-RateLimit-Reset %q, want %q", got, want)
	}
	if b := decodeAnswer(t, f.do(f.tok, "/health"), "/health", 429); b.Message != "Too Many Attempts." || b.Status != "" {
		t.Errorf("429 body %+v, want Laravel's bare message", b)
	}
	// Rejected requests are not counted, so they do not extend or refill
	// anything: the window still ends 10 s after its first request.
	f.clock.Advance(10*time.Second - 3300*time.Millisecond - time.Nanosecond)
	check(429, 0)
	f.clock.Advance(time.Nanosecond)
	check(200, 2)
	check(200, 1)

	// Another token, or the same token from another IP, has its own window.
	other := f.c.AddToken(TokenSpec{})
	if w := f.do(other, "/health"); w.Code != 200 || w.Header().Get("X-RateLimit-Remaining") != "2" {
		t.Errorf("other token: %d remaining %q", w.Code, w.Header().Get("X-RateLimit-Remaining"))
	}
	if w := f.doFrom(f.tok, "/health", "198.51.100.9:4000"); w.Code != 200 || w.Header().Get("X-RateLimit-Remaining") != "2" {
		t.Errorf("other IP: %d remaining %q", w.Code, w.Header().Get("X-RateLimit-Remaining"))
	}
	// Unauthenticated requests are answered before the throttle and do not
	// spend the token's budget.
	for range 5 {
		f.do("", "/health")
	}
	check(200, 0)
	if got := f.s.Count429(); got != 3 {
		t.Errorf("Count429 = %d, want 3", got)
	}
	// Scope and validation failures happen after the throttle and count.
	f.s.ResetThrottle()
	metaOnly := f.c.AddToken(TokenSpec{Scopes: []string{ScopeMeta}})
	for i, want := range []int{403, 403, 403, 429} {
		if w := f.do(metaOnly, "/stock/summary"); w.Code != want {
			t.Errorf("scope-less request %d: %d, want %d", i, w.Code, want)
		}
	}
}

func TestThrottleAllowsTwiceTheLimitAcrossABoundary(t *testing.T) {
	// The documented property of a fixed window: a full window at its end
	// and a full one at the start of the next put 2×limit requests inside
	// one window length. The client's own budget must not rely on the
	// server to prevent it.
	f := newFixture(t, Config{}, WithRateLimit(120, time.Minute))
	f.do(f.tok, "/health")
	f.clock.Advance(59 * time.Second)
	for range 119 {
		f.do(f.tok, "/health")
	}
	f.clock.Advance(time.Second)
	for range 120 {
		f.do(f.tok, "/health")
	}
	if got := f.s.Count("", 200); got != 240 {
		t.Fatalf("%d accepted, want 240", got)
	}
	// Requests at 0 s (1), 59 s (119) and 60 s (120); windows are closed.
	if got := f.s.MaxInWindow(time.Minute); got != 240 {
		t.Errorf("MaxInWindow(1m) = %d, want 240: [0s, 60s] holds them all", got)
	}
	if got := f.s.MaxInWindow(time.Minute - time.Nanosecond); got != 239 {
		t.Errorf("MaxInWindow(1m-) = %d, want 239", got)
	}
	if got := f.s.MaxInWindow(time.Second); got != 239 {
		t.Errorf("MaxInWindow(1s) = %d, want 239: [59s, 60s] holds both ends", got)
	}
	if got := f.s.MaxInWindow(time.Second - time.Nanosecond); got != 120 {
		t.Errorf("MaxInWindow(1s-) = %d, want 120", got)
	}
	if got := f.s.MaxInWindow(0); got != 120 {
		t.Errorf("MaxInWindow(0) = %d, want the 120 at one instant", got)
	}
	if got := f.s.MaxInWindow(-time.Second); got != 0 {
		t.Errorf("MaxInWindow(-1s) = %d, want 0", got)
	}
}

func TestReset(t *testing.T) {
	f := newFixture(t, Config{}, WithRateLimit(1, time.Minute))
	f.do(f.tok, "/health")
	f.do(f.tok, "/health")
	f.s.ResetLog()
	if n := len(f.s.Requests()); n != 0 {
		t.Fatalf("%d requests after ResetLog", n)
	}
	if w := f.do(f.tok, "/health"); w.Code != 429 {
		t.Errorf("ResetLog reset the throttle: %d", w.Code)
	}
	f.s.Reset()
	if w := f.do(f.tok, "/health"); w.Code != 200 || f.s.Count("", 0) != 1 {
		t.Errorf("after Reset: %d, %d logged", w.Code, f.s.Count("", 0))
	}
}

func TestThrottleOff(t *testing.T) {
	f := newFixture(t, Config{}, WithRateLimit(0, 0))
	for range 300 {
		if w := f.do(f.tok, "/health"); w.Code != 200 || w.Header().Get("X-RateLimit-Limit") != "" {
			t.Fatalf("throttle off: %d %v", w.Code, w.Header())
		}
	}
}

func TestLogLimit(t *testing.T) {
	f := newFixture(t, Config{Items: 20}, WithLogLimit(10), WithRateLimit(0, 0))
	for i := range 35 {
		f.clock.Advance(time.Second)
		f.do(f.tok, "/health?i="+strconv.Itoa(i))
	}
	got := f.s.Requests()
	if len(got) != 10 || got[0].Query != "i=25" || got[9].Query != "i=34" {
		t.Fatalf("kept %d requests, first %+v", len(got), got[0])
	}
	if n := f.s.Count("", 0); n != 10 {
		t.Errorf("Count sees %d", n)
	}
	if n := f.s.MaxInWindow(time.Hour); n != 10 {
		t.Errorf("MaxInWindow sees %d", n)
	}
}

// TestThrottleForgetsEndedWindows: a long-running server keeps throttle
// state only for the clients seen in the last window.
func TestThrottleForgetsEndedWindows(t *testing.T) {
	f := newFixture(t, Config{}, WithRateLimit(120, time.Minute))
	for i := range 50 {
		f.doFrom(f.tok, "/health", "192.0.2."+strconv.Itoa(i+1)+":1234")
	}
	f.clock.Advance(time.Minute)
	f.doFrom(f.tok, "/health", "198.51.100.1:1234")
	f.s.mu.Lock()
	n := len(f.s.windows)
	f.s.mu.Unlock()
	if n != 1 {
		t.Errorf("%d throttle windows kept after every other one ended, want 1", n)
	}
}
