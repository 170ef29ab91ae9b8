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

package check

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

// testStart is 14:03 in Jakarta, 07:03 UTC.
var testStart = time.Date(2026, 11, 27, 7, 3, 0, 0, time.UTC)

// company is a simulated company on a fixed clock, served over loopback.
type company struct {
	co  *kartustoktest.Company
	srv *kartustoktest.Server
	now time.Time
}

func newCompany(t *testing.T, cfg kartustoktest.Config, opts ...kartustoktest.Option) *company {
	t.Helper()
	c := &company{now: testStart}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return c.now }
	}
	c.co = kartustoktest.NewCompany(cfg)
	c.srv = kartustoktest.NewServer(c.co, opts...)
	t.Cleanup(c.srv.Close)
	return c
}

// demoCompany is the company --demo serves: per-warehouse minimums, the
// item master's minimums reported too, and a token that expires.
func demoCompany(t *testing.T) (*company, string) {
	t.Helper()
	c := newCompany(t, kartustoktest.Config{Locators: 4, Items: 250, BelowMinimum: 0.08, EmitAllMinimums: true})
	tok := c.co.AddToken(kartustoktest.TokenSpec{Name: "Prometheus", ExpiresAt: testStart.Add(65*24*time.Hour + 3*time.Hour)})
	return c, tok
}

// check runs the check against url with tok and returns its verdict and
// report, failing the test if the report holds the token or any
// 8-byte part of it.
func check(t *testing.T, url, tok string, mods ...func(*Config)) (bool, string) {
	t.Helper()
	var out bytes.Buffer
	cfg := Config{
		URL:       url,
		Token:     func() (string, error) { return tok, nil },
		TokenFrom: "file /etc/kartustok_exporter/token",
		Out:       &out,
		Now:       func() time.Time { return testStart },
	}
	for _, m := range mods {
		m(&cfg)
	}
	ok := Run(context.Background(), cfg)
	report := out.String()
	if testing.Verbose() {
		t.Log("\n" + report)
	}
	assertNoToken(t, report, tok)
	return ok, report
}

// assertNoToken fails when report holds tok or any run of 8 of its bytes.
func assertNoToken(t *testing.T, report, tok string) {
	t.Helper()
	for i := 0; i+kartustok.MinTokenFragment <= len(tok); i++ {
		if frag := tok[i : i+kartustok.MinTokenFragment]; strings.Contains(report, frag) {
			t.Fatalf("the report holds part of the token (%q):\n%s", frag, report)
		}
	}
}

// lastLine is the report's verdict.
func lastLine(report string) string {
	lines := strings.Split(strings.TrimRight(report, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestDemoCompany(t *testing.T) {
	c, tok := demoCompany(t)
	ok, report := check(t, c.srv.URL, tok)
	require.True(t, ok, report)
	assert.Equal(t, "OK: the exporter can use this token", lastLine(report))
	for _, want := range []string{
		`time zone      "Asia/Jakarta"`,
		"today there    2026-11-27 (14:03 WIB there)",
		"minimum stock  per_warehouse",
		"token expiry   2027-01-31 17:03:00 +07:00 (65 days left)",
		"rows           100 on page 1 (all usable); meta.total 250, last_page 3, per_page 100",
		"rows           4 (the whole list; all usable)",
		"scope          stock.read: the token has it",
		"X-RateLimit-Limit 120",
		"has: meta.read, category.read, locator.read, item.read, stock.read",
	} {
		assert.Contains(t, report, want)
	}
	// Seven requests, in the documented order, for the company's today.
	var got []string
	for _, r := range c.srv.Requests() {
		got = append(got, r.Endpoint+"?"+r.Query)
		assert.Equal(t, "application/json", r.Accept)
		assert.Contains(t, r.UserAgent, "kartustok_exporter/")
	}
	loc := c.co.LocatorIDs()[0]
	assert.Equal(t, []string{
		"/health?", "/meta/company?", "/item-categories?", "/locators?", "/items?page=1&per_page=100",
		"/stock/summary?date_from=2026-11-27&date_to=2026-11-27&locator_id=" + loc + "&page=1&per_page=100",
		"/stock/detail?date_from=2026-11-27&date_to=2026-11-27&locator_id=" + loc + "&page=1&per_page=100",
	}, got)
}

func TestCompanyTodayIsNotTheUTCDay(t *testing.T) {
	// 20:30 UTC is 03:30 the next day in Jakarta.
	late := time.Date(2026, 11, 27, 20, 30, 0, 0, time.UTC)
	c := newCompany(t, kartustoktest.Config{Items: 30})
	c.now = late
	tok := c.co.AddToken(kartustoktest.TokenSpec{})
	ok, report := check(t, c.srv.URL, tok, func(cfg *Config) { cfg.Now = func() time.Time { return late } })
	require.True(t, ok, report)
	assert.Contains(t, report, "today there    2026-11-28 (03:30 WIB there)")
	assert.Contains(t, report, "token expiry   none: the token does not expire")
	for _, r := range c.srv.Requests() {
		if strings.HasPrefix(r.Endpoint, "/stock/") {
			assert.Contains(t, r.Query, "date_from=2026-11-28&date_to=2026-11-28")
		}
	}
}

func TestRevokedToken(t *testing.T) {
	c := newCompany(t, kartustoktest.Config{Items: 30})
	tok := c.co.AddToken(kartustoktest.TokenSpec{})
	c.co.RevokeToken(tok)
	ok, report := check(t, c.srv.URL, tok)
	assert.False(t, ok)
	assert.Contains(t, report, "401 Unauthorized: Token has been revoked")
	assert.Contains(t, report, "fix            "+fixUnauthorized)
	assert.Contains(t, report, "Not called: /meta/company, /item-categories, /locators, /items, /stock/summary, /stock/detail (the check stopped: the token was refused)")
	assert.Equal(t, "FAILED: 1 problem", lastLine(report))
	assert.Len(t, c.srv.Requests(), 1, "a refused token must not be sent again")
}

func TestUnknownToken(t *testing.T) {
	c := newCompany(t, kartustoktest.Config{Items: 30})
	ok, report := check(t, c.srv.URL, "ks_thisTokenWasNeverIssuedByTheCompany0000")
	assert.False(t, ok)
	assert.Contains(t, report, "401 Unauthorized: Unauthenticated.")
	assert.Contains(t, report, fixUnauthorized)
}

func TestMissingScope(t *testing.T) {
	c := newCompany(t, kartustoktest.Config{Items: 30})
	tok := c.co.AddToken(kartustoktest.TokenSpec{Scopes: []string{
		kartustoktest.ScopeMeta, kartustoktest.ScopeItem, kartustoktest.ScopeCategory, kartustoktest.ScopeLocator,
	}})
	ok, report := check(t, c.srv.URL, tok)
	assert.False(t, ok)
	assert.Contains(t, report, "token scopes   meta.read, item.read, category.read, locator.read (lacks stock.read)")
	assert.Contains(t, report, "scope          stock.read: MISSING: the API refused the call for it")
	assert.Contains(t, report, "403 Forbidden: Token does not have the required scope: stock.read")
	assert.Contains(t, report, "fix            the token lacks scope stock.read — edit the token's scopes under API Access and add stock.read")
	assert.Contains(t, report, "lacks: stock.read")
	// The stock summary and the stock detail, whose totals the exporter
	// reads, each a problem.
	assert.Equal(t, "FAILED: 2 problems", lastLine(report))
	assert.Len(t, c.srv.Requests(), 7, "a missing scope stops only its own endpoints")
}

func TestMissingMetaScope(t *testing.T) {
	c := newCompany(t, kartustoktest.Config{Items: 30})
	tok := c.co.AddToken(kartustoktest.TokenSpec{Scopes: []string{
		kartustoktest.ScopeItem, kartustoktest.ScopeCategory, kartustoktest.ScopeLocator, kartustoktest.ScopeStock,
	}})
	ok, report := check(t, c.srv.URL, tok)
	assert.False(t, ok)
	assert.Contains(t, report, fixScope("meta.read"))
	assert.Contains(t, report, "time zone      not known")
	assert.Contains(t, report, "date           2026-11-27, today in UTC: the company's time zone is not known")
	assert.Contains(t, report, "has: category.read, locator.read, item.read, stock.read; lacks: meta.read")
	assert.Equal(t, "FAILED: 2 problems", lastLine(report)) // /health and /meta/company
}

func TestIPOutsideAllowedIPs(t *testing.T) {
	c := newCompany(t, kartustoktest.Config{Items: 30})
	tok := c.co.AddToken(kartustoktest.TokenSpec{AllowedIPs: []string{"203.0.113.7"}})
	ok, report := check(t, c.srv.URL, tok)
	assert.False(t, ok)
	assert.Contains(t, report, "403 Forbidden: Client IP is not in the token's allowed IPs")
	assert.Contains(t, report, "fix            this machine's IP is outside the token's Allowed IPs")
	assert.NotContains(t, report, "lacks scope")
	assert.Len(t, c.srv.Requests(), 1)
}

func TestMemberDomain(t *testing.T) {
	t.Run("refused before any request", func(t *testing.T) {
		sent := false
		transport := roundTripFunc(func(*http.Request) (*http.Response, error) {
			sent = true
			return nil, http.ErrHandlerTimeout
		})
		ok, report := check(t, "https://member.kartustok.com/public/v1", "ks_aTokenThatMustNotLeave0123456789", func(c *Config) { c.Transport = transport })
		assert.False(t, ok)
		assert.False(t, sent)
		assert.Contains(t, report, "the URL is the member domain")
		assert.Contains(t, report, "fix            "+fixSubdomain)
	})
	t.Run("a host that is no company's answers Invalid URL", func(t *testing.T) {
		// The simulator answers every path outside its company's API as a
		// wrong host does.
		c := newCompany(t, kartustoktest.Config{Items: 30})
		tok := c.co.AddToken(kartustoktest.TokenSpec{})
		ok, report := check(t, strings.TrimSuffix(c.srv.URL, "/public/v1")+"/other-company/public/v1", tok)
		assert.False(t, ok)
		assert.Contains(t, report, `404 Not Found: Invalid URL — this host is not a company's API`)
		assert.Contains(t, report, "fix            "+fixSubdomain)
		assert.Len(t, c.srv.Requests(), 1)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// rewrite serves h, replacing from with to in the answers to endpoint, as
// an API whose shape drifted would answer.
func rewrite(h http.Handler, endpoint, from, to string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if strings.HasSuffix(r.URL.Path, endpoint) {
			body = bytes.ReplaceAll(body, []byte(from), []byte(to))
		}
		for k, v := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

func TestRenamedField(t *testing.T) {
	co := kartustoktest.NewCompany(kartustoktest.Config{Items: 120, Now: func() time.Time { return testStart }})
	tok := co.AddToken(kartustoktest.TokenSpec{})
	sim := kartustoktest.NewHandlerServer(co)
	srv := httptest.NewServer(rewrite(sim.Handler(), "/stock/summary", `"ending_qty":`, `"closing_qty":`))
	defer srv.Close()
	ok, report := check(t, srv.URL+"/public/v1", tok)
	assert.False(t, ok)
	assert.Contains(t, report, "rows           100 on page 1 (the exporter skips 100)")
	assert.Contains(t, report, "ignored        closing_qty")
	assert.Contains(t, report, "PROBLEM        ending_qty: missing in 100 of 100 rows (first: row 1) — the exporter skips such rows (a missing balance is never taken for 0)")
	assert.Contains(t, report, "fix            "+fixShape)
	assert.Equal(t, "FAILED: 1 problem", lastLine(report))
}

func TestQuantityThatDoesNotDecode(t *testing.T) {
	c := newCompany(t, kartustoktest.Config{Items: 120})
	tok := c.co.AddToken(kartustoktest.TokenSpec{})
	c.srv.SetFault(kartustoktest.EndpointStockSummary, kartustoktest.Fault{RowField: "ending_qty", RowValue: `"abc"`, RowIndex: 2})
	ok, report := check(t, c.srv.URL, tok)
	assert.False(t, ok)
	assert.Contains(t, report, "rows           100 on page 1 (the exporter skips 1)")
	assert.Regexp(t, `PROBLEM        ending_qty: "abc" in row 3 \(item_id "[^"]+"\) is not a quantity: a JSON number or a decimal string such as "12.5000"; 1 of 100 rows — the exporter skips such rows`, report)
	assert.Contains(t, report, "fix            "+fixShape)
	assert.Equal(t, "FAILED: 1 problem", lastLine(report))
}

func TestOffendingValueIsCutAndCleaned(t *testing.T) {
	c := newCompany(t, kartustoktest.Config{Items: 30})
	tok := c.co.AddToken(kartustoktest.TokenSpec{})
	long := `"\u001b[31m` + strings.Repeat("9", 200) + `\u202e"`
	c.srv.SetFault(kartustoktest.EndpointItems, kartustoktest.Fault{RowField: "minimum_qty", RowValue: long, RowIndex: 0})
	ok, report := check(t, c.srv.URL, tok)
	assert.False(t, ok)
	assert.NotContains(t, report, "\x1b")
	assert.NotContains(t, report, "\u202e")
	assert.Contains(t, report, `PROBLEM        minimum_qty: "\u001b[31m9999`)
	assert.Contains(t, report, "…") // cut
	for line := range strings.SplitSeq(report, "\n") {
		if strings.Contains(line, "minimum_qty: ") {
			assert.Less(t, len(line), 400, line)
		}
	}
}

func TestRateLimited(t *testing.T) {
	c := newCompany(t, kartustoktest.Config{Items: 30})
	tok := c.co.AddToken(kartustoktest.TokenSpec{})
	c.srv.SetFault("*", kartustoktest.Fault{RateLimited: true, RetryAfter: 42 * time.Second})
	ok, report := check(t, c.srv.URL, tok)
	assert.False(t, ok)
	assert.Contains(t, report, "429 Too Many Requests: Too Many Attempts. (retry after 42s)")
	assert.Contains(t, report, "Retry-After 42")
	assert.Contains(t, report, "fix            the token's 120 requests per 60 s (counted per token and client IP) are spent")
	assert.Contains(t, report, "run the check again in 42s")
	assert.Contains(t, report, "(the check stopped: rate limited)")
	assert.Len(t, c.srv.Requests(), 1)
}

func TestRateLimitSpentByAnotherClient(t *testing.T) {
	c := newCompany(t, kartustoktest.Config{Items: 30})
	tok := c.co.AddToken(kartustoktest.TokenSpec{})
	c.srv.SetFault("*", kartustoktest.Fault{ClaimNoneRemaining: true})
	ok, report := check(t, c.srv.URL, tok)
	assert.False(t, ok)
	assert.Contains(t, report, "X-RateLimit-Remaining is 0 after GET /health")
	assert.Len(t, c.srv.Requests(), 1)
}

func TestServerError(t *testing.T) {
	c := newCompany(t, kartustoktest.Config{Items: 30})
	tok := c.co.AddToken(kartustoktest.TokenSpec{})
	c.srv.SetFault(kartustoktest.EndpointLocators, kartustoktest.Fault{HTML502: true})
	ok, report := check(t, c.srv.URL, tok)
	assert.False(t, ok)
	assert.Contains(t, report, `502 Bad Gateway: an HTML page "502 Bad Gateway"`)
	assert.Contains(t, report, "fix            "+fixServer)
	assert.Contains(t, report, "Not called: /items, /stock/summary, /stock/detail")
}

func TestNotKartuStok(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>"))
	}))
	defer srv.Close()
	tok := "ks_aTokenThatMustNotLeave0123456789"
	ok, report := check(t, srv.URL, tok)
	assert.False(t, ok)
	assert.Contains(t, report, `404 Not Found with an HTML page "404 Not Found": not an answer of the KartuStok API`)
	assert.Contains(t, report, "fix            "+fixNotAPI)
	assert.Contains(t, report, "Not called: /meta/company")
}

func TestHTMLInsteadOfJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>KartuStok — Masuk</title><p>login"))
	}))
	defer srv.Close()
	ok, report := check(t, srv.URL, "ks_aTokenThatMustNotLeave0123456789")
	assert.False(t, ok)
	assert.Contains(t, report, `Content-Type "text/html; charset=utf-8" instead of JSON, with an HTML page "KartuStok — Masuk"`)
	assert.Contains(t, report, fixNotAPI)
}

func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	ok, report := check(t, url, "ks_aTokenThatMustNotLeave0123456789")
	assert.False(t, ok)
	assert.Contains(t, report, "connection refused")
	assert.Contains(t, report, "nothing listens at that host and port")
}

func TestUntrustedCertificate(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	srv.StartTLS()
	defer srv.Close()
	ok, report := check(t, srv.URL, "ks_aTokenThatMustNotLeave0123456789")
	assert.False(t, ok)
	assert.Contains(t, report, "the server's TLS certificate is not signed by an authority this machine trusts")
}

// TestTokenUnreadable: no request is sent, and the fix says where to put
// the token: the file it was read from, or the environment variable.
func TestTokenUnreadable(t *testing.T) {
	for _, tc := range []struct {
		name, from, err, fix string
	}{
		{
			"file", "file /etc/kartustok_exporter/token",
			"kartustok: token file /etc/kartustok_exporter/token: permission denied",
			"fix: put the API token (shown once, when it is created under API Access) in /etc/kartustok_exporter/token, readable by the user the exporter runs as",
		},
		{
			"environment", "the KARTUSTOK_TOKEN environment variable",
			"kartustok: environment variable KARTUSTOK_TOKEN is empty; it must hold the API token",
			"fix: set KARTUSTOK_TOKEN to the API token (shown once, when it is created under API Access), or set --kartustok.token-file to a file holding it",
		},
		{
			"unknown source", "",
			"no token",
			"fix: put the API token (shown once, when it is created under API Access) in the file --kartustok.token-file names, readable by the user the exporter runs as, or else in the KARTUSTOK_TOKEN environment variable",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sent := false
			transport := roundTripFunc(func(*http.Request) (*http.Response, error) {
				sent = true
				return nil, http.ErrHandlerTimeout
			})
			var out bytes.Buffer
			ok := Run(context.Background(), Config{
				URL:       "https://sinarjaya.kartustok.com/public/v1",
				Token:     func() (string, error) { return "", errors.New(tc.err) },
				TokenFrom: tc.from,
				Transport: transport,
				Out:       &out,
			})
			report := out.String()
			assert.False(t, ok)
			assert.False(t, sent)
			assert.Contains(t, report, "cannot read the token: "+tc.err)
			assert.Contains(t, report, tc.fix)
			assert.Equal(t, "FAILED: 1 problem", lastLine(report))
			if tc.from != "" && !strings.HasPrefix(tc.from, "file ") {
				assert.NotContains(t, report, "token file", "the token does not come from a file")
			}
		})
	}
}

// TestTokenExpiresSoon: the fix puts the new token where the exporter
// reads it.
func TestTokenExpiresSoon(t *testing.T) {
	c := newCompany(t, kartustoktest.Config{Items: 30})
	tok := c.co.AddToken(kartustoktest.TokenSpec{ExpiresAt: testStart.Add(5*24*time.Hour + time.Hour)})
	for _, tc := range []struct {
		from, fix string
	}{
		{"file /etc/kartustok_exporter/token", "fix: create a new token with the same scopes under API Access and replace the token file before then"},
		{"the KARTUSTOK_TOKEN environment variable", "fix: create a new token with the same scopes under API Access and set KARTUSTOK_TOKEN to the new token before then"},
		{"", "fix: create a new token with the same scopes under API Access and give the exporter the new token (its --kartustok.token-file, or else KARTUSTOK_TOKEN) before then"},
	} {
		ok, report := check(t, c.srv.URL, tok, func(cfg *Config) { cfg.TokenFrom = tc.from })
		assert.True(t, ok, report)
		assert.Contains(t, report, "warning        the token expires in 5 days")
		assert.Contains(t, report, tc.fix)
		if tc.from != "" && !strings.HasPrefix(tc.from, "file ") {
			assert.NotContains(t, report, "token file", "the token does not come from a file")
		}
		assert.Equal(t, "OK: the exporter can use this token (1 warning)", lastLine(report))
	}
}

func TestTokenHiddenFromCompany(t *testing.T) {
	c := newCompany(t, kartustoktest.Config{Items: 30})
	tok := c.co.AddToken(kartustoktest.TokenSpec{HideFromMeta: true})
	exp := time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)
	ok, report := check(t, c.srv.URL, tok, func(cfg *Config) { cfg.TokenExpiresAt = exp })
	assert.True(t, ok, report)
	assert.Contains(t, report, "token          not reported by /meta/company")
	assert.Contains(t, report, "token expiry   2027-01-31 07:00:00 +07:00 (64 days left), from --kartustok.token-expires-at")
}

func TestLocatorWithoutIsActive(t *testing.T) {
	c := newCompany(t, kartustoktest.Config{Items: 30})
	tok := c.co.AddToken(kartustoktest.TokenSpec{})
	c.srv.SetFault(kartustoktest.EndpointLocators, kartustoktest.Fault{RowField: "is_active", RowIndex: -1})
	ok, report := check(t, c.srv.URL, tok)
	assert.False(t, ok)
	assert.Contains(t, report, "PROBLEM        is_active: missing in 4 of 4 rows (first: row 1) — the exporter takes such a warehouse as inactive and reads no stock for it")
	assert.Contains(t, report, "active         0 of 4")
	assert.Equal(t, "FAILED: 1 problem", lastLine(report))
}

// TestTokenNeverPrinted runs against a server that echoes the token in its
// texts and messages.
func TestTokenNeverPrinted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/public/v1/health":
			fmt.Fprintf(w, `{"status":"success","data":{"status":"ok","time":"2026-11-27T14:03:00+07:00","echo":%q}}`, tok)
		case "/public/v1/meta/company":
			fmt.Fprintf(w, `{"status":"success","data":{"id":"c1","name":"Bearer %s","timezone":"Asia/Jakarta","minimum_stock_mode":"union",`+
				`"token":{"name":%q,"prefix":%q,"scopes":["meta.read"],"expires_at":%q}}}`, tok, tok[5:], tok[:12], "soon "+tok)
		default:
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"status":"error","message":"Token %s is unknown; it starts %s"}`, tok, tok[3:20])
		}
	}))
	defer srv.Close()
	tok := "ks_R4nd0mT0k3nThatMustNeverBePrinted0000"
	ok, report := check(t, srv.URL, tok)
	assert.False(t, ok)
	assert.Contains(t, report, "[redacted]")
	assert.Contains(t, report, "ignored        echo")
}

func TestSanitise(t *testing.T) {
	assert.Equal(t, `a b\u001bc\u202ed`, sanitise("a \n\t b\x1bc\u202ed", 100))
	assert.Equal(t, "abcd…", sanitise("abcdefghij", 7))
	assert.Equal(t, "é…", sanitise("ééééé", 5))
	assert.Equal(t, "\uFFFD", sanitise("\xff", 10))
}

func TestRedact(t *testing.T) {
	tok := "ks_0123456789abcdefghij"
	assert.Equal(t, "x [redacted] y", kartustok.Redact("x "+tok+" y", tok))
	assert.Equal(t, "starts [redacted]…", kartustok.Redact("starts ks_012345…", tok))
	assert.Equal(t, "prefix ks_0123", kartustok.Redact("prefix ks_0123", tok), "the 7-byte prefix KartuStok shows may stay")
}

func TestRateLimitBelowTheFlag(t *testing.T) {
	c := newCompany(t, kartustoktest.Config{Items: 30}, kartustoktest.WithRateLimit(60, time.Minute))
	tok := c.co.AddToken(kartustoktest.TokenSpec{})
	ok, report := check(t, c.srv.URL, tok)
	assert.True(t, ok, report)
	assert.Contains(t, report, "the API allows 60 requests per window, fewer than the 120 --kartustok.rate-limit assumes")
	assert.Contains(t, report, "fix            set --kartustok.rate-limit=60")
	assert.Equal(t, 1, strings.Count(report, "warning        the API allows 60"))
}

func TestBudgetSharedWithAnotherClient(t *testing.T) {
	c := newCompany(t, kartustoktest.Config{Items: 30})
	tok := c.co.AddToken(kartustoktest.TokenSpec{})
	for range 3 { // three checks in a row: the third sees the first two
		ok, report := check(t, c.srv.URL, tok)
		assert.True(t, ok, report)
		assert.NotContains(t, report, "another client uses this token")
	}
	ok, report := check(t, c.srv.URL, tok)
	assert.True(t, ok, report)
	assert.Contains(t, report, "21 requests of the API's current window were spent before this check")
}

func TestCompanyWithoutTimezone(t *testing.T) {
	late := time.Date(2026, 11, 27, 20, 30, 0, 0, time.UTC)
	c := newCompany(t, kartustoktest.Config{Items: 30})
	c.now = late
	tok := c.co.AddToken(kartustoktest.TokenSpec{})
	c.srv.SetFault(kartustoktest.EndpointCompany, kartustoktest.Fault{RowField: "timezone"})
	ok, report := check(t, c.srv.URL, tok, func(cfg *Config) { cfg.Now = func() time.Time { return late } })
	assert.False(t, ok)
	assert.Contains(t, report, "PROBLEM        timezone: missing — the exporter reads stock for the UTC day, which is the wrong day for part of every day")
	assert.Contains(t, report, "date           2026-11-27, today in UTC: the company's time zone is not known")
}

func TestUnknownMinimumStockMode(t *testing.T) {
	c := newCompany(t, kartustoktest.Config{Items: 30})
	tok := c.co.AddToken(kartustoktest.TokenSpec{})
	c.srv.SetFault(kartustoktest.EndpointCompany, kartustoktest.Fault{RowField: "minimum_stock_mode", RowValue: `"per_location"`})
	ok, report := check(t, c.srv.URL, tok)
	assert.True(t, ok, report)
	assert.Contains(t, report, `warning        unknown minimum_stock_mode "per_location": the exporter exports both the per-warehouse and the item minimums the API reports`)
}

func TestWrongTypes(t *testing.T) {
	c := newCompany(t, kartustoktest.Config{Items: 30})
	tok := c.co.AddToken(kartustoktest.TokenSpec{})
	c.srv.SetFault(kartustoktest.EndpointLocators, kartustoktest.Fault{WrongTypes: true})
	ok, report := check(t, c.srv.URL, tok)
	assert.False(t, ok)
	assert.Contains(t, report, "rows           4 (the whole list; the exporter skips 4)")
	assert.Regexp(t, `PROBLEM        id: \{"value":"[^"]+"\} in row 1 is not an ID: a JSON string or number of at most 256 bytes; 4 of 4 rows`, report)
	assert.Contains(t, report, "warehouse      every warehouse: /locators gave none to ask for")
	assert.Contains(t, report, "not called     it needs a warehouse ID from /locators")
}

func TestInterrupted(t *testing.T) {
	c := newCompany(t, kartustoktest.Config{Items: 30})
	tok := c.co.AddToken(kartustoktest.TokenSpec{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	ok := Run(ctx, Config{URL: c.srv.URL, Token: func() (string, error) { return tok, nil }, Out: &out})
	assert.False(t, ok)
	assert.Contains(t, out.String(), "the check stopped before its end: interrupted")
	assert.Empty(t, c.srv.Requests())
}

func TestBrokenAnswers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault kartustoktest.Fault
		want  string
	}{
		{"truncated", kartustoktest.Fault{Truncate: true}, "PROBLEM        the answer was cut off: unexpected EOF"},
		{"not JSON", kartustoktest.Fault{InvalidJSON: true}, "PROBLEM        the answer is not valid JSON (at byte 35)"},
		{"no total", kartustoktest.Fault{NoTotal: true}, "warning        no meta.total: the exporter cannot check that a listing is complete"},
		{"no meta", kartustoktest.Fault{NoMeta: true}, "warning        no meta block"},
		{"server error", kartustoktest.Fault{Status: 500}, "PROBLEM        500 Internal Server Error: Server Error"},
		{"too large", kartustoktest.Fault{OversizeBytes: 300 << 10}, "PROBLEM        the answer is larger than the 262144 bytes the exporter reads"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCompany(t, kartustoktest.Config{Items: 30})
			tok := c.co.AddToken(kartustoktest.TokenSpec{})
			c.srv.SetFault(kartustoktest.EndpointItems, tc.fault)
			_, report := check(t, c.srv.URL, tok, func(cfg *Config) { cfg.MaxBodyBytes = 256 << 10 })
			assert.Contains(t, report, tc.want)
		})
	}
	t.Run("meta.total a string", func(t *testing.T) {
		co := kartustoktest.NewCompany(kartustoktest.Config{Items: 30, Now: func() time.Time { return testStart }})
		tok := co.AddToken(kartustoktest.TokenSpec{})
		sim := kartustoktest.NewHandlerServer(co)
		srv := httptest.NewServer(rewrite(sim.Handler(), "/items", `"total":30`, `"total":"30"`))
		defer srv.Close()
		ok, report := check(t, srv.URL+"/public/v1", tok)
		assert.False(t, ok)
		assert.Contains(t, report, "PROBLEM        meta.total is a JSON string, which the exporter cannot read — it fails the whole answer")
	})
}

func TestAnalyseRows(t *testing.T) {
	rows := []json.RawMessage{
		json.RawMessage(`"just text"`),
		json.RawMessage(`{"ID":"a","is_active":1,"colour":"red"}`),
		json.RawMessage(`{"id":"` + strings.Repeat("x", 300) + `","is_active":"yes"}`),
		json.RawMessage(`{"id":null,"is_active":true}`),
		json.RawMessage(`{"id":7,"is_active":"0"}`),
	}
	rep := analyse(kartustok.EndpointLocators, rows, false, problem)
	assert.Equal(t, 5, rep.rows)
	assert.Equal(t, 3, rep.skipped)
	assert.Equal(t, []string{"id", "is_active"}, rep.understood)
	assert.Equal(t, []string{"colour"}, rep.ignored)
	assert.Equal(t, []string{"code", "name"}, rep.notSent)
	var texts []string
	for _, f := range rep.findings {
		assert.Equal(t, problem, f.sev)
		texts = append(texts, f.text)
	}
	assert.Equal(t, []string{
		"id: missing, null or empty in row 4 (1 of 5 rows) — the exporter skips such rows",
		`id: "` + strings.Repeat("x", 56) + `… in row 3 is not an ID: a JSON string or number of at most 256 bytes; 1 of 5 rows — the exporter skips such rows`,
		`is_active: "yes" in row 3 is not true, false, 1 or 0; 1 of 5 rows — the exporter skips such rows`,
		`row 1 is a string "just text", not a JSON object; 1 of 5 rows — the exporter skips such rows`,
	}, texts)
}

func TestTokenFromFile(t *testing.T) {
	c, tok := demoCompany(t)
	path := t.TempDir() + "/token"
	require.NoError(t, os.WriteFile(path, []byte(tok+"\n"), 0o600))
	ok, report := check(t, c.srv.URL, tok, func(cfg *Config) { cfg.Token = kartustok.TokenFile(path).Token })
	assert.True(t, ok, report)

	require.NoError(t, os.WriteFile(path, nil, 0o600))
	ok, report = check(t, c.srv.URL, tok, func(cfg *Config) { cfg.Token = kartustok.TokenFile(path).Token })
	assert.False(t, ok)
	assert.Contains(t, report, "cannot read the token: kartustok: token file "+path+" is empty; it must hold the API token")
}

// TestDetailWithoutTotal: a /stock/detail answer without meta.total is a
// problem, since the exporter counts the day's movements from it.
func TestDetailWithoutTotal(t *testing.T) {
	c := newCompany(t, kartustoktest.Config{Items: 30})
	tok := c.co.AddToken(kartustoktest.TokenSpec{})
	c.srv.SetFault(kartustok.EndpointStockDetail, kartustoktest.Fault{NoTotal: true})
	ok, report := check(t, c.srv.URL, tok)
	assert.False(t, ok)
	assert.Contains(t, report, "PROBLEM        no meta.total: the exporter cannot count the day's movements")
	assert.Equal(t, "FAILED: 1 problem", lastLine(report))
}
