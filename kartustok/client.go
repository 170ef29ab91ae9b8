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
// Every request of a Client goes through one scheduler, so no more than the
// budget is ever sent in any window of the configured length, counted at
// send time, and no more than the server's X-RateLimit-Remaining says is
// left of its window. A 429 pauses every call of the client until the
// server's Retry-After has passed, at most PauseWindows windows. Paginated listings are verified before
// their rows are used. Requests are reported to an Observer, so the
// exporter can count them without this package importing it.
package kartustok

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/common/version"
)

// TokenSource yields the bearer token for each request. Implementations
// must never put the token in an error.
type TokenSource interface {
	Token() (string, error)
}

// TokenFile returns a TokenSource that reads the token from path, trimmed of
// surrounding white space, at every request, so a rotated token needs no
// restart. An empty or unreadable file is an error
// naming the file.
func TokenFile(path string) TokenSource { return tokenFile{path: path} }

// TokenEnv returns a TokenSource that reads the environment variable name
// (normally KARTUSTOK_TOKEN) at each request.
func TokenEnv(name string) TokenSource { return tokenEnv{name: name} }

// StaticToken returns a TokenSource with a fixed token, for tests and the
// demo; production tokens come from a file or the environment.
func StaticToken(token string) TokenSource { return staticToken{token: token} }

// RequestInfo describes one HTTP request the client sent.
type RequestInfo struct {
	// Endpoint is the path template, e.g. "/stock/summary".
	Endpoint string
	// Status is the HTTP status code, 0 when no response arrived.
	Status int
	// Kind is empty on success (a followed redirect included) and for a
	// request the caller cancelled, else the class of the failure.
	Kind ErrorKind
	// Duration is the time from send to the end of the body.
	Duration time.Duration
	// Bytes is the size of the body read.
	Bytes int64
	// Attempt is 1 for the first try of a call, 2 for its first retry, ...
	Attempt int
	// Implausible names the rate-limit headers of the answer whose values
	// could not be true (see PauseWindows and RateLimit) and were cut or
	// ignored; nil when none.
	Implausible []string
	// Canceled is true when the caller cancelled its context while the
	// request was in flight. Kind is then empty: the request was sent and
	// spent budget, so it is reported, but the API did not fail. (A
	// caller's deadline that passes in flight is KindTimeout.)
	Canceled bool
}

// Observer receives a report of every request and every wait for budget.
// Every hop of a followed redirect is a request of its own. Calls may come
// from several goroutines at once.
type Observer interface {
	ObserveRequest(RequestInfo)
	// ObserveBudgetWait reports time spent waiting for budget (or for a
	// 429 pause to pass) before a request could be sent. A request sent
	// at once reports no wait.
	ObserveBudgetWait(time.Duration)
	// ObserveListing reports the checks of the data a call got: pages
	// read again or still inconsistent, rows skipped, texts cut. It is
	// called once per list call that got an answer, and for an object
	// call only when a text was cut.
	ObserveListing(ListReport)
}

// RateLimitStatus is what the server said of its rate limit in the latest
// response that carried the headers: latest by when the server counted it,
// so an answer to an earlier request that arrived late does not count.
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
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithBudget lets the client send at most requests per window, counted at
// send time over any window of that length (default 96 per 60 s: 80 % of
// the API's 120).
func WithBudget(requests int, window time.Duration) Option {
	return func(c *Client) { c.budget, c.window = requests, window }
}

// WithHealthInterval tells the client how often Health is called. It
// reserves for health checks as many requests of every window as they need
// (window ÷ interval, rounded up, plus one, since a sliding window can
// catch one check more than the average), less than the budget; and while
// the server's own count binds, it keeps the checks due before the
// server's window ends.
func WithHealthInterval(d time.Duration) Option { return func(c *Client) { c.healthInterval = d } }

// WithTransport sets the HTTP transport (default: a tuned http.Transport).
func WithTransport(rt http.RoundTripper) Option { return func(c *Client) { c.transport = rt } }

// WithObserver sets the observer of requests and budget waits.
func WithObserver(o Observer) Option { return func(c *Client) { c.obs = o } }

// WithMaxBodyBytes caps a success body (default 4 MiB, some ten times the
// largest 100-row page with long texts); a larger body is an
// invalid_response error.
func WithMaxBodyBytes(n int64) Option { return func(c *Client) { c.maxBody = n } }

// WithMaxRetries sets how many times a 5xx, timeout or network error is
// retried (default 2).
func WithMaxRetries(n int) Option { return func(c *Client) { c.maxRetries = n } }

// WithVersion sets the version in the User-Agent header
// ("kartustok_exporter/<version>").
func WithVersion(v string) Option { return func(c *Client) { c.version = v } }

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

// Defaults of a Client.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultBudget       = 96 // 80 % of the API's 120 requests per window
	DefaultWindow       = 60 * time.Second
	DefaultMaxBodyBytes = 4 << 20
	DefaultMaxRetries   = 2
	DefaultMaxPages     = 1000
	// PerPage is the page size every paginated call asks for: the API's
	// largest, so a listing costs as few requests as possible.
	PerPage = 100
)

// apiPath is the path of the public API under a company's host.
const apiPath = "/public/v1"

// memberHost serves every company's web application; its /public/v1 is
// not the company's API.
const memberHost = "member.kartustok.com"

// BudgetFor is the requests per window a client may send to take share,
// in (0, 1], of a server's limit: floor(limit × share), the rest left to
// other integrations on the same token and IP.
func BudgetFor(limit int, share float64) int {
	return int(math.Floor(float64(limit)*share + 1e-9))
}

// Client calls one company's public API within a request budget. It is safe
// for concurrent use; every call shares one budget.
//
// A call may wait for budget, or for a 429 pause to pass, before it sends
// anything; its context bounds that wait, and a call that gives up waiting
// fails with KindTimeout wrapping the context's error. So does a call whose
// context ends while a request is in flight: errors.Is(err,
// context.Canceled) or context.DeadlineExceeded tells which, and the
// request, which the server may have counted, is reported to the Observer
// as Canceled (no Kind) or as KindTimeout. Health calls may use the slots
// the health reserve keeps (see WithHealthInterval). A 5xx, timeout or
// network failure is retried (WithMaxRetries) with exponential backoff and
// jitter, each retry spending budget like any request; 401, 403, 404, 429
// and invalid responses are not retried.
type Client struct {
	base       string // normalised, ending in /public/v1
	token      TokenSource
	http       *http.Client
	sched      *scheduler
	obs        Observer
	userAgent  string
	timeout    time.Duration
	budget     int
	reserve    int
	reserveSet bool
	// reserveCut is set when the budget could not hold the reserve the
	// health interval needs.
	reserveCut     bool
	healthInterval time.Duration
	// stockShare is the share, in (0, 1), of what every window leaves
	// after the health reserve that stock (StockSummary, StockDetail) is
	// guaranteed: the catalog (company, categories, locators, items) may
	// use the rest, and waits when it would take more, so that a catalog
	// asked for more often than the budget allows is stretched before
	// stock is.
	stockShare float64
	// cautious makes a new client assume the server's window may already
	// be full, as it is after a restart of a process that used the same
	// token: it sends one request at a time until the first answer,
	// adopts the count the server sends, and without one spreads the
	// first window's requests over the window; it also spaces requests
	// other than health checks window ÷ (4 × budget) apart, so that no
	// start sends a burst. Tests of a single call turn it off.
	cautious bool
	// seed is a predecessor's window state (WithWindowState).
	seed       *windowSeed
	window     time.Duration
	transport  http.RoundTripper
	maxBody    int64
	maxRetries int
	// maxPages caps the pages of one paginated call. A listing without a
	// meta.total may take no more pages than the budget allows in one
	// window.
	maxPages int
	version  string
}

// New returns a client for baseURL, which must be http(s) and point at the
// company's own subdomain; "/public/v1" is appended to a URL without a
// path, and any other path must end in /public/v1. The member domain is
// refused.
func New(baseURL string, token TokenSource, opts ...Option) (*Client, error) {
	base, err := normaliseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	if token == nil {
		return nil, errors.New("kartustok: no token source")
	}
	c := &Client{
		base:       base,
		token:      token,
		timeout:    DefaultTimeout,
		budget:     DefaultBudget,
		window:     DefaultWindow,
		maxBody:    DefaultMaxBodyBytes,
		maxRetries: DefaultMaxRetries,
		maxPages:   DefaultMaxPages,
		version:    version.Version,
		stockShare: 0.5,
		cautious:   true,
	}
	for _, o := range opts {
		o(c)
	}
	switch {
	case c.timeout <= 0:
		return nil, fmt.Errorf("kartustok: timeout must be positive, got %s", c.timeout)
	case c.budget <= 0 || c.window <= 0:
		return nil, fmt.Errorf("kartustok: budget must be positive, got %d requests per %s", c.budget, c.window)
	case c.healthInterval < 0:
		return nil, fmt.Errorf("kartustok: the health interval must not be negative, got %s", c.healthInterval)
	case !(c.stockShare > 0 && c.stockShare < 1):
		return nil, fmt.Errorf("kartustok: the stock share must be in (0, 1), got %g", c.stockShare)
	}
	if !c.reserveSet && c.healthInterval > 0 {
		c.reserve = int(math.Ceil(c.window.Seconds()/c.healthInterval.Seconds())) + 1
		if c.reserve >= c.budget {
			c.reserve, c.reserveCut = max(c.budget-1, 0), true
		}
	}
	switch {
	case c.reserve < 0 || (c.reserve > 0 && c.reserve >= c.budget):
		return nil, fmt.Errorf("kartustok: the health reserve must be at least 0 and less than the budget of %d, got %d", c.budget, c.reserve)
	case c.maxBody <= 0:
		return nil, fmt.Errorf("kartustok: maximum body size must be positive, got %d", c.maxBody)
	case c.maxRetries < 0:
		return nil, fmt.Errorf("kartustok: retries must not be negative, got %d", c.maxRetries)
	case c.maxPages <= 0:
		return nil, fmt.Errorf("kartustok: page cap must be positive, got %d", c.maxPages)
	}
	if c.obs == nil {
		c.obs = nopObserver{}
	}
	if c.transport == nil {
		c.transport = DefaultTransport(c.timeout)
	}
	if c.version == "" {
		c.version = "unknown"
	}
	c.userAgent = "kartustok_exporter/" + c.version
	shared := c.budget - c.reserve
	cfg := schedConfig{
		budget: c.budget, window: c.window, reserve: c.reserve,
		catalogCap: max(1, shared-int(math.Ceil(c.stockShare*float64(shared)))), healthInterval: c.healthInterval, cautious: c.cautious,
	}
	if c.cautious {
		cfg.spacing = c.window / time.Duration(4*c.budget)
	}
	c.sched = newScheduler(cfg)
	if c.seed != nil {
		c.sched.seed(c.seed.ws, c.seed.complete)
	}
	c.http = &http.Client{Transport: c.transport, CheckRedirect: c.checkRedirect}
	return c, nil
}

// normaliseBaseURL checks a base URL and makes it end in /public/v1. The
// path must be empty, "/" or end in /public/v1 (a reverse proxy may mount
// the API under a prefix); anything else, such as an endpoint's URL or
// "/public", is refused rather than guessed at.
func normaliseBaseURL(raw string) (string, error) {
	return NormaliseBaseURL(raw)
}

// NormaliseBaseURL checks a base URL as New does and returns it as a
// client's BaseURL says it: ending in /public/v1.
func NormaliseBaseURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("kartustok: base URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("kartustok: base URL %q must start with https:// (or http://), e.g. https://<subdomain>.kartustok.com/public/v1", raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("kartustok: base URL %q has no host; use https://<subdomain>.kartustok.com/public/v1", raw)
	}
	if u.User != nil {
		return "", errors.New("kartustok: base URL must not hold credentials; the token comes from a file or the environment")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("kartustok: base URL %q must not have a query or fragment", raw)
	}
	if strings.EqualFold(strings.TrimSuffix(u.Hostname(), "."), memberHost) {
		return "", fmt.Errorf("kartustok: base URL %q is the member domain, which does not serve a company's API; use your company's own https://<subdomain>.kartustok.com/public/v1", raw)
	}
	path := strings.TrimRight(u.Path, "/")
	switch {
	case path == "":
		path = apiPath
	case !strings.HasSuffix(path, apiPath):
		return "", fmt.Errorf("kartustok: base URL %q must be the API's root; use %s://%s%s", raw, u.Scheme, u.Host, apiPath)
	}
	u.Path, u.RawPath = path, ""
	return u.String(), nil
}

// BaseURL returns the normalised base URL, ending in /public/v1.
func (c *Client) BaseURL() string { return c.base }

// Budget returns the requests per window the client allows itself.
func (c *Client) Budget() (requests int, window time.Duration) { return c.budget, c.window }

// Shares returns how the client divides every window: the requests kept
// for health checks, and the most the catalog may use; stock may use the
// rest. cut is set when the budget could not hold the reserve the health
// interval needs.
func (c *Client) Shares() (healthReserve, catalogCap int, cut bool) {
	return c.reserve, c.sched.cfg.catalogCap, c.reserveCut
}

// RateLimit returns the latest X-RateLimit-Limit/-Remaining seen.
func (c *Client) RateLimit() RateLimitStatus { return c.sched.rateLimit() }

// Health calls GET /health.
func (c *Client) Health(ctx context.Context) (Health, error) {
	return getObject[Health](ctx, c, EndpointHealth, EndpointHealth, nil)
}

// Company calls GET /meta/company.
func (c *Client) Company(ctx context.Context) (Company, error) {
	return getObject[Company](ctx, c, EndpointCompany, EndpointCompany, nil)
}

// ItemCategories calls GET /item-categories. Rows that cannot be used are
// skipped and listed in the ListInfo.
func (c *Client) ItemCategories(ctx context.Context) ([]Category, ListInfo, error) {
	return getList[Category](ctx, c, EndpointItemCategories)
}

// Locators calls GET /locators. Rows that cannot be used are skipped and
// listed in the ListInfo.
func (c *Client) Locators(ctx context.Context) ([]Locator, ListInfo, error) {
	return getList[Locator](ctx, c, EndpointLocators)
}

// Items fetches every page of GET /items as one verified listing (see
// getPages). Rows that cannot be used are skipped and listed in the
// ListInfo, with the page counts for budget planning.
func (c *Client) Items(ctx context.Context, f ItemFilter) (items []Item, info ListInfo, err error) {
	q := url.Values{}
	setIf(q, "q", f.Query)
	if f.Active != nil {
		active := "0"
		if *f.Active {
			active = "1"
		}
		q.Set("is_active", active)
	}
	setIf(q, "category_id", string(f.CategoryID))
	return getPages[Item](ctx, c, EndpointItems, q)
}

// Item calls GET /items/{id}.
func (c *Client) Item(ctx context.Context, id ID) (Item, error) {
	if id == "" {
		return Item{}, fmt.Errorf("kartustok: GET %s: empty item ID", EndpointItem)
	}
	return getObject[Item](ctx, c, EndpointItem, "/items/"+escapeSegment(string(id)), nil)
}

// StockSummary fetches every page of GET /stock/summary as one verified
// listing, as Items does.
func (c *Client) StockSummary(ctx context.Context, f StockSummaryFilter) (rows []StockRow, info ListInfo, err error) {
	q := url.Values{}
	setIf(q, "locator_id", string(f.LocatorID))
	setIf(q, "item_id", string(f.ItemID))
	setIf(q, "category_id", string(f.CategoryID))
	setIf(q, "date_from", f.DateFrom)
	setIf(q, "date_to", f.DateTo)
	return getPages[StockRow](ctx, c, EndpointStockSummary, q)
}

// StockDetail fetches every page of GET /stock/detail as one verified
// listing, as Items does.
func (c *Client) StockDetail(ctx context.Context, f StockDetailFilter) (rows []Movement, info ListInfo, err error) {
	q, err := f.query()
	if err != nil {
		return nil, ListInfo{}, err
	}
	return getPages[Movement](ctx, c, EndpointStockDetail, q)
}

// query is the filter as /stock/detail's query. Without a locator the API
// answers 422, so the filter is refused before asking would spend budget.
func (f StockDetailFilter) query() (url.Values, error) {
	if f.LocatorID == "" {
		return nil, fmt.Errorf("kartustok: GET %s: a locator ID is required", EndpointStockDetail)
	}
	q := url.Values{}
	q.Set("locator_id", string(f.LocatorID))
	setIf(q, "item_id", string(f.ItemID))
	setIf(q, "transaction_type", f.TransactionType)
	setIf(q, "date_from", f.DateFrom)
	setIf(q, "date_to", f.DateTo)
	return q, nil
}

// ErrNoTotal is wrapped by the error of StockMovementCount when the answer
// has no meta.total: the count cannot be known without paging.
var ErrNoTotal = errors.New("the answer has no meta.total")

// StockMovementCount returns how many movements of GET /stock/detail f
// selects, from the meta.total of one page of one row: a single request,
// however many there are. The answer is checked as far as one page allows:
// its total must be a whole number of at least 0, its current_page 1, and
// it must hold no row when the total is 0 and one row otherwise. An answer
// without a total fails with an error that wraps ErrNoTotal.
func (c *Client) StockMovementCount(ctx context.Context, f StockDetailFilter) (int, error) {
	q, err := f.query()
	if err != nil {
		return 0, err
	}
	q.Set("page", "1")
	q.Set("per_page", "1")
	var total int
	err = c.get(ctx, EndpointStockDetail, EndpointStockDetail, q, func(body []byte) error {
		p, err := decodeList[Movement](body, 1)
		if err != nil {
			return err
		}
		switch m := p.meta; {
		case m == nil || m.Total == nil:
			return ErrNoTotal
		case m.CurrentPage != nil && *m.CurrentPage != 1:
			return fmt.Errorf("asked for page 1, got current_page %d", *m.CurrentPage)
		case *m.Total < 0:
			return fmt.Errorf("meta.total is %d", *m.Total)
		case len(p.keys) > 1:
			return fmt.Errorf("asked for 1 row per page, got %d", len(p.keys))
		case (*m.Total == 0) != (len(p.keys) == 0):
			return fmt.Errorf("meta.total %d with %d rows on page 1", *m.Total, len(p.keys))
		}
		total = *p.meta.Total
		return nil
	})
	if err != nil {
		return 0, err
	}
	return total, nil
}

func setIf(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}

// escapeSegment escapes an ID as one path segment. "." and ".." are
// escaped too, so that no ID can walk to another path.
func escapeSegment(s string) string {
	if s == "." || s == ".." {
		return strings.Repeat("%2E", len(s))
	}
	return url.PathEscape(s)
}

// getObject fetches one unpaginated answer.
func getObject[T any](ctx context.Context, c *Client, endpoint, path string, q url.Values) (T, error) {
	var out T
	cut := &cutter{}
	err := c.get(ctx, endpoint, path, q, func(body []byte) error {
		var err error
		cut.n = 0
		out, err = decodeObject[T](body, cut)
		return err
	})
	if err == nil && cut.n > 0 {
		c.obs.ObserveListing(ListReport{Endpoint: endpoint, TruncatedLabels: cut.n})
	}
	return out, err
}
