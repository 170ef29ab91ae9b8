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

// Package kartustoktest simulates one KartuStok company's public API, as
// described by the exporter's API contract: every endpoint and filter with
// the documented shapes, defaults and validation; tokens with scopes, expiry,
// revocation and allowed IPs; Laravel's fixed-window throttle; generated data
// of any size that moves over time; and fault injection. It is used by the
// tests and by the exporter's --demo mode.
package kartustoktest

import (
	"net/http"
	"time"
)

// Config describes a generated company. Zero values take the defaults noted.
type Config struct {
	Seed       int64  // data generator seed (default 1)
	Name       string // default "PT Sinar Jaya Abadi"
	Subdomain  string // default "sinarjaya"
	Timezone   string // IANA name, default "Asia/Jakarta"
	Locators   int    // default 4
	Items      int    // default 250
	Categories int    // default 8
	// MinimumStockMode is "per_warehouse" (default), "union" or "inactive".
	MinimumStockMode string
	// BelowMinimum is the share (0..1) of (locator, item) pairs generated
	// below their minimum; default 0.05.
	BelowMinimum float64
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// TokenSpec describes an API token.
type TokenSpec struct {
	Name   string   // default "Prometheus"
	Scopes []string // nil means every scope
	// ExpiresAt is the expiry; zero means none.
	ExpiresAt time.Time
	// AllowedIPs restricts client IPs; empty allows all.
	AllowedIPs []string
	// HideFromMeta leaves the token object out of /meta/company.
	HideFromMeta bool
}

// Company is the simulated company's data. It is safe for concurrent use.
type Company struct{}

// NewCompany generates a company from cfg.
func NewCompany(cfg Config) *Company { panic("unimplemented") }

// AddToken creates a token and returns its secret value.
func (c *Company) AddToken(spec TokenSpec) string { panic("unimplemented") }

// RevokeToken revokes a token: it then gets 401.
func (c *Company) RevokeToken(token string) { panic("unimplemented") }

// Step posts n random complete documents (receipts, issues, moves,
// adjustments) dated now, changing balances and /stock/detail.
func (c *Company) Step(n int) { panic("unimplemented") }

// Locator, Item and Balance give tests the expected truth.

// LocatorIDs returns every locator ID in API order.
func (c *Company) LocatorIDs() []string { panic("unimplemented") }

// ItemIDs returns every item ID in API order.
func (c *Company) ItemIDs() []string { panic("unimplemented") }

// OnHand returns the current balance of an item in a locator.
func (c *Company) OnHand(locatorID, itemID string) float64 { panic("unimplemented") }

// Fault is an injected misbehaviour. Zero fields do nothing.
type Fault struct {
	Latency       time.Duration
	Status        int    // answer with this status (e.g. 500, 503) and a JSON error body
	HTML502       bool   // answer 502 with an HTML page, as a proxy would
	Truncate      bool   // cut the success body in the middle
	InvalidJSON   bool   // answer 200 with a body that is not JSON
	WrongTypes    bool   // send objects where strings/numbers are expected
	OversizeBytes int64  // pad the success body to at least this size
	EndlessPages  bool   // claim last_page is far away and never send a short page
	RateLimited   bool   // answer 429 with Retry-After, as a throttle storm would
	Times         int    // apply to this many matching requests, 0 = until cleared
	ContentType   string // override the Content-Type of the answer
}

// Server serves the company's API over HTTP.
type Server struct {
	// URL is the base URL, ending in /public/v1.
	URL string
}

// Option configures a Server.
type Option func(*Server)

// WithRateLimit sets the throttle (default 120 requests per 60 s, per token
// and client IP, fixed window as Laravel counts it).
func WithRateLimit(limit int, window time.Duration) Option { panic("unimplemented") }

// NewServer starts an in-process test server (httptest) for c.
func NewServer(c *Company, opts ...Option) *Server { panic("unimplemented") }

// Start serves c on addr (e.g. "127.0.0.1:0") until Close.
func Start(addr string, c *Company, opts ...Option) (*Server, error) { panic("unimplemented") }

// Handler returns the HTTP handler of the API (mounted at /public/v1).
func (s *Server) Handler() http.Handler { panic("unimplemented") }

// Close stops the server.
func (s *Server) Close() { panic("unimplemented") }

// SetFault injects f on requests to endpoint (a path template such as
// "/stock/summary", or "*" for all).
func (s *Server) SetFault(endpoint string, f Fault) { panic("unimplemented") }

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() { panic("unimplemented") }

// LoggedRequest is one request the server answered.
type LoggedRequest struct {
	At       time.Time
	Endpoint string // path template
	Status   int
	Query    string
	Token    string // "" when missing
}

// Requests returns the request log.
func (s *Server) Requests() []LoggedRequest { panic("unimplemented") }

// Count returns how many requests to endpoint ("" for all) got status (0 for
// any).
func (s *Server) Count(endpoint string, status int) int { panic("unimplemented") }

// MaxInWindow returns the most requests received in any window of length w.
func (s *Server) MaxInWindow(w time.Duration) int { panic("unimplemented") }
