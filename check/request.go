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
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

// The fixes of the problems an answer's status reveals. Each is one line
// an operator can act on.
const (
	fixUnauthorized = "the token is invalid, inactive, expired or revoked, or belongs to another company — " +
		"create a new one under API Access (Manage → Integrations → API Access) and replace the token file"
	fixIP = "this machine's IP is outside the token's Allowed IPs — add the address this machine's requests " +
		"come from (its public or NAT address) to the token's Allowed IPs under API Access, or clear the list"
	fixSubdomain = "use your company's own subdomain, https://<subdomain>.kartustok.com/public/v1 " +
		"(the address of your company's KartuStok pages), not the member domain member.kartustok.com"
	fixNotAPI = "--kartustok.url does not point at a KartuStok API — use https://<subdomain>.kartustok.com/public/v1"
	fixServer = "the API or a proxy in front of it failed — run the check again in a few minutes; " +
		"if it persists, ask KartuStok support"
	fixShape = "the API's answer differs from what this version of the exporter reads — upgrade kartustok_exporter, " +
		"or report this output (it holds no token) to its maintainers"
	fixRedirect = "set --kartustok.url to the API's own address, https://<subdomain>.kartustok.com/public/v1; " +
		"the exporter does not follow a redirect to another host or scheme"
)

// fixScope is the fix of a 403 for a missing scope.
func fixScope(scope string) string {
	return fmt.Sprintf("the token lacks scope %s — edit the token's scopes under API Access and add %s", scope, scope)
}

// fixScopeOrIP is the fix of a 403 whose message names neither cause.
func fixScopeOrIP(scope string) string {
	return fmt.Sprintf("the token lacks scope %s, or this machine's IP is outside the token's Allowed IPs — check both under API Access", scope)
}

// fix429 is the fix of a 429; limit is 0 when the API did not say it.
func fix429(limit int, retry time.Duration) string {
	if limit <= 0 {
		limit = 120
	}
	again := "in a minute"
	if retry > 0 {
		again = "in " + retry.String()
	}
	return fmt.Sprintf("the token's %d requests per 60 s (counted per token and client IP) are spent, by a running exporter "+
		"or another integration on the same token and IP — run the check again %s, and give the exporter a token of its own", limit, again)
}

// result is an answer to one step's request, as far as it could be read.
type result struct {
	b      *block
	status int
	rate   string // the rate-limit headers, shown last
	// data and meta are the envelope's, set when the answer is a success
	// the exporter can read.
	data json.RawMessage
	meta *kartustok.PageMeta
}

// call sends one request through the exporter's client and reports its
// answer in a new block: status, scope and rate-limit headers, and any
// problem its status, headers or envelope show. needed is false for an
// endpoint the exporter does not depend on, whose problems are only
// warnings. The caller adds what the data shows and prints the block.
func (c *checker) call(ctx context.Context, endpoint string, q url.Values, needed bool) *result {
	title := "GET " + endpoint
	if len(q) > 0 {
		title += "?" + q.Encode()
	}
	r := &result{b: &block{title: sanitise(title, 400)}}
	b := r.b
	sev := sevOf(needed)
	scope := kartustok.ScopeFor(endpoint)
	c.lastCalled = endpoint
	c.requests++
	a := c.client.Probe(ctx, endpoint, q)
	if a.Status == 0 {
		text, fix := transportProblem(ctx, a.Err, c.timeout)
		b.add("status", "no answer (after %s)", elapsed(a.Elapsed))
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
	r.status, r.rate = a.Status, rateLine(a.Header)
	b.add("status", "%d %s (%s)", a.Status, http.StatusText(a.Status), elapsed(a.Elapsed))
	c.readRate(b, a.RateLimit)
	ct := a.Header.Get("Content-Type")
	msg, jsonBody := bodyMessage(ct, a.Body)
	switch s := a.Status; {
	case s >= 200 && s <= 299:
	case s >= 300 && s <= 399:
		c.scopeLine(b, scope, s, "")
		c.note(b, sev, fmt.Sprintf("%d: a redirect to %s", s, quote(a.Header.Get("Location"))), fixRedirect)
		c.stop("the API's URL redirects elsewhere")
		return r
	case s == http.StatusUnauthorized:
		c.scopeLine(b, scope, s, "")
		c.note(b, sev, "401 Unauthorized: "+msg, fixUnauthorized)
		c.stop("the token was refused")
		return r
	case s == http.StatusForbidden:
		cause, named := forbiddenCause(msg, a.Err)
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
		retry := a.RateLimit.RetryAfter
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
	c.scopeLine(b, scope, a.Status, "")
	e, _ := errors.AsType[*kartustok.Error](a.Err)
	switch {
	case !kartustok.IsJSON(ct):
		c.note(b, sev, fmt.Sprintf("Content-Type %s instead of JSON, with %s", quote(ct), msg), fixNotAPI)
		if endpoint == kartustok.EndpointHealth {
			c.stop("the URL is not a KartuStok API")
		}
	case a.TooLarge:
		c.note(b, sev, fmt.Sprintf("the answer is larger than the %d bytes the exporter reads", c.maxBody),
			"raise --kartustok.max-body-size")
	case e != nil && (e.Kind == kartustok.KindNetwork || e.Kind == kartustok.KindTimeout):
		c.note(b, sev, "the answer was cut off: "+sanitise(cause(e).Error(), maxMessageBytes), fixServer)
	case a.Err != nil:
		text, fix := envelopeProblem(cause(a.Err))
		c.note(b, sev, text, fix)
	default:
		r.data, r.meta = a.Data, a.Meta
	}
	return r
}

// cause is what an error of the client wraps, when it wraps something.
func cause(err error) error {
	if e, ok := errors.AsType[*kartustok.Error](err); ok && e.Err != nil {
		return e.Err
	}
	return err
}

// envelopeProblem describes a success whose envelope the exporter cannot
// read, and its fix.
func envelopeProblem(err error) (text, fix string) {
	syn, isSyntax := errors.AsType[*json.SyntaxError](err)
	typ, isType := errors.AsType[*json.UnmarshalTypeError](err)
	switch {
	case isSyntax && strings.Contains(syn.Error(), "unexpected end"):
		return "the answer ends early (truncated JSON)", fixServer
	case isSyntax:
		return fmt.Sprintf("the answer is not valid JSON (at byte %d): %s", syn.Offset, sanitise(syn.Error(), maxMessageBytes)), fixServer
	case isType && typ.Field != "":
		return fmt.Sprintf("%s is a JSON %s, which the exporter cannot read — it fails the whole answer", sanitise(typ.Field, maxValueBytes), typ.Value), fixShape
	case errors.Is(err, kartustok.ErrNotSuccess), errors.Is(err, kartustok.ErrNoData):
		return sanitise(err.Error(), maxMessageBytes), fixShape
	}
	return "the exporter cannot read the answer: " + sanitise(err.Error(), maxMessageBytes), fixShape
}

// transportProblem describes a request that got no answer, and its fix.
func transportProblem(caller context.Context, err error, timeout time.Duration) (text, fix string) {
	err = cause(err) // the block's title names the request
	var (
		dnsErr    *net.DNSError
		hostErr   x509.HostnameError
		authErr   x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		verifyErr *tls.CertificateVerificationError
		recordErr tls.RecordHeaderError
		netErr    net.Error
	)
	msg := sanitise(err.Error(), maxMessageBytes)
	switch {
	case caller.Err() != nil:
		return "interrupted before the API answered", ""
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("cannot resolve the host name %s: %s", quote(dnsErr.Name), sanitise(dnsErr.Err, maxMessageBytes)),
			"check the host in --kartustok.url (your company's subdomain, https://<subdomain>.kartustok.com/public/v1) and this machine's DNS"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused: " + msg,
			"nothing listens at that host and port — check --kartustok.url (the API is https on port 443) and any firewall or proxy on the way"
	case errors.As(err, &hostErr):
		return "the server's TLS certificate is not valid for this host: " + msg,
			"check the host in --kartustok.url; a proxy that intercepts TLS must present a certificate for that host"
	case errors.As(err, &invalid):
		return "the server's TLS certificate is invalid: " + msg,
			"check this machine's clock; if it is right, the server's certificate has expired or is not yet valid"
	case errors.As(err, &authErr), errors.As(err, &verifyErr):
		return "the server's TLS certificate is not signed by an authority this machine trusts: " + msg,
			"if a proxy intercepts TLS, add its CA certificate to this machine's trust store (or point SSL_CERT_FILE at it); otherwise check the host in --kartustok.url"
	case errors.As(err, &recordErr), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "the server does not speak TLS on this port: " + msg,
			"use http:// only for a plain-HTTP endpoint, or the port that serves https"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("no answer within %s", timeout),
			"check the network path to the API (firewall; a proxy in HTTPS_PROXY, NO_PROXY), or raise --kartustok.timeout"
	}
	return "no answer: " + msg,
		"check --kartustok.url and the network path to the API (firewall; a proxy in HTTPS_PROXY, NO_PROXY)"
}

// bodyMessage is what an answer's body says, in one cleaned line: the
// message of a JSON error body (either form the API sends), else what
// came instead. jsonBody is set when the body is JSON.
func bodyMessage(contentType string, body []byte) (msg string, jsonBody bool) {
	kind, text := kartustok.DescribeBody(contentType, body)
	switch kind {
	case kartustok.BodyMessage:
		return sanitise(text, maxMessageBytes), true
	case kartustok.BodyJSON:
		return "a JSON body without a message", true
	case kartustok.BodyEmpty:
		return "an empty body", false
	case kartustok.BodyHTML:
		if strings.TrimSpace(text) != "" {
			return "an HTML page " + quote(text), false
		}
		return "an HTML page", false
	}
	return "a body that is not JSON: " + quote(text), false
}

// forbiddenCause tells from a 403 whether the token lacks a scope (naming
// it when the message does) or the client IP is outside the token's
// Allowed IPs, as the exporter's client reads it.
func forbiddenCause(msg string, err error) (cause kartustok.ForbiddenCause, scope string) {
	lower := strings.ToLower(msg)
	for _, s := range allScopes {
		if strings.Contains(lower, s) {
			return kartustok.ForbiddenScope, s
		}
	}
	if e, ok := errors.AsType[*kartustok.Error](err); ok {
		return e.Forbidden, ""
	}
	return kartustok.ForbiddenUnknown, ""
}

// rateLine shows the rate-limit headers of an answer, as sent.
func rateLine(h http.Header) string {
	var parts []string
	for _, name := range kartustok.RateLimitHeaders {
		if v := h.Get(name); v != "" {
			parts = append(parts, name+" "+sanitise(v, 40))
		}
	}
	if len(parts) == 0 {
		return "no X-RateLimit headers"
	}
	return strings.Join(parts, ", ")
}

// printResult prints a step's block, its rate-limit headers last.
func (c *checker) printResult(r *result) {
	if r.rate != "" {
		r.b.add("rate limit", "%s", r.rate)
	}
	c.print(r.b.render() + "\n")
}

// readRate remembers the latest rate limit the client read, and warns
// once when the API allows fewer requests than the exporter is told it
// may send, and once when other clients on the same token and IP had spent
// part of the window before the check's first request.
func (c *checker) readRate(b *block, rl kartustok.RateLimitReading) {
	if rl.Limit > 0 {
		c.limit = rl.Limit
	}
	if rl.Remaining >= 0 {
		c.remaining = rl.Remaining
	}
	configured := c.cfg.RateLimit
	if configured <= 0 {
		configured = 120
	}
	if rl.Limit > 0 && rl.Limit < configured && !c.limitWarned {
		c.limitWarned = true
		c.note(b, warning, fmt.Sprintf("the API allows %d requests per window, fewer than the %d --kartustok.rate-limit assumes: the exporter would be refused requests", rl.Limit, configured),
			"set --kartustok.rate-limit="+strconv.Itoa(rl.Limit))
	}
	if rl.Limit > 0 && rl.Remaining >= 0 && !c.rateSeen {
		c.rateSeen = true
		// The check's own request is counted; two checks run a moment
		// ago may account for more.
		if spent := rl.Limit - rl.Remaining - 1; spent > sharedSlack {
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
