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
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

// The problems the check reports, each against the simulated company
// served in memory inside a synctest bubble, through the exporter's own
// client: what the report says, the verdict, and how many requests went
// out (never a retry).

// inMemory is the URL the in-memory company is checked at.
const inMemory = "https://sinarjaya.kartustok.com/public/v1"

// wrap puts a handler in front of the simulator's.
type wrap func(sim http.Handler) http.Handler

// problem is one case: a fault of the simulator, or a handler in front of
// it, and what the report must say.
type problemCase struct {
	name     string
	endpoint string // the endpoint the fault is set for
	fault    kartustoktest.Fault
	wrap     wrap
	config   func(*Config)
	ok       bool
	want     []string // lines the report holds
	regexp   string   // a line the report matches, when set
	sent     int      // requests that reached the transport
	verdict  string
}

// runCase runs the check of one case inside a synctest bubble.
func runCase(t *testing.T, tc problemCase) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		co := kartustoktest.NewCompany(kartustoktest.Config{Items: 30, Now: func() time.Time { return testStart }})
		tok := co.AddToken(kartustoktest.TokenSpec{})
		srv := kartustoktest.NewHandlerServer(co)
		if tc.endpoint != "" {
			srv.SetFault(tc.endpoint, tc.fault)
		}
		h := srv.Handler()
		if tc.wrap != nil {
			h = tc.wrap(h)
		}
		var sent atomic.Int32
		counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sent.Add(1)
			h.ServeHTTP(w, r)
		})
		mods := []func(*Config){func(c *Config) { c.Transport = kartustoktest.InMemory(counted) }}
		if tc.config != nil {
			mods = append(mods, tc.config)
		}
		ok, report := check(t, inMemory, tok, mods...)
		assert.Equal(t, tc.ok, ok)
		for _, want := range tc.want {
			assert.Contains(t, report, want)
		}
		if tc.regexp != "" {
			assert.Regexp(t, tc.regexp, report)
		}
		if tc.sent > 0 {
			assert.Equal(t, tc.sent, int(sent.Load()), "requests sent")
		}
		if tc.verdict != "" {
			assert.Equal(t, tc.verdict, lastLine(report))
		}
	})
}

// answering answers path with status and a JSON body, and serves the rest
// from the simulator.
func answering(path string, status int, body string) wrap {
	return func(sim http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/public/v1"+path {
				sim.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		})
	}
}

// redirecting answers path with a redirect to location, the first times
// requests (0: every one), and serves the rest from the simulator.
func redirecting(path, location string, times int) wrap {
	return func(sim http.Handler) http.Handler {
		n := 0
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/public/v1"+path && (times == 0 || n < times) {
				n++
				http.Redirect(w, r, location, http.StatusFound)
				return
			}
			sim.ServeHTTP(w, r)
		})
	}
}

// rewriting replaces from with to in the answers to endpoint.
func rewriting(endpoint, from, to string) wrap {
	return func(sim http.Handler) http.Handler { return rewrite(sim, endpoint, from, to) }
}

func TestRedirects(t *testing.T) {
	for _, tc := range []problemCase{
		{
			name: "to another host is reported, never followed",
			wrap: redirecting(kartustok.EndpointHealth, "https://elsewhere.example/public/v1/health", 0),
			want: []string{
				`PROBLEM        302: a redirect to "https://elsewhere.example/public/v1/health"`,
				"fix            " + fixRedirect,
				"(the check stopped: the API's URL redirects elsewhere)",
			},
			sent: 1, verdict: "FAILED: 1 problem",
		},
		{
			name: "to another scheme is reported, never followed",
			wrap: redirecting(kartustok.EndpointHealth, "http://sinarjaya.kartustok.com/public/v1/health", 0),
			want: []string{`302: a redirect to "http://sinarjaya.kartustok.com/public/v1/health"`},
			sent: 1, verdict: "FAILED: 1 problem",
		},
		{
			name: "within the host is followed",
			wrap: redirecting(kartustok.EndpointLocators, "/public/v1/locators", 1),
			ok:   true, want: []string{"GET /locators\n  status         200 OK"},
			sent: 8, verdict: "OK: the exporter can use this token",
		},
		{
			name: "within the host, once too often, is reported",
			wrap: redirecting(kartustok.EndpointHealth, "/public/v1/health", 0),
			want: []string{`PROBLEM        302: a redirect to "/public/v1/health"`},
			sent: 4, verdict: "FAILED: 1 problem",
		},
	} {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

func TestStatusProblems(t *testing.T) {
	for _, tc := range []problemCase{
		{
			name: "a 5xx is reported, not retried", endpoint: kartustok.EndpointLocators,
			fault: kartustoktest.Fault{Status: http.StatusServiceUnavailable},
			want: []string{
				"PROBLEM        503 Service Unavailable: Service Unavailable",
				"fix            " + fixServer,
				"Not called: /items, /stock/summary, /stock/detail (the check stopped: the API failed)",
			},
			sent: 4, verdict: "FAILED: 1 problem",
		},
		{
			name: "HTML from a proxy", endpoint: kartustok.EndpointHealth,
			fault: kartustoktest.Fault{HTML502: true},
			want:  []string{`PROBLEM        502 Bad Gateway: an HTML page "502 Bad Gateway"`},
			sent:  1, verdict: "FAILED: 1 problem",
		},
		{
			name: "a 429 with its Retry-After", endpoint: kartustok.EndpointItems,
			fault: kartustoktest.Fault{RateLimited: true, RetryAfter: 30 * time.Second},
			want: []string{
				"PROBLEM        429 Too Many Requests: Too Many Attempts. (retry after 30s)",
				"run the check again in 30s",
				"Not called: /stock/summary, /stock/detail (the check stopped: rate limited)",
			},
			sent: 5,
		},
		{
			name: "a 429 that says nothing of when",
			wrap: answering(kartustok.EndpointHealth, http.StatusTooManyRequests, `{"message":"Too Many Attempts."}`),
			want: []string{"PROBLEM        429 Too Many Requests: Too Many Attempts.\n", "run the check again in a minute"},
			sent: 1,
		},
		{
			name: "a 403 that names neither scope nor IP",
			wrap: answering(kartustok.EndpointItems, http.StatusForbidden, `{"status":"error","message":"Forbidden."}`),
			want: []string{"PROBLEM        403 Forbidden: Forbidden.", "fix            " + fixScopeOrIP(kartustok.ScopeItem)},
			sent: 7,
		},
		{
			name: "a documented endpoint that is not found", endpoint: kartustok.EndpointItems,
			fault: kartustoktest.Fault{Status: http.StatusNotFound},
			want:  []string{"PROBLEM        404 Not Found: Not Found — the API does not serve an endpoint it documents"},
			sent:  7,
		},
		{
			name: "a request the API refuses", endpoint: kartustok.EndpointStockSummary,
			fault: kartustoktest.Fault{Status: http.StatusUnprocessableEntity},
			want:  []string{"PROBLEM        422 Unprocessable Entity: Unprocessable Entity — the API refused what the exporter asks"},
			sent:  7,
		},
		{
			name: "no answer within the timeout", endpoint: kartustok.EndpointHealth,
			fault:  kartustoktest.Fault{Latency: time.Minute},
			config: func(c *Config) { c.Timeout = 5 * time.Second },
			want: []string{
				"status         no answer (after 5s)",
				"PROBLEM        no answer within 5s",
				"(the check stopped: no answer from the API)",
			},
			sent: 1, verdict: "FAILED: 1 problem",
		},
	} {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

func TestEnvelopeProblems(t *testing.T) {
	for _, tc := range []problemCase{
		{
			name: "malformed JSON", endpoint: kartustok.EndpointItemCategories,
			fault: kartustoktest.Fault{InvalidJSON: true},
			want:  []string{"PROBLEM        the answer is not valid JSON (at byte"},
			sent:  7, verdict: "FAILED: 1 problem",
		},
		{
			name: "JSON under another content type", endpoint: kartustok.EndpointHealth,
			fault: kartustoktest.Fault{ContentType: "text/html"},
			want: []string{
				`PROBLEM        Content-Type "text/html" instead of JSON, with an HTML page`,
				"fix            " + fixNotAPI,
				"(the check stopped: the URL is not a KartuStok API)",
			},
			sent: 1,
		},
		{
			name: "an error in a success",
			wrap: rewriting(kartustok.EndpointItemCategories, `"status":"success"`, `"status":"error","message":"maintenance"`),
			want: []string{`PROBLEM        status "error" instead of "success": maintenance`, "fix            " + fixShape},
			sent: 7, verdict: "FAILED: 1 problem",
		},
		{
			name: "no data",
			wrap: rewriting(kartustok.EndpointHealth, `"data":`, `"datum":`),
			want: []string{`PROBLEM        no "data" in the answer`},
			sent: 7, verdict: "FAILED: 1 problem",
		},
		{
			name: "data that is no list",
			wrap: answering(kartustok.EndpointItemCategories, http.StatusOK, `{"status":"success","data":{"id":"c1"}}`),
			want: []string{`PROBLEM        "data" is an object, not a list`},
			sent: 7, verdict: "FAILED: 1 problem",
		},
		{
			name:     "a key repeated in the company, which fails the exporter's call",
			endpoint: kartustok.EndpointCompany,
			fault:    kartustoktest.Fault{RowField: "timezone", RowValue: `"UTC"`, RowRepeat: true},
			want: []string{
				`PROBLEM        the exporter cannot read the answer: key "timezone" repeated in data; a body that sends two values under one key cannot be trusted`,
				"time zone      not known: the exporter reads stock for the UTC day until /meta/company answers",
			},
			sent: 7, verdict: "FAILED: 1 problem",
		},
		{
			name: "a key repeated in the meta of a list, which fails the exporter's listing",
			wrap: rewriting(kartustok.EndpointItems, `"total":30`, `"total":30,"total":31`),
			want: []string{`PROBLEM        the exporter cannot read the answer: key "total" repeated in meta`},
			sent: 7, verdict: "FAILED: 1 problem",
		},
	} {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

func TestRowProblems(t *testing.T) {
	for _, tc := range []problemCase{
		{
			name: "a key repeated in a row", endpoint: kartustok.EndpointStockSummary,
			fault:  kartustoktest.Fault{RowField: "ENDING_QTY", RowValue: `"999999"`, RowRepeat: true, RowIndex: 1},
			want:   []string{"(the exporter skips 1)"},
			regexp: `PROBLEM        row 2 \(item_id "[^"]+"\): ENDING_QTY: key "ENDING_QTY" repeated; 1 of \d+ rows — the exporter skips such rows`,
			sent:   7, verdict: "FAILED: 1 problem",
		},
		{
			name: "a missing required field", endpoint: kartustok.EndpointItems,
			fault: kartustoktest.Fault{RowField: "id", RowIndex: 4},
			want: []string{
				"rows           30 on page 1 (the exporter skips 1)",
				"PROBLEM        id: missing, null or empty in row 5 (1 of 30 rows) — the exporter skips such rows",
			},
			sent: 7, verdict: "FAILED: 1 problem",
		},
		{
			name: "an unreadable value", endpoint: kartustok.EndpointItems,
			fault:  kartustoktest.Fault{RowField: "is_active", RowValue: `"maybe"`, RowIndex: 2},
			regexp: `PROBLEM        is_active: "maybe" in row 3 \(id "[^"]+"\) is not true, false, 1 or 0; 1 of 30 rows — the exporter skips such rows`,
			sent:   7, verdict: "FAILED: 1 problem",
		},
		{
			name: "an unreadable optional quantity", endpoint: kartustok.EndpointStockSummary,
			fault:  kartustoktest.Fault{RowField: "in_qty", RowValue: `"lots"`, RowIndex: 0},
			regexp: `PROBLEM        in_qty: "lots" in row 1 \(item_id "[^"]+"\) is not a quantity \(a JSON number or a decimal string such as "12.5000"\) or null; 1 of \d+ rows`,
			sent:   7, verdict: "FAILED: 1 problem",
		},
		{
			name: "a row that is no object", endpoint: kartustok.EndpointLocators,
			wrap: rewriting(kartustok.EndpointLocators, `"data":[`, `"data":[17,`),
			want: []string{
				"rows           5 (the whole list; the exporter skips 1)",
				"PROBLEM        row 1 is a number 17, not a JSON object; 1 of 5 rows — the exporter skips such rows",
			},
			sent: 7, verdict: "FAILED: 1 problem",
		},
		{
			name: "a field the exporter does not read",
			wrap: rewriting(kartustok.EndpointItemCategories, `"is_active":`, `"colour":"red","is_active":`),
			ok:   true, want: []string{"ignored        colour"},
			sent: 7, verdict: "OK: the exporter can use this token",
		},
		{
			name: "movements that are not read are only a warning", endpoint: kartustok.EndpointStockDetail,
			wrap: rewriting(kartustok.EndpointStockDetail, `"data":[`, `"data":["x",`),
			ok:   true, want: []string{`warning        row 1 is a string "x", not a JSON object`},
			sent: 7,
		},
	} {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

// TestCheckSendsThroughTheExportersClient: what reaches the API is what
// the exporter's client sends, with the check's user agent.
func TestCheckSendsThroughTheExportersClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		co := kartustoktest.NewCompany(kartustoktest.Config{Items: 30, Now: func() time.Time { return testStart }})
		tok := co.AddToken(kartustoktest.TokenSpec{})
		srv := kartustoktest.NewHandlerServer(co)
		var agents, auths []string
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			agents = append(agents, r.Header.Get("User-Agent"))
			auths = append(auths, r.Header.Get("Authorization"))
			srv.Handler().ServeHTTP(w, r)
		})
		ok, report := check(t, inMemory, tok, func(c *Config) { c.Transport = kartustoktest.InMemory(h) })
		require.True(t, ok, report)
		require.Len(t, agents, 7)
		for i, a := range agents {
			assert.True(t, strings.HasPrefix(a, "kartustok_exporter/") && strings.HasSuffix(a, " (check)"), a)
			assert.Equal(t, "Bearer "+tok, auths[i])
		}
		assert.Contains(t, report, "requests       7 in")
	})
}

// TestCheckClosesItsConnections: the connections of a check's transport
// are closed when it ends.
func TestCheckClosesItsConnections(t *testing.T) {
	c, tok := demoCompany(t)
	var closed atomic.Bool
	transport := &closingTransport{Transport: http.DefaultTransport.(*http.Transport).Clone(), closed: &closed}
	ok, report := check(t, c.srv.URL, tok, func(cfg *Config) { cfg.Transport = transport })
	require.True(t, ok, report)
	assert.True(t, closed.Load())
}

type closingTransport struct {
	*http.Transport
	closed *atomic.Bool
}

func (t *closingTransport) CloseIdleConnections() {
	t.closed.Store(true)
	t.Transport.CloseIdleConnections()
}

// TestCheckIsNeverDelayed: the client's budget, its own and the server's
// count, never holds a request of the check back: on the fake clock of a
// synctest bubble no time passes, also when the server's window is spent
// on the way, where the check stops.
func TestCheckIsNeverDelayed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int
		sent  int
		want  string
	}{
		{"a full check", 120, 7, "OK: the exporter can use this token"},
		{"a window spent on the way", 3, 3, "X-RateLimit-Remaining is 0 after GET /item-categories"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				co := kartustoktest.NewCompany(kartustoktest.Config{Items: 30, Now: func() time.Time { return testStart }})
				tok := co.AddToken(kartustoktest.TokenSpec{})
				srv := kartustoktest.NewHandlerServer(co, kartustoktest.WithRateLimit(tc.limit, time.Minute))
				start := time.Now()
				_, report := check(t, inMemory, tok, func(c *Config) { c.Transport = kartustoktest.InMemory(srv.Handler()) })
				assert.Zero(t, time.Since(start))
				assert.Contains(t, report, tc.want)
				assert.Len(t, srv.Requests(), tc.sent)
			})
		})
	}
}
