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

package kartustok

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	// maxErrorBodyBytes is how much of an error body is read for its
	// message.
	maxErrorBodyBytes = 64 << 10
	// maxRedirects is how many same-host redirects a request may follow.
	maxRedirects = 3
	// backoffBase is the first retry's backoff; it doubles per retry.
	backoffBase = time.Second
	// maxPause bounds a 429 pause, so that an absurd Retry-After cannot
	// stop the client for days.
	maxPause = time.Hour
	// defaultPause is the pause after a 429 that says nothing of when to
	// come back: a whole window of the server's limit.
	defaultPause = 60 * time.Second
	// pauseJitter spreads the calls that resume after a 429 pause.
	pauseJitter = 500 * time.Millisecond
)

// errRedirect marks a redirect the client refused; sending again would be
// refused again, so it is never retried.
var errRedirect = errors.New("redirect refused")

// nopObserver is the Observer of a client that was given none.
type nopObserver struct{}

func (nopObserver) ObserveRequest(RequestInfo)      {}
func (nopObserver) ObserveBudgetWait(time.Duration) {}

// defaultTransport bounds every phase of a connection, so that a
// half-open connection or a stalled TLS handshake cannot hold a request
// beyond its timeout even if a context were lost.
func defaultTransport(timeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          4,
		MaxIdleConnsPerHost:   4,
	}
}

// checkRedirect follows a redirect only to the same scheme and host: the
// request carries the token in its Authorization header, which must never
// reach another host.
func checkRedirect(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
		return fmt.Errorf("%w: to another host or scheme (%s://%s)", errRedirect, req.URL.Scheme, req.URL.Host)
	}
	if len(via) >= maxRedirects {
		return fmt.Errorf("%w: more than %d redirects", errRedirect, maxRedirects)
	}
	return nil
}

// get sends GET path?q within the budget, retrying what may pass by itself,
// and hands a success body to decode. endpoint is the path template that
// errors and the observer report.
func (c *Client) get(ctx context.Context, endpoint, path string, q url.Values, decode func([]byte) error) error {
	target := c.base + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	for attempt := 1; ; attempt++ {
		err := c.attempt(ctx, endpoint, target, attempt, decode)
		var e *Error
		if err == nil || !errors.As(err, &e) || !e.Kind.retryable() || errors.Is(err, errRedirect) ||
			attempt > c.maxRetries || ctx.Err() != nil {
			return err
		}
		if sleep(ctx, backoff(attempt)) != nil {
			// The caller gave up; what failed is still the news.
			return err
		}
	}
}

// backoff is the wait before retry n (1, 2, ...): exponential, with jitter
// so that clients that failed together do not retry together.
func backoff(n int) time.Duration {
	d := backoffBase << min(n-1, 5)
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// attempt sends one request, after waiting for budget.
func (c *Client) attempt(ctx context.Context, endpoint, target string, attempt int, decode func([]byte) error) error {
	// The token is read before budget is spent: a missing token file
	// costs no request.
	token, err := c.token.Token()
	if err != nil {
		return err
	}
	waited, err := c.lim.Wait(ctx)
	if waited > 0 {
		c.obs.ObserveBudgetWait(waited)
	}
	if err != nil {
		return &Error{Kind: KindTimeout, Endpoint: endpoint, Message: "gave up waiting for request budget", Err: err}
	}

	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, target, nil)
	if err != nil {
		return &Error{Kind: KindInvalidResponse, Endpoint: endpoint, Message: "cannot build request", Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)

	start := time.Now()
	info := RequestInfo{Endpoint: endpoint, Attempt: attempt}
	report := func(e *Error) error {
		info.Duration = time.Since(start)
		if e != nil {
			info.Kind = e.Kind
			e.Message = redact(e.Message, token)
			if e.Err != nil && strings.Contains(e.Err.Error(), token) {
				e.Err = redactedError{msg: redact(e.Err.Error(), token), err: e.Err}
			}
		}
		c.obs.ObserveRequest(info)
		if e == nil {
			return nil
		}
		return e
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return report(transportError(endpoint, err))
	}
	defer resp.Body.Close()
	info.Status = resp.StatusCode
	c.noteRateLimit(resp.Header)

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// The status says what happened (and a 429 must pause the client)
		// even if the body cannot be read; the body only adds a message.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
		info.Bytes = int64(len(body))
		return report(c.statusError(endpoint, resp, body))
	}

	ct := resp.Header.Get("Content-Type")
	if !isJSON(ct) {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
		info.Bytes = int64(len(body))
		msg := fmt.Sprintf("content type %q instead of JSON", cleanMessage(ct))
		if m := errorMessage(ct, body); m != "" {
			msg += ": " + m
		}
		return report(&Error{Kind: KindInvalidResponse, Endpoint: endpoint, Status: resp.StatusCode, Message: msg})
	}
	if resp.ContentLength > c.maxBody {
		return report(c.oversize(endpoint, resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	info.Bytes = int64(len(body))
	if err != nil {
		e := transportError(endpoint, err)
		e.Status = resp.StatusCode
		return report(e)
	}
	if int64(len(body)) > c.maxBody {
		return report(c.oversize(endpoint, resp.StatusCode))
	}
	if err := decode(body); err != nil {
		return report(&Error{Kind: KindInvalidResponse, Endpoint: endpoint, Status: resp.StatusCode, Err: err})
	}
	return report(nil)
}

func (c *Client) oversize(endpoint string, status int) *Error {
	return &Error{Kind: KindInvalidResponse, Endpoint: endpoint, Status: status,
		Message: fmt.Sprintf("body larger than the %d-byte limit", c.maxBody)}
}

// statusError classifies a non-2xx answer. A 429 also pauses the client.
func (c *Client) statusError(endpoint string, resp *http.Response, body []byte) *Error {
	e := &Error{Endpoint: endpoint, Status: resp.StatusCode, Message: errorMessage(resp.Header.Get("Content-Type"), body)}
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized:
		e.Kind = KindUnauthorized
	case s == http.StatusForbidden:
		e.Kind = KindForbidden
		e.Forbidden = forbiddenCause(e.Message)
	case s == http.StatusNotFound:
		e.Kind = KindNotFound
	case s == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
		e.RetryAfter = retryAfter(resp.Header, time.Now())
		c.lim.PauseUntil(time.Now().Add(e.RetryAfter + rand.N(pauseJitter)))
	case s >= 500:
		e.Kind = KindServerError
	default:
		// Any other status (422 and the like) means this client asked
		// something the server does not accept: a bug, not a passing
		// condition.
		e.Kind = KindInvalidResponse
	}
	return e
}

// retryAfter reads when a 429 allows the next request: Retry-After in
// seconds (or as an HTTP date), else X-RateLimit-Reset as a Unix time,
// else a whole default window.
func retryAfter(h http.Header, now time.Time) time.Duration {
	d, ok := time.Duration(0), false
	if v := strings.TrimSpace(h.Get(headerRetryAfter)); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			d, ok = time.Duration(min(n, int64(maxPause/time.Second)))*time.Second, true
		} else if t, err := http.ParseTime(v); err == nil {
			d, ok = max(t.Sub(now), 0), true
		}
	}
	if v := strings.TrimSpace(h.Get(headerRateLimitReset)); !ok && v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 && n < 1<<40 {
			d, ok = max(time.Unix(n, 0).Sub(now), 0), true
		}
	}
	if !ok {
		d = defaultPause
	}
	return min(d, maxPause)
}

// noteRateLimit keeps the server's X-RateLimit-Limit/-Remaining.
func (c *Client) noteRateLimit(h http.Header) {
	limit, err1 := strconv.Atoi(strings.TrimSpace(h.Get(headerRateLimitLimit)))
	remaining, err2 := strconv.Atoi(strings.TrimSpace(h.Get(headerRateLimitRemaining)))
	if err1 != nil || err2 != nil {
		return
	}
	c.mu.Lock()
	c.rl = RateLimitStatus{Known: true, Limit: limit, Remaining: remaining, At: time.Now()}
	c.mu.Unlock()
}

// transportError classifies a failure to get an answer (or all of its
// body): a timeout, a refused redirect or another network failure.
func transportError(endpoint string, err error) *Error {
	var ue *url.Error
	if errors.As(err, &ue) {
		// The endpoint names the request; keep the cause readable.
		err = ue.Err
	}
	kind := KindNetwork
	var ne net.Error
	if !errors.Is(err, errRedirect) && (errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()) {
		kind = KindTimeout
	}
	return &Error{Kind: kind, Endpoint: endpoint, Err: err}
}

// redact removes the token from a message, in case a server echoes it.
func redact(s, token string) string {
	if token == "" || !strings.Contains(s, token) {
		return s
	}
	return strings.ReplaceAll(s, token, "[redacted]")
}

// redactedError shows an error's message without the token, keeping the
// error chain for errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (r redactedError) Error() string { return r.msg }
func (r redactedError) Unwrap() error { return r.err }
