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
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
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

// fix429 is the fix of a 429.
func fix429(limit string, retry time.Duration) string {
	if limit == "" {
		limit = "120"
	}
	again := "in a minute"
	if retry > 0 {
		again = "in " + retry.String()
	}
	return fmt.Sprintf("the token's %s requests per 60 s (counted per token and client IP) are spent, by a running exporter "+
		"or another integration on the same token and IP — run the check again %s, and give the exporter a token of its own", limit, again)
}

// answer is what one request got.
type answer struct {
	status  int
	header  http.Header
	body    []byte
	elapsed time.Duration
	err     error // no answer
	// tooLarge is set when the body exceeded the size the exporter reads.
	tooLarge bool
}

// send sends GET target with the token.
func (c *checker) send(ctx context.Context, target string) answer {
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, target, nil)
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	start := time.Now()
	c.requests++
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{err: err, elapsed: time.Since(start)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	a := answer{status: resp.StatusCode, header: resp.Header, body: body, elapsed: time.Since(start)}
	if int64(len(body)) > c.maxBody {
		a.body, a.tooLarge = body[:c.maxBody], true
	} else if err != nil {
		a.err = err
	}
	return a
}

// sameHostOnly follows a redirect as the exporter does: only to the same
// scheme and host (the request carries the token), at most three times.
// Any other redirect is answered as it came, so that it can be reported.
func sameHostOnly(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) || len(via) > 3 {
		return http.ErrUseLastResponse
	}
	return nil
}

// transportProblem describes a request that got no answer, and its fix.
func transportProblem(caller context.Context, err error, timeout time.Duration) (text, fix string) {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err // the URL is in the block's title
	}
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

var htmlTitle = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// bodyMessage is what an answer's body says, in one cleaned line: the
// message of a JSON error body (either form the API sends), else what
// came instead. jsonBody is set when the body is a JSON object.
func bodyMessage(contentType string, body []byte) (msg string, jsonBody bool) {
	var eb struct {
		Message any `json:"message"`
	}
	if json.Unmarshal(body, &eb) == nil {
		if s, ok := eb.Message.(string); ok && s != "" {
			return sanitise(s, maxMessageBytes), true
		}
		if bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
			return "a JSON body without a message", true
		}
	}
	return describeBody(contentType, body), false
}

// describeBody says what a body that is not JSON is.
func describeBody(contentType string, body []byte) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	trimmed := strings.TrimSpace(string(body))
	switch {
	case trimmed == "":
		return "an empty body"
	case mt == "text/html" || strings.HasPrefix(trimmed, "<"):
		if m := htmlTitle.FindStringSubmatch(trimmed); m != nil && strings.TrimSpace(m[1]) != "" {
			return "an HTML page " + quote(m[1])
		}
		return "an HTML page"
	}
	return "a body that is not JSON: " + quote(trimmed)
}

// forbiddenCause tells from a 403 message whether the token lacks a scope
// (naming it when the message does) or the client IP is outside the
// token's Allowed IPs, as the exporter's client reads it, naming the scope
// when the message does.
func forbiddenCause(msg string) (cause kartustok.ForbiddenCause, scope string) {
	lower := strings.ToLower(msg)
	for _, s := range allScopes {
		if strings.Contains(lower, s) {
			return kartustok.ForbiddenScope, s
		}
	}
	return kartustok.ForbiddenCauseOf(msg), ""
}

// rateHeaders are the rate-limit headers, in the order they are shown.
var rateHeaders = []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"}

// rateLine shows the rate-limit headers of an answer.
func rateLine(h http.Header) string {
	var parts []string
	for _, name := range rateHeaders {
		if v := h.Get(name); v != "" {
			parts = append(parts, name+" "+sanitise(v, 40))
		}
	}
	if len(parts) == 0 {
		return "no X-RateLimit headers"
	}
	return strings.Join(parts, ", ")
}

// retryAfter reads a 429's Retry-After (seconds or an HTTP date), else its
// X-RateLimit-Reset (Unix time); 0 when neither is readable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 && n < 1<<31 {
			return time.Duration(n) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0).Round(time.Second)
		}
	}
	if v := strings.TrimSpace(h.Get("X-RateLimit-Reset")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 && n < 1<<40 {
			return max(time.Unix(n, 0).Sub(now), 0).Round(time.Second)
		}
	}
	return 0
}

// headerInt reads an integer header; ok is false when it is absent or no
// integer.
func headerInt(h http.Header, name string) (n int, ok bool) {
	n, err := strconv.Atoi(strings.TrimSpace(h.Get(name)))
	return n, err == nil
}
