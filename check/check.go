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

// Package check is the exporter's connectivity check (--kartustok.check).
// It connects once and calls each endpoint the exporter reads, in the order
// the API's integrator guide recommends (health, company, item categories,
// warehouses, the first page of items, and the first page of one
// warehouse's stock summary and stock detail for the company's today), and
// prints a plain-text report: for every endpoint the status, whether the
// token has the scope it needs, the rows and meta.total, the fields the
// exporter understood, ignored or missed, and the rate-limit headers; for
// the company its time zone, today's date there, its minimum-stock mode and
// the token's expiry. Every problem comes with a one-line fix.
//
// It sends at most seven requests, well within the API's budget of 120 a
// minute, and stops at the first answer that every further request would
// repeat (a refused token or IP, a wrong host, a 429, a server error). The
// token is sent, never printed.
package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the company's time zone must resolve on any machine

	"github.com/prometheus/common/version"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

// Config is what the check needs; main fills it from the exporter's flags.
type Config struct {
	// URL is the API's base URL, as --kartustok.url gives it.
	URL string
	// Token returns the API token, as the exporter reads it (main passes
	// its token source's Token method). It is called once. The token is
	// sent to the API and never printed.
	Token func() (string, error)
	// TokenFrom says where the token comes from, for the report:
	// "file <path>" or "the <NAME> environment variable", as main gives
	// it. The fixes for an unreadable or expiring token follow it (replace
	// the file, or set the variable); any other text gets fixes that name
	// both.
	TokenFrom string
	// TokenExpiresAt is --kartustok.token-expires-at, reported when
	// /meta/company does not report the token's expiry; zero when unset.
	TokenExpiresAt time.Time
	// RateLimit is --kartustok.rate-limit; the check warns when the API
	// announces a lower limit. Zero means the API's documented 120.
	RateLimit int
	// Timeout bounds each request; zero means kartustok.DefaultTimeout.
	Timeout time.Duration
	// MaxBodyBytes is the largest answer the exporter reads
	// (--kartustok.max-body-size); zero means kartustok.DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Client sends the requests; nil means a client set up as the
	// exporter's is. Whatever its settings, a redirect to another host or
	// scheme is reported, never followed.
	Client *http.Client
	// UserAgent is sent with every request; empty means
	// "kartustok_exporter/<version> (check)".
	UserAgent string
	// Out receives the report; nil means standard output.
	Out io.Writer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Run runs the check, writes its report to cfg.Out, and reports whether
// everything the exporter needs works: true means the exporter can use
// this URL and token (main then exits 0, else 1).
func Run(ctx context.Context, cfg Config) (ok bool) {
	c := newChecker(cfg)
	defer c.http.CloseIdleConnections()
	c.run(ctx)
	return c.finish()
}

// allScopes are the scopes the exporter uses, in the order of the
// endpoints it calls.
var allScopes = []string{kartustok.ScopeMeta, kartustok.ScopeCategory, kartustok.ScopeLocator, kartustok.ScopeItem, kartustok.ScopeStock}

// checker is the state of one run.
type checker struct {
	cfg       Config
	out       io.Writer
	now       func() time.Time
	http      *http.Client
	timeout   time.Duration
	maxBody   int64
	userAgent string
	base      string
	token     string
	start     time.Time

	findings []*finding
	// stopped says why the check stopped early; "" while it goes on.
	stopped string
	// incomplete is set when steps were left out.
	incomplete bool
	requests   int

	// What the answers so far told.
	listed  map[string]bool // the scopes /meta/company lists; nil when it lists none
	granted map[string]bool // scope → whether a call was allowed or refused for it
	company *kartustok.Company
	loc     *time.Location
	locator *kartustok.Locator
	limit   string // the latest X-RateLimit-Limit
	// limitWarned and rateSeen make the rate-limit warnings come once.
	limitWarned, rateSeen bool
	remaining             int // the latest X-RateLimit-Remaining, -1 when unknown
	lastCalled            string
}

func newChecker(cfg Config) *checker {
	c := &checker{
		cfg: cfg, out: cfg.Out, now: cfg.Now, timeout: cfg.Timeout, maxBody: cfg.MaxBodyBytes,
		userAgent: cfg.UserAgent, granted: map[string]bool{}, remaining: -1,
	}
	if c.out == nil {
		c.out = os.Stdout
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.timeout <= 0 {
		c.timeout = kartustok.DefaultTimeout
	}
	if c.maxBody <= 0 {
		c.maxBody = kartustok.DefaultMaxBodyBytes
	}
	if c.userAgent == "" {
		c.userAgent = "kartustok_exporter/" + version.Version + " (check)"
	}
	var hc http.Client
	if cfg.Client != nil {
		hc = *cfg.Client
	} else {
		hc.Transport = kartustok.DefaultTransport(c.timeout)
	}
	hc.CheckRedirect = sameHostOnly
	c.http = &hc
	return c
}

// print writes text to the report, without the token.
func (c *checker) print(text string) {
	_, _ = io.WriteString(c.out, kartustok.Redact(text, c.token))
}

// note records a finding of block b.
func (c *checker) note(b *block, sev severity, text, fix string) {
	where, _, _ := strings.Cut(b.title, "?")
	c.noteAt(b, where, sev, text, fix)
}

// noteAt records a finding of block b, named where in the summary.
func (c *checker) noteAt(b *block, where string, sev severity, text, fix string) {
	f := &finding{sev: sev, where: where, text: text, fix: fix}
	b.findings = append(b.findings, f)
	c.findings = append(c.findings, f)
}

// stop ends the check after the current step.
func (c *checker) stop(why string) {
	if c.stopped == "" {
		c.stopped = why
	}
}

// step is one endpoint the check calls.
type step struct {
	endpoint string
	run      func(context.Context)
}

func (c *checker) run(ctx context.Context) {
	c.start = time.Now()
	head := &block{title: "KartuStok connectivity check"}
	ok := c.setup(head)
	c.print(head.render() + "\n")
	if !ok {
		return
	}
	steps := []step{
		{kartustok.EndpointHealth, c.health},
		{kartustok.EndpointCompany, c.companyStep},
		{kartustok.EndpointItemCategories, c.categories},
		{kartustok.EndpointLocators, c.locators},
		{kartustok.EndpointItems, c.items},
		{kartustok.EndpointStockSummary, c.stockSummary},
		{kartustok.EndpointStockDetail, c.stockDetail},
	}
	for i, s := range steps {
		if c.stopped == "" && ctx.Err() != nil {
			c.stop("interrupted")
		}
		if c.stopped == "" && c.remaining == 0 {
			b := &block{title: "Rate limit"}
			c.note(b, problem, fmt.Sprintf("X-RateLimit-Remaining is 0 after GET %s: the API will refuse the next request until its window ends", c.lastCalled),
				fix429(c.limit, 0))
			c.print(b.render() + "\n")
			c.stop("the rate limit is spent")
		}
		if c.stopped != "" {
			c.incomplete = true
			var rest []string
			for _, r := range steps[i:] {
				rest = append(rest, r.endpoint)
			}
			c.print(fmt.Sprintf("Not called: %s (the check stopped: %s)\n\n", strings.Join(rest, ", "), c.stopped))
			return
		}
		s.run(ctx)
	}
}

// setup checks the URL and reads the token, before any request.
func (c *checker) setup(b *block) bool {
	shown := c.cfg.URL
	if u, err := url.Parse(strings.TrimSpace(shown)); err == nil && u.User != nil {
		shown = u.Redacted() // the exporter refuses credentials in the URL; never print them
	}
	b.add("API URL", "%s", sanitise(shown, maxMessageBytes))
	from := c.cfg.TokenFrom
	if from == "" {
		from = "the token source"
	}
	b.add("token", "from %s (never shown)", sanitise(from, maxMessageBytes))
	b.add("started", "%s on this machine's clock", c.now().Format("2006-01-02 15:04:05 -07:00"))
	if strings.TrimSpace(c.cfg.URL) == "" {
		c.noteAt(b, "--kartustok.url", problem, "no API URL", "set --kartustok.url=https://<subdomain>.kartustok.com/public/v1")
		return false
	}
	if u, err := url.Parse(strings.TrimSpace(c.cfg.URL)); err == nil && strings.EqualFold(strings.TrimSuffix(u.Hostname(), "."), "member.kartustok.com") {
		c.noteAt(b, "--kartustok.url", problem, "the URL is the member domain, which serves no company's API (it answers 404 \"Invalid URL\")", fixSubdomain)
		return false
	}
	client, err := kartustok.New(c.cfg.URL, kartustok.StaticToken("unused"))
	if err != nil {
		c.noteAt(b, "--kartustok.url", problem, sanitise(strings.TrimPrefix(err.Error(), "kartustok: "), maxMessageBytes),
			"set --kartustok.url=https://<subdomain>.kartustok.com/public/v1")
		return false
	}
	c.base = client.BaseURL()
	if c.base != strings.TrimSpace(c.cfg.URL) {
		b.add("base URL", "%s", sanitise(c.base, maxMessageBytes))
	}
	if u, _ := url.Parse(c.base); u != nil && u.Scheme == "http" && !loopback(u.Hostname()) {
		c.noteAt(b, "--kartustok.url", warning, "the URL is plain http: the token crosses the network unencrypted", "use https://")
	}
	if c.cfg.Token == nil {
		c.noteAt(b, "token", problem, "no token source", "set --kartustok.token-file to a file holding the API token")
		return false
	}
	tok, err := c.cfg.Token()
	if err == nil && strings.TrimSpace(tok) == "" {
		err = errors.New("the token is empty")
	}
	if err != nil {
		c.noteAt(b, "token", problem, "cannot read the token: "+sanitise(err.Error(), maxMessageBytes), c.fixTokenUnreadable())
		return false
	}
	c.token = strings.TrimSpace(tok)
	return true
}

// tokenFile returns the token file's path when the token comes from a
// file, as Config.TokenFrom says.
func (c *checker) tokenFile() (string, bool) {
	return strings.CutPrefix(c.cfg.TokenFrom, "file ")
}

// tokenEnv returns the environment variable's name when the token comes
// from one, as Config.TokenFrom says.
func (c *checker) tokenEnv() (string, bool) {
	rest, ok := strings.CutPrefix(c.cfg.TokenFrom, "the ")
	if !ok {
		return "", false
	}
	name, ok := strings.CutSuffix(rest, " environment variable")
	if !ok || name == "" || strings.ContainsAny(name, " \t\n") {
		return "", false
	}
	return name, true
}

// fixTokenUnreadable is the fix when the token cannot be read, by where it
// comes from.
func (c *checker) fixTokenUnreadable() string {
	const token = "the API token (shown once, when it is created under API Access)"
	if path, ok := c.tokenFile(); ok {
		return "put " + token + " in " + sanitise(path, maxMessageBytes) + ", readable by the user the exporter runs as"
	}
	if name, ok := c.tokenEnv(); ok {
		return "set " + sanitise(name, maxValueBytes) + " to " + token + ", or set --kartustok.token-file to a file holding it"
	}
	return "put " + token + " in the file --kartustok.token-file names, readable by the user the exporter runs as, or else in the " + defaultTokenEnv + " environment variable"
}

// fixTokenReplace is the fix that puts a new token where the exporter
// reads it.
func (c *checker) fixTokenReplace() string {
	if _, ok := c.tokenFile(); ok {
		return "replace the token file"
	}
	if name, ok := c.tokenEnv(); ok {
		return "set " + sanitise(name, maxValueBytes) + " to the new token"
	}
	return "give the exporter the new token (its --kartustok.token-file, or else " + defaultTokenEnv + ")"
}

// defaultTokenEnv is the environment variable the exporter reads the
// token from without --kartustok.token-file.
const defaultTokenEnv = "KARTUSTOK_TOKEN"

// loopback reports whether host is this machine.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// result is an answer to one step's request, as far as it could be read.
type result struct {
	b      *block
	status int
	rate   string // the rate-limit headers, shown last
	// data and meta are the envelope's, set when the answer is a success
	// the exporter can read.
	data json.RawMessage
	meta *pageMeta
}

// pageMeta is a paginated list's meta block, with the exporter's types:
// a value that is no whole number fails the exporter's whole call.
type pageMeta struct {
	CurrentPage *int `json:"current_page"`
	PerPage     *int `json:"per_page"`
	Total       *int `json:"total"`
	LastPage    *int `json:"last_page"`
}

// envelope is the success envelope, with the exporter's types.
type envelope struct {
	Status  string          `json:"status"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
	Meta    *pageMeta       `json:"meta"`
}

// call sends one request and reports its answer in a new block: status,
// scope and rate-limit headers, and any problem its status, headers or
// envelope show. needed is false for an endpoint the exporter does not
// depend on, whose problems are only warnings. The caller adds what the
// data shows and prints the block.
func (c *checker) call(ctx context.Context, endpoint string, q url.Values, needed bool) *result {
	target := c.base + endpoint
	title := "GET " + endpoint
	if len(q) > 0 {
		target += "?" + q.Encode()
		title += "?" + q.Encode()
	}
	r := &result{b: &block{title: sanitise(title, 400)}}
	b := r.b
	sev := sevOf(needed)
	scope := kartustok.ScopeFor(endpoint)
	c.lastCalled = endpoint
	a := c.send(ctx, target)
	if a.status == 0 {
		text, fix := transportProblem(ctx, a.err, c.timeout)
		b.add("status", "no answer (after %s)", elapsed(a.elapsed))
		c.scopeLine(b, scope, 0, "")
		if fix == "" {
			c.stop("interrupted")
			b.add("stopped", "%s", text)
			return r
		}
		c.note(b, sev, text, fix)
		c.stop("no answer from the API")
		return r
	}
	r.status, r.rate = a.status, rateLine(a.header)
	b.add("status", "%d %s (%s)", a.status, http.StatusText(a.status), elapsed(a.elapsed))
	c.readRate(b, a.header)
	ct := a.header.Get("Content-Type")
	msg, jsonBody := bodyMessage(ct, a.body)
	switch s := a.status; {
	case s >= 200 && s <= 299:
	case s >= 300 && s <= 399:
		c.scopeLine(b, scope, s, "")
		loc := a.header.Get("Location")
		c.note(b, sev, fmt.Sprintf("%d: a redirect to %s", s, quote(loc)), fixRedirect)
		c.stop("the API's URL redirects elsewhere")
		return r
	case s == http.StatusUnauthorized:
		c.scopeLine(b, scope, s, "")
		c.note(b, sev, "401 Unauthorized: "+msg, fixUnauthorized)
		c.stop("the token was refused")
		return r
	case s == http.StatusForbidden:
		cause, named := forbiddenCause(msg)
		if cause == kartustok.ForbiddenUnknown && c.listed != nil && !c.listed[scope] {
			cause = kartustok.ForbiddenScope // /meta/company said the token lacks it
		}
		switch cause {
		case kartustok.ForbiddenScope:
			if named == "" {
				named = scope
			}
			c.granted[named] = false
			c.scopeLine(b, scope, s, named)
			c.note(b, sev, "403 Forbidden: "+msg, fixScope(named))
		case kartustok.ForbiddenIP:
			c.scopeLine(b, scope, s, "")
			c.note(b, sev, "403 Forbidden: "+msg, fixIP)
			c.stop("this machine's IP is not allowed")
		default:
			c.scopeLine(b, scope, s, "")
			c.note(b, sev, "403 Forbidden: "+msg, fixScopeOrIP(scope))
		}
		return r
	case s == http.StatusNotFound:
		c.scopeLine(b, scope, s, "")
		switch {
		case jsonBody && strings.Contains(strings.ToLower(msg), "invalid url"):
			c.note(b, sev, "404 Not Found: "+msg+" — this host is not a company's API", fixSubdomain)
			c.stop("the host is not a company's API")
		case !jsonBody:
			c.note(b, sev, "404 Not Found with "+msg+": not an answer of the KartuStok API", fixNotAPI)
			c.stop("the URL is not a KartuStok API")
		case endpoint == kartustok.EndpointHealth:
			c.note(b, sev, "404 Not Found: "+msg, fixNotAPI)
			c.stop("the URL is not a KartuStok API")
		default:
			c.note(b, sev, "404 Not Found: "+msg+" — the API does not serve an endpoint it documents", fixShape)
		}
		return r
	case s == http.StatusTooManyRequests:
		c.scopeLine(b, scope, s, "")
		retry := retryAfter(a.header, c.now())
		text := "429 Too Many Requests: " + msg
		if retry > 0 {
			text += fmt.Sprintf(" (retry after %s)", retry)
		}
		c.note(b, sev, text, fix429(c.limit, retry))
		c.stop("rate limited")
		return r
	case s >= 500:
		c.scopeLine(b, scope, s, "")
		c.note(b, sev, fmt.Sprintf("%d %s: %s", s, http.StatusText(s), msg), fixServer)
		c.stop("the API failed")
		return r
	default:
		c.scopeLine(b, scope, s, "")
		c.note(b, sev, fmt.Sprintf("%d %s: %s — the API refused what the exporter asks", s, http.StatusText(s), msg), fixShape)
		return r
	}
	// A success: the token has the scope.
	c.granted[scope] = true
	c.scopeLine(b, scope, a.status, "")
	if !kartustok.IsJSON(ct) {
		c.note(b, sev, fmt.Sprintf("Content-Type %s instead of JSON, with %s", quote(ct), describeBody(ct, a.body)), fixNotAPI)
		if endpoint == kartustok.EndpointHealth {
			c.stop("the URL is not a KartuStok API")
		}
		return r
	}
	if a.tooLarge {
		c.note(b, sev, fmt.Sprintf("the answer is larger than the %d bytes the exporter reads", c.maxBody),
			"raise --kartustok.max-body-size")
		return r
	}
	if a.err != nil {
		c.note(b, sev, "the answer was cut off: "+sanitise(a.err.Error(), maxMessageBytes), fixServer)
		return r
	}
	var env envelope
	if err := json.Unmarshal(a.body, &env); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn) && strings.Contains(err.Error(), "unexpected end"):
			c.note(b, sev, "the answer ends early (truncated JSON)", fixServer)
		case errors.As(err, &syn):
			c.note(b, sev, fmt.Sprintf("the answer is not valid JSON (at byte %d): %s", syn.Offset, sanitise(err.Error(), maxMessageBytes)), fixServer)
		case errors.As(err, &typ) && typ.Field != "":
			c.note(b, sev, fmt.Sprintf("%s is a JSON %s, which the exporter cannot read — it fails the whole answer", sanitise(typ.Field, maxValueBytes), typ.Value), fixShape)
		default:
			c.note(b, sev, "the exporter cannot read the answer: "+sanitise(err.Error(), maxMessageBytes), fixShape)
		}
		return r
	}
	if env.Status != "" && env.Status != "success" {
		c.note(b, sev, fmt.Sprintf("status %s instead of \"success\": %s", quote(env.Status), sanitise(env.Message, maxMessageBytes)), fixShape)
		return r
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		c.note(b, sev, `no "data" in the answer`, fixShape)
		return r
	}
	r.data, r.meta = env.Data, env.Meta
	return r
}

// printResult prints a step's block, its rate-limit headers last.
func (c *checker) printResult(r *result) {
	if r.rate != "" {
		r.b.add("rate limit", "%s", r.rate)
	}
	c.print(r.b.render() + "\n")
}

// readRate remembers the latest rate-limit headers, and warns once when
// the API allows fewer requests than the exporter is told it may send, and
// once when other clients on the same token and IP had spent part of the
// window before the check's first request.
func (c *checker) readRate(b *block, h http.Header) {
	if v := h.Get("X-RateLimit-Limit"); v != "" {
		c.limit = sanitise(v, 20)
	}
	limit, hasLimit := headerInt(h, "X-RateLimit-Limit")
	remaining, hasRemaining := headerInt(h, "X-RateLimit-Remaining")
	if hasRemaining {
		c.remaining = remaining
	}
	configured := c.cfg.RateLimit
	if configured <= 0 {
		configured = 120
	}
	if hasLimit && limit > 0 && limit < configured && !c.limitWarned {
		c.limitWarned = true
		c.note(b, warning, fmt.Sprintf("the API allows %d requests per window, fewer than the %d --kartustok.rate-limit assumes: the exporter would be refused requests", limit, configured),
			fmt.Sprintf("set --kartustok.rate-limit=%d", limit))
	}
	if hasLimit && hasRemaining && !c.rateSeen {
		c.rateSeen = true
		// The check's own request is counted; two checks run a moment
		// ago may account for more.
		if spent := limit - remaining - 1; spent > sharedSlack {
			c.note(b, warning, fmt.Sprintf("%d requests of the API's current window were spent before this check: another client uses this token from this IP, and the exporter would share the budget with it", spent),
				"give the exporter a token of its own (if that client is this exporter, running already, nothing needs doing)")
		}
	}
}

// maxRequests is the most requests one check sends.
const maxRequests = 7

// sharedSlack is how many requests of the window others may have spent
// before the check without a warning: two checks run just before.
const sharedSlack = 2 * maxRequests

// scopeLine says whether the token has the scope of an endpoint: from the
// answer when it tells, else from the list /meta/company reported.
func (c *checker) scopeLine(b *block, scope string, status int, refused string) {
	var verdict string
	switch {
	case status >= 200 && status <= 299:
		verdict = "the token has it"
		if c.listed != nil && !c.listed[scope] {
			verdict += " (though /meta/company does not list it)"
		}
	case refused != "":
		verdict = "MISSING: the API refused the call for it"
		scope = refused
	case c.listed != nil && c.listed[scope]:
		verdict = "the token has it, as /meta/company lists"
	case c.listed != nil:
		verdict = "the token lacks it, as /meta/company lists"
	default:
		verdict = "not known (this answer does not say)"
	}
	b.add("scope", "%s: %s", scope, verdict)
}

// dataRows reads a list answer's data as rows.
func (c *checker) dataRows(r *result, sev severity) ([]json.RawMessage, bool) {
	var rows []json.RawMessage
	if err := json.Unmarshal(r.data, &rows); err != nil {
		c.note(r.b, sev, fmt.Sprintf(`"data" is %s, not a list`, describeJSON(r.data)), fixShape)
		return nil, false
	}
	return rows, true
}

// fields adds what a shape report found to a block.
func (c *checker) fields(b *block, rep *shapeReport) {
	b.add("understood", "%s", list(rep.understood))
	b.add("ignored", "%s", list(rep.ignored))
	if len(rep.notSent) > 0 {
		b.add("not sent", "%s", list(rep.notSent))
	}
	for _, f := range rep.findings {
		c.note(b, f.sev, f.text, fixShape)
	}
}

// rowsLine describes the rows of a list answer.
func rowsLine(b *block, rep *shapeReport, meta *pageMeta, paged bool) {
	usable := "all usable"
	if rep.skipped > 0 {
		usable = fmt.Sprintf("the exporter skips %d", rep.skipped)
	}
	if !paged {
		b.add("rows", "%d (the whole list; %s)", rep.rows, usable)
		return
	}
	line := fmt.Sprintf("%d on page 1 (%s)", rep.rows, usable)
	if meta != nil {
		line += "; meta.total " + intOr(meta.Total) + ", last_page " + intOr(meta.LastPage) + ", per_page " + intOr(meta.PerPage)
	}
	b.add("rows", "%s", line)
}

func intOr(p *int) string {
	if p == nil {
		return "not sent"
	}
	return strconv.Itoa(*p)
}

// pageChecks warns of a paginated answer's meta block that makes the
// exporter's listings cost more or be less sure.
func (c *checker) pageChecks(b *block, meta *pageMeta, rows int) {
	switch {
	case meta == nil:
		c.note(b, warning, "no meta block: the exporter pages until a short page and cannot check that a listing is complete", fixShape)
	case meta.Total == nil:
		c.note(b, warning, "no meta.total: the exporter cannot check that a listing is complete", fixShape)
	case meta.PerPage != nil && *meta.PerPage != kartustok.PerPage:
		c.note(b, warning, fmt.Sprintf("per_page %d instead of the %d asked: every listing costs more requests", *meta.PerPage, kartustok.PerPage), fixShape)
	case *meta.Total > 0 && rows == 0:
		c.note(b, warning, fmt.Sprintf("meta.total is %d but page 1 holds no rows", *meta.Total), fixShape)
	}
}

// sevOf is the severity of what fails on an endpoint.
func sevOf(needed bool) severity {
	if needed {
		return problem
	}
	return warning
}

// today is the company's today, and the zone it was computed in.
func (c *checker) today() (string, *time.Location) {
	loc := c.loc
	if loc == nil {
		loc = time.UTC
	}
	return c.now().In(loc).Format(time.DateOnly), loc
}

// elapsed shows how long a request took.
func elapsed(d time.Duration) string {
	if d < time.Millisecond {
		return "<1ms"
	}
	return d.Round(time.Millisecond).String()
}
