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
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// BasePath is where the API is mounted on a company's host.
const BasePath = "/public/v1"

// Endpoint path templates, as the request log and SetFault name them.
const (
	EndpointHealth         = "/health"
	EndpointCompany        = "/meta/company"
	EndpointItemCategories = "/item-categories"
	EndpointLocators       = "/locators"
	EndpointItems          = "/items"
	EndpointItem           = "/items/{id}"
	EndpointStockSummary   = "/stock/summary"
	EndpointStockDetail    = "/stock/detail"
)

// scopeOf is the documented scope of each endpoint.
var scopeOf = map[string]string{
	EndpointHealth:         ScopeMeta,
	EndpointCompany:        ScopeMeta,
	EndpointItems:          ScopeItem,
	EndpointItem:           ScopeItem,
	EndpointItemCategories: ScopeCategory,
	EndpointLocators:       ScopeLocator,
	EndpointStockSummary:   ScopeStock,
	EndpointStockDetail:    ScopeStock,
}

// Server serves the company's API over HTTP.
type Server struct {
	// URL is the base URL, ending in /public/v1.
	URL string

	c      *Company
	limit  int
	window time.Duration

	hs  *httptest.Server
	srv *http.Server

	mu       sync.Mutex
	log      []LoggedRequest
	logLimit int
	windows  map[string]*throttleWindow
	faults   map[string]*faultState
}

// Option configures a Server.
type Option func(*Server)

// WithRateLimit sets the throttle (default 120 requests per 60 s, per token
// and client IP, fixed window as Laravel counts it). A limit of zero or less
// turns the throttle off.
func WithRateLimit(limit int, window time.Duration) Option {
	return func(s *Server) { s.limit, s.window = limit, window }
}

// WithLogLimit keeps only the most recent n requests in the log (default:
// all), so a long-running demo does not grow without bound. Count,
// MaxInWindow and Requests then see only what is kept.
func WithLogLimit(n int) Option {
	return func(s *Server) { s.logLimit = n }
}

func newServer(c *Company, opts []Option) *Server {
	s := &Server{
		c: c, limit: 120, window: time.Minute,
		windows: map[string]*throttleWindow{}, faults: map[string]*faultState{},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// NewServer starts an in-process test server (httptest) for c.
func NewServer(c *Company, opts ...Option) *Server {
	s := newServer(c, opts)
	s.hs = httptest.NewServer(s.Handler())
	s.URL = s.hs.URL + BasePath
	return s
}

// Start serves c on addr (e.g. "127.0.0.1:0") until Close.
func Start(addr string, c *Company, opts ...Option) (*Server, error) {
	// The listener lives until Close, not for a context.
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, err
	}
	s := newServer(c, opts)
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	s.URL = "http://" + ln.Addr().String() + BasePath
	return s, nil
}

// NewHandlerServer returns a Server that is not listening: its Handler can
// be driven with httptest.NewRecorder, or mounted in another server, for
// example inside a testing/synctest bubble where real sockets cannot be
// used. URL is empty.
func NewHandlerServer(c *Company, opts ...Option) *Server {
	return newServer(c, opts)
}

// InMemory returns a transport that serves every request with h in memory,
// as if it came from 127.0.0.1, without a socket. Inside a testing/synctest
// bubble, where real network I/O cannot run on the fake clock, it lets the
// real client talk to a NewHandlerServer's Handler. A request whose context
// ends while it is served fails with the context's error, as over a socket.
func InMemory(h http.Handler) http.RoundTripper { return inMemory{h} }

type inMemory struct{ h http.Handler }

func (t inMemory) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.RemoteAddr = "127.0.0.1:40000" // as a loopback server would see it
	req.RequestURI = req.URL.RequestURI()
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

// Handler returns the HTTP handler of the API (mounted at /public/v1).
// It serves full request paths: /public/v1/... is the API and every other
// path is answered 404 "Invalid URL", as a wrong company host is.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// Close stops the server.
func (s *Server) Close() {
	switch {
	case s.hs != nil:
		s.hs.Close()
	case s.srv != nil:
		_ = s.srv.Close()
	}
}

// Company returns the company the server serves.
func (s *Server) Company() *Company { return s.c }

// response is an answer before it is written.
type response struct {
	status  int
	header  map[string]string
	body    []byte
	ctype   string
	cutBody bool // send only half of the body under a full Content-Length
	aborted bool // the client went away: write nothing
}

func jsonResponse(status int, v any) *response {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own types are marshalled
	}
	return &response{status: status, body: phpEscape(b), ctype: "application/json"}
}

type errorBody struct {
	Status  string              `json:"status"`
	Message string              `json:"message"`
	Errors  map[string][]string `json:"errors,omitempty"`
}

// apiError is the documented error body {"status":"error","message":…}.
func apiError(status int, msg string) *response {
	return jsonResponse(status, errorBody{Status: "error", Message: msg})
}

// laravelError is Laravel's bare {"message":…}, sent by its own middleware
// (authentication, throttle) rather than by the API's controllers.
func laravelError(status int, msg string) *response {
	return jsonResponse(status, struct {
		Message string `json:"message"`
	}{msg})
}

// route maps a request path to its endpoint template and path ID.
func route(path string) (endpoint, id string, ok bool) {
	rel, found := strings.CutPrefix(path, BasePath)
	if !found || rel == "" {
		return path, "", false
	}
	if _, known := scopeOf[rel]; known && rel != EndpointItem {
		return rel, "", true
	}
	if id, found := strings.CutPrefix(rel, "/items/"); found && id != "" && !strings.Contains(id, "/") {
		return EndpointItem, id, true
	}
	return rel, "", false
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	now := s.c.now()
	entry := LoggedRequest{
		At: now, Query: r.URL.RawQuery, Token: bearer(r),
		Accept: r.Header.Get("Accept"), UserAgent: r.Header.Get("User-Agent"),
	}
	var resp *response
	entry.Endpoint, resp = s.handle(r, now, entry.Token)
	entry.Status = resp.status
	s.record(entry)
	if resp.aborted {
		return
	}
	h := w.Header()
	for k, v := range resp.header {
		h.Set(k, v)
	}
	if resp.ctype != "" {
		h.Set("Content-Type", resp.ctype)
	}
	h.Set("Cache-Control", "no-cache, private")
	body := resp.body
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if resp.cutBody {
		body = body[:len(body)/2]
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(body)
}

// bearer returns the bearer token of r, "" when there is none.
func bearer(r *http.Request) string {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	return strings.TrimSpace(tok)
}

// clientIP is the address the request came from; forwarding headers are
// ignored, as the real API cannot trust them either.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// handle runs the request pipeline described in the package documentation.
func (s *Server) handle(r *http.Request, now time.Time, secret string) (string, *response) {
	endpoint, id, ok := route(r.URL.Path)
	if !ok {
		return endpoint, apiError(http.StatusNotFound, "Invalid URL")
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		resp := apiError(http.StatusMethodNotAllowed,
			"The "+r.Method+" method is not supported for route public/v1"+endpoint+". Supported methods: GET, HEAD.")
		resp.header = map[string]string{"Allow": "GET, HEAD"}
		return endpoint, resp
	}

	f := s.takeFault(endpoint)
	if f != nil {
		if resp := s.applyEarlyFault(r.Context(), f, now); resp != nil {
			return endpoint, resp
		}
	}

	tok, resp := s.c.authenticate(secret, now)
	if resp != nil {
		return endpoint, resp
	}
	if !tok.allows(clientIP(r)) {
		return endpoint, apiError(http.StatusForbidden, "Client IP is not in the token's allowed IPs")
	}
	rl := s.throttle(secret+"|"+clientIP(r), now)
	if !rl.ok {
		resp := laravelError(http.StatusTooManyRequests, "Too Many Attempts.")
		resp.header = rl.headers()
		return endpoint, resp
	}
	resp = s.controller(endpoint, id, r, tok, now, f)
	resp.header = rl.headers()
	if f != nil && f.f.ClaimNoneRemaining {
		if resp.header == nil {
			resp.header = map[string]string{}
		}
		resp.header["X-RateLimit-Remaining"] = "0"
	}
	return endpoint, resp
}

// authenticate checks a bearer token as the API's token guard does.
func (c *Company) authenticate(secret string, now time.Time) (*token, *response) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tokens[secret]
	switch {
	case secret == "" || t == nil:
		return nil, laravelError(http.StatusUnauthorized, "Unauthenticated.")
	case t.revoked:
		return nil, apiError(http.StatusUnauthorized, "Token has been revoked")
	case !t.active:
		return nil, apiError(http.StatusUnauthorized, "Token is inactive")
	case !t.spec.ExpiresAt.IsZero() && !now.Before(t.spec.ExpiresAt):
		return nil, apiError(http.StatusUnauthorized, "Token has expired")
	}
	t.lastUsed = now
	return t, nil
}

// allows reports whether the token may be used from ip.
func (t *token) allows(ip string) bool {
	if len(t.spec.AllowedIPs) == 0 {
		return true
	}
	addr, err := parseAddr(ip)
	if err != nil {
		return false
	}
	for _, a := range t.spec.AllowedIPs {
		if strings.Contains(a, "/") {
			if p, err := parsePrefix(a); err == nil && p.Contains(addr) {
				return true
			}
		} else if b, err := parseAddr(a); err == nil && b == addr {
			return true
		}
	}
	return false
}

func (t *token) hasScope(scope string) bool {
	return slices.Contains(t.spec.Scopes, scope)
}

// waitLatency sleeps d or until ctx is done; false means the client left.
func waitLatency(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// phpEscape re-escapes encoding/json's output the way PHP's json_encode
// does by default, which is what a Laravel API sends: "/" as "\/" and every
// non-ASCII character as \uXXXX (UTF-16, surrogate pairs beyond the BMP).
// Both are valid JSON a client must decode; a client tested only against
// raw UTF-8 could miss a decoder bug.
func phpEscape(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/16)
	const hex = "0123456789abcdef"
	u := func(r rune) {
		out = append(out, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
	}
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '/':
			out = append(out, '\\', '/')
			i++
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				u(r1)
				u(r2)
			} else {
				u(r)
			}
			i += size
		}
	}
	return out
}
