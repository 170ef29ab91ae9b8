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

// Package kartustok is a client for the KartuStok public API that never
// exceeds a request budget.
//
// Every request of a Client goes through one sliding-window limiter, so no
// more than the budget is ever sent in any window of the configured length,
// counted at send time. A 429 pauses every call of the client until the
// server's Retry-After has passed. Requests are reported to an Observer, so
// the exporter can count them without this package importing it.
package kartustok

import (
	"context"
	"net/http"
	"time"
)

// TokenSource yields the bearer token for each request. Implementations
// must never put the token in an error.
type TokenSource interface {
	Token() (string, error)
}

// TokenFile returns a TokenSource that reads the token from path, trimmed of
// surrounding white space, and re-reads it when the file changes, so a
// rotated token needs no restart. An empty or unreadable file is an error
// naming the file.
func TokenFile(path string) TokenSource { panic("unimplemented") }

// TokenEnv returns a TokenSource that reads the environment variable name
// (normally KARTUSTOK_TOKEN) at each request.
func TokenEnv(name string) TokenSource { panic("unimplemented") }

// StaticToken returns a TokenSource with a fixed token, for tests and the
// demo; production tokens come from a file or the environment.
func StaticToken(token string) TokenSource { panic("unimplemented") }

// RequestInfo describes one HTTP request the client sent.
type RequestInfo struct {
	// Endpoint is the path template, e.g. "/stock/summary".
	Endpoint string
	// Status is the HTTP status code, 0 when no response arrived.
	Status int
	// Kind is empty on success, else the class of the failure.
	Kind ErrorKind
	// Duration is the time from send to the end of the body.
	Duration time.Duration
	// Bytes is the size of the body read.
	Bytes int64
	// Attempt is 1 for the first try of a call, 2 for its first retry, ...
	Attempt int
}

// Observer receives a report of every request and every wait for budget.
// Calls may come from several goroutines at once.
type Observer interface {
	ObserveRequest(RequestInfo)
	// ObserveBudgetWait reports time spent waiting for budget (or for a
	// 429 pause to pass) before a request could be sent.
	ObserveBudgetWait(time.Duration)
}

// RateLimitStatus is what the server said of its rate limit in its latest
// response that carried the headers.
type RateLimitStatus struct {
	Known     bool
	Limit     int
	Remaining int
	// At is when that response arrived.
	At time.Time
}

// Option configures a Client.
type Option func(*Client)

// WithTimeout sets the per-request timeout (default 10 s).
func WithTimeout(d time.Duration) Option { panic("unimplemented") }

// WithBudget lets the client send at most requests per window, counted at
// send time over any window of that length (default 96 per 60 s: 80 % of
// the API's 120).
func WithBudget(requests int, window time.Duration) Option { panic("unimplemented") }

// WithTransport sets the HTTP transport (default: a tuned http.Transport).
func WithTransport(rt http.RoundTripper) Option { panic("unimplemented") }

// WithObserver sets the observer of requests and budget waits.
func WithObserver(o Observer) Option { panic("unimplemented") }

// WithMaxBodyBytes caps a success body (default 32 MiB); a larger body is
// an invalid_response error.
func WithMaxBodyBytes(n int64) Option { panic("unimplemented") }

// WithMaxRetries sets how many times a 5xx, timeout or network error is
// retried (default 2).
func WithMaxRetries(n int) Option { panic("unimplemented") }

// WithMaxPages sets the hard cap on pages of one paginated call (default
// 1000 pages, i.e. 100 000 rows).
func WithMaxPages(n int) Option { panic("unimplemented") }

// WithVersion sets the version in the User-Agent header
// ("kartustok_exporter/<version>").
func WithVersion(v string) Option { panic("unimplemented") }

// Client calls one company's public API within a request budget. It is safe
// for concurrent use; every call shares one budget.
type Client struct{}

// New returns a client for baseURL, which must be http(s) and point at the
// company's own subdomain; "/public/v1" is appended when missing. The member
// domain is refused.
func New(baseURL string, token TokenSource, opts ...Option) (*Client, error) {
	panic("unimplemented")
}

// BaseURL returns the normalised base URL, ending in /public/v1.
func (c *Client) BaseURL() string { panic("unimplemented") }

// Budget returns the requests per window the client allows itself.
func (c *Client) Budget() (requests int, window time.Duration) { panic("unimplemented") }

// RateLimit returns the latest X-RateLimit-Limit/-Remaining seen.
func (c *Client) RateLimit() RateLimitStatus { panic("unimplemented") }

// ItemFilter holds the filters of GET /items. Zero values are not sent.
type ItemFilter struct {
	Query      string
	Active     *bool
	CategoryID ID
}

// StockSummaryFilter holds the filters of GET /stock/summary. Dates are
// YYYY-MM-DD in the company's time zone; empty means the server's default
// (the company's today).
type StockSummaryFilter struct {
	LocatorID  ID
	ItemID     ID
	CategoryID ID
	DateFrom   string
	DateTo     string
}

// StockDetailFilter holds the filters of GET /stock/detail; LocatorID is
// required.
type StockDetailFilter struct {
	LocatorID       ID
	ItemID          ID
	TransactionType string
	DateFrom        string
	DateTo          string
}

// Health calls GET /health.
func (c *Client) Health(ctx context.Context) (Health, error) { panic("unimplemented") }

// Company calls GET /meta/company.
func (c *Client) Company(ctx context.Context) (Company, error) { panic("unimplemented") }

// ItemCategories calls GET /item-categories.
func (c *Client) ItemCategories(ctx context.Context) ([]Category, error) { panic("unimplemented") }

// Locators calls GET /locators.
func (c *Client) Locators(ctx context.Context) ([]Locator, error) { panic("unimplemented") }

// Items fetches every page of GET /items. pages is the number of pages
// fetched (retries not counted), for budget planning.
func (c *Client) Items(ctx context.Context, f ItemFilter) (items []Item, pages int, err error) {
	panic("unimplemented")
}

// Item calls GET /items/{id}.
func (c *Client) Item(ctx context.Context, id ID) (Item, error) { panic("unimplemented") }

// StockSummary fetches every page of GET /stock/summary.
func (c *Client) StockSummary(ctx context.Context, f StockSummaryFilter) (rows []StockRow, pages int, err error) {
	panic("unimplemented")
}

// StockDetail fetches every page of GET /stock/detail.
func (c *Client) StockDetail(ctx context.Context, f StockDetailFilter) (rows []Movement, pages int, err error) {
	panic("unimplemented")
}
