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
//
// Every request goes through the exporter's own client
// (kartustok.Client.Probe), and every row is judged by the client's own
// types (kartustok.Shape): the check and the exporter cannot disagree on
// what an answer means. This package only words the report.
package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
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
	// Transport carries the requests; nil means the exporter's
	// (kartustok.DefaultTransport). Whatever it does, the requests go
	// through a kartustok.Client: a redirect to another host or scheme is
	// reported, never followed.
	Transport http.RoundTripper
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
	defer c.closeIdle()
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
	transport http.RoundTripper
	client    *kartustok.Client // set once the URL is known good
	timeout   time.Duration
	maxBody   int64
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
	limit   int // the latest X-RateLimit-Limit, 0 when unknown
	// limitWarned and rateSeen make the rate-limit warnings come once.
	limitWarned, rateSeen bool
	remaining             int // the latest X-RateLimit-Remaining, -1 when unknown
	lastCalled            string
}

func newChecker(cfg Config) *checker {
	c := &checker{
		cfg: cfg, out: cfg.Out, now: cfg.Now, transport: cfg.Transport, timeout: cfg.Timeout, maxBody: cfg.MaxBodyBytes,
		granted: map[string]bool{}, remaining: -1,
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
	if c.transport == nil {
		c.transport = kartustok.DefaultTransport(c.timeout)
	}
	return c
}

// closeIdle closes the connections the check left open.
func (c *checker) closeIdle() {
	if t, ok := c.transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}

// newClient returns the client the check sends its requests with, set up
// as the exporter's (timeout, body limit, transport), with the token the
// check reads. Nothing delays the check's few requests: the client starts
// without the cautious start that spaces the requests of a process
// following another on the same token, and Probe never retries.
func (c *checker) newClient() (*kartustok.Client, error) {
	return kartustok.New(c.cfg.URL, readToken{c},
		kartustok.WithTimeout(c.timeout),
		kartustok.WithMaxBodyBytes(c.maxBody),
		kartustok.WithTransport(c.transport),
		kartustok.WithCautiousStart(false),
		kartustok.WithVersion(version.Version+" (check)"))
}

// readToken gives the client the token the check read.
type readToken struct{ c *checker }

func (t readToken) Token() (string, error) { return t.c.token, nil }

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
	client, err := c.newClient()
	if err != nil {
		c.noteAt(b, "--kartustok.url", problem, sanitise(strings.TrimPrefix(err.Error(), "kartustok: "), maxMessageBytes),
			"set --kartustok.url=https://<subdomain>.kartustok.com/public/v1")
		return false
	}
	c.client = client
	if base := client.BaseURL(); base != strings.TrimSpace(c.cfg.URL) {
		b.add("base URL", "%s", sanitise(base, maxMessageBytes))
	}
	if u, _ := url.Parse(client.BaseURL()); u != nil && u.Scheme == "http" && !loopback(u.Hostname()) {
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
