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
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

const (
	// maxErrorBodyBytes is how much of an error body is read for its
	// message.
	maxErrorBodyBytes = 64 << 10
	// maxRedirects is how many same-host redirects a request may follow;
	// each hop waits for budget and is reported like any request.
	maxRedirects = 3
	// backoffBase is the first retry's backoff; it doubles per retry.
	backoffBase = time.Second
	// pauseJitter bounds a random delay added once to each 429 pause, so
	// that clients sharing the token and IP (replicas behind one NAT), which
	// the server paused together, do not all resume at the same instant.
	// The calls of one client resume together; its scheduler spaces them.
	pauseJitter = 500 * time.Millisecond
)

// errRedirect marks a redirect the client refused; sending again would be
// refused again, so it is never retried.
var errRedirect = errors.New("redirect refused")

// errRequestTimeout is why a request is cancelled when one hop of it gets
// no complete answer within the per-request timeout. It wraps
// context.DeadlineExceeded, as the timeout's context error did.
var errRequestTimeout = fmt.Errorf("no complete answer within the request timeout: %w", context.DeadlineExceeded)

// bodyBuffers holds the buffers success bodies are read into. Reading into
// a buffer that has grown before allocates nothing, so the memory the
// clients spend on bodies stays about the requests in flight times the
// body cap, however many large answers come; decoders copy what they keep.
var bodyBuffers = sync.Pool{New: func() any { return new([]byte) }}

// readUpTo reads r into buf until it ends or n bytes have come, growing
// buf by doubling but never beyond n bytes, so that a buffer that read an
// answer at the cap is exactly as large as the cap.
func readUpTo(r io.Reader, n int64, buf []byte) ([]byte, error) {
	b := buf[:0]
	for int64(len(b)) < n {
		if len(b) == cap(b) {
			nb := make([]byte, len(b), min(int64(max(2*cap(b), 32<<10)), n))
			copy(nb, b)
			b = nb
		}
		m, err := r.Read(b[len(b):min(int64(cap(b)), n)])
		b = b[:len(b)+m]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}

// nopObserver is the Observer of a client that was given none.
type nopObserver struct{}

func (nopObserver) ObserveRequest(RequestInfo)      {}
func (nopObserver) ObserveBudgetWait(time.Duration) {}
func (nopObserver) ObserveListing(ListReport)       {}

// DefaultTransport is the client's transport: it bounds every phase of a
// connection, so that a half-open connection or a stalled TLS handshake
// cannot hold a request beyond its timeout even if a context were lost.
func DefaultTransport(timeout time.Duration) *http.Transport {
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

// hop is the state of one attempt that redirects share: the request in
// flight and what its report needs. It travels in the request's context,
// which Go gives every hop of a redirect.
type hop struct {
	endpoint string
	attempt  int
	class    Class
	yields   bool
	// tk is the scheduler's ticket of the hop in flight, open until its
	// answer (hdr, nil without one) has been reported to the scheduler.
	tk   ticket
	open bool
	hdr  http.Header
	// caller is the caller's context, without the per-request timeout:
	// budget waits between hops honour it alone.
	caller context.Context
	// deadline cancels the request when one hop takes longer than the
	// per-request timeout; it is stopped while a redirect waits for budget
	// and restarted for the next hop, so that waiting does not eat into
	// the time the next hop has.
	deadline *time.Timer
	timeout  time.Duration
	// start is when the current hop was sent; pending is true while it
	// has not been reported.
	start   time.Time
	pending bool
}

type hopKey struct{}

// checkRedirect follows a redirect only to the same scheme and host: the
// request carries the token in its Authorization header, which must never
// reach another host. Every hop is a request the server counts, so it
// reports the hop that answered with the redirect, then waits for budget
// like any request before the next hop goes out.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
		return fmt.Errorf("%w: to another host or scheme (%s://%s)", errRedirect, req.URL.Scheme, req.URL.Host)
	}
	// via holds the requests sent so far: this is redirect len(via).
	if len(via) > maxRedirects {
		return fmt.Errorf("%w: more than %d redirects", errRedirect, maxRedirects)
	}
	h, ok := req.Context().Value(hopKey{}).(*hop)
	if !ok {
		return fmt.Errorf("%w: a request made outside the client", errRedirect)
	}
	if resp := req.Response; resp != nil {
		c.obs.ObserveRequest(RequestInfo{
			Endpoint: h.endpoint, Status: resp.StatusCode,
			Duration: time.Since(h.start), Attempt: h.attempt,
			Implausible: readRateLimit(resp.Header, time.Now(), c.maxPause()).implausible,
		})
		h.pending = false
		h.hdr = resp.Header
	}
	c.closeHop(h)
	if !h.deadline.Stop() {
		// The hop that redirected used up the time a request has.
		return context.Cause(req.Context())
	}
	tk, waited, err := c.sched.Wait(h.caller, h.class, h.yields)
	if waited > 0 {
		c.obs.ObserveBudgetWait(waited)
	}
	if err != nil {
		return err
	}
	h.tk, h.open, h.hdr = tk, true, nil
	h.deadline.Reset(h.timeout)
	h.start, h.pending = time.Now(), true
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
		err := c.attempt(ctx, endpoint, target, attempt, decode, nil)
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

// attempt sends one request, after waiting for budget. A probe's answer
// is kept in rec; a call's rec is nil.
func (c *Client) attempt(ctx context.Context, endpoint, target string, attempt int, decode func([]byte) error, rec *Answer) error {
	// The token is read before budget is spent, so that a missing token
	// file costs no request, and again once budget is granted, so that a
	// token rotated during a long wait (up to a 429 pause) is not sent
	// stale.
	if _, err := c.token.Token(); err != nil {
		return tokenError{err}
	}
	h := &hop{endpoint: endpoint, attempt: attempt}
	h.class, h.yields = classFor(ctx, endpoint)
	tk, waited, err := c.sched.Wait(ctx, h.class, h.yields)
	if waited > 0 {
		c.obs.ObserveBudgetWait(waited)
	}
	if err != nil {
		return &Error{Kind: KindTimeout, Endpoint: endpoint, Message: "gave up waiting for request budget", Err: err}
	}
	h.tk, h.open = tk, true
	defer c.closeHop(h)
	token, err := c.token.Token()
	if err != nil {
		return tokenError{err}
	}

	rctx, cancel := context.WithCancelCause(context.WithValue(ctx, hopKey{}, h))
	defer cancel(nil)
	h.caller, h.timeout = ctx, c.timeout
	h.deadline = time.AfterFunc(c.timeout, func() { cancel(errRequestTimeout) })
	defer h.deadline.Stop()
	// transportErr classifies a failure to get or read an answer; one that
	// the per-request timeout caused is a timeout whatever the transport
	// made of the cancellation.
	transportErr := func(err error) *Error {
		e := transportError(endpoint, err)
		if ctx.Err() == nil && errors.Is(context.Cause(rctx), errRequestTimeout) {
			e.Kind, e.Err = KindTimeout, errRequestTimeout
		}
		return e
	}
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, target, nil)
	if err != nil {
		return &Error{Kind: KindInvalidResponse, Endpoint: endpoint, Message: "cannot build request", Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)

	h.start, h.pending = time.Now(), true
	info := RequestInfo{Endpoint: endpoint, Attempt: attempt}
	report := func(e *Error) error {
		info.Duration = time.Since(h.start)
		if e != nil {
			if cerr := ctx.Err(); cerr != nil && (e.Kind == KindNetwork || e.Kind == KindTimeout) {
				// The caller gave up, not the API: a deadline is a
				// timeout, a cancellation no failure of the API at all.
				e = &Error{Kind: KindTimeout, Endpoint: endpoint, Status: e.Status, Message: "the caller gave up", Err: cerr}
				info.Canceled = errors.Is(cerr, context.Canceled)
			}
			if !info.Canceled {
				info.Kind = e.Kind
			}
			e.Message = redact(e.Message, token)
			if e.Err != nil {
				if msg := e.Err.Error(); redact(msg, token) != msg {
					e.Err = redactedError{msg: redact(msg, token), err: e.Err}
				}
			}
		}
		// A redirect whose budget wait failed sent nothing more: its last
		// hop was reported already.
		if h.pending {
			c.obs.ObserveRequest(info)
		}
		if e == nil {
			return nil
		}
		return e
	}

	resp, err := c.http.Do(req)
	rec.answered(resp)
	if err != nil {
		e := transportErr(err)
		if resp != nil {
			// A refused redirect: the hop that asked for it answered.
			e.Status, info.Status = resp.StatusCode, resp.StatusCode
		}
		return report(e)
	}
	defer resp.Body.Close()
	info.Status = resp.StatusCode
	h.hdr = resp.Header
	rl := readRateLimit(resp.Header, time.Now(), c.maxPause())
	info.Implausible = rl.implausible

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// The status says what happened (and a 429 must pause the client)
		// even if the body cannot be read; the body only adds a message,
		// from which the token is removed before it is cut.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
		info.Bytes = int64(len(body))
		body = redactBytes(body, token)
		rec.keep(body)
		return report(c.statusError(endpoint, resp, body, rl))
	}

	ct := resp.Header.Get("Content-Type")
	if !IsJSON(ct) {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
		info.Bytes = int64(len(body))
		body = redactBytes(body, token)
		rec.keep(body)
		msg := fmt.Sprintf("content type %q instead of JSON", cleanMessage(redact(ct, token)))
		if m := errorMessage(ct, body); m != "" {
			msg += ": " + m
		}
		return report(&Error{Kind: KindInvalidResponse, Endpoint: endpoint, Status: resp.StatusCode, Message: msg})
	}
	if resp.ContentLength > c.maxBody {
		rec.tooLarge()
		return report(c.oversize(endpoint, resp.StatusCode))
	}
	buf := bodyBuffers.Get().(*[]byte)
	defer bodyBuffers.Put(buf)
	*buf, err = readUpTo(resp.Body, c.maxBody+1, *buf)
	body := *buf
	info.Bytes = int64(len(body))
	if err != nil {
		e := transportErr(err)
		e.Status = resp.StatusCode
		return report(e)
	}
	if int64(len(body)) > c.maxBody {
		rec.tooLarge()
		return report(c.oversize(endpoint, resp.StatusCode))
	}
	if err := decode(body); err != nil {
		return report(&Error{Kind: KindInvalidResponse, Endpoint: endpoint, Status: resp.StatusCode, Err: err})
	}
	return report(nil)
}

// closeHop reports the answer of the hop in flight to the scheduler, once.
func (c *Client) closeHop(h *hop) {
	if h.open {
		h.open = false
		c.sched.done(h.tk, h.hdr)
	}
}

func (c *Client) oversize(endpoint string, status int) *Error {
	return &Error{
		Kind: KindInvalidResponse, Endpoint: endpoint, Status: status,
		Message: fmt.Sprintf("body larger than the %d-byte limit", c.maxBody),
	}
}

// statusError classifies a non-2xx answer. A 429 also pauses the client.
func (c *Client) statusError(endpoint string, resp *http.Response, body []byte, rl rateLimitReading) *Error {
	e := &Error{Endpoint: endpoint, Status: resp.StatusCode, Message: errorMessage(resp.Header.Get("Content-Type"), body)}
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized:
		e.Kind = KindUnauthorized
	case s == http.StatusForbidden:
		e.Kind = KindForbidden
		e.Forbidden = ForbiddenCauseOf(e.Message)
	case s == http.StatusNotFound:
		e.Kind = KindNotFound
	case s == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
		e.RetryAfter = c.retryAfter(rl)
		c.sched.PauseUntil(time.Now().Add(e.RetryAfter + rand.N(pauseJitter)))
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

// retryAfter is how long a 429 pauses the client: what its Retry-After or
// X-RateLimit-Reset says, at most PauseWindows windows, else one window.
func (c *Client) retryAfter(rl rateLimitReading) time.Duration {
	if rl.retrySet {
		return rl.retry
	}
	return c.window
}

// maxPause is the longest pause a 429 may ask for.
func (c *Client) maxPause() time.Duration { return PauseWindows * c.window }

// transportError classifies a failure to get an answer (or all of its
// body): a timeout, a refused redirect or another network failure.
func transportError(endpoint string, err error) *Error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
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

// MinTokenFragment is the shortest run of the token's bytes that Redact
// removes wherever it appears: a cut message may end in part of a token.
// The prefix KartuStok shows in its token list is shorter.
const MinTokenFragment = 8

// Redact removes the token from s, and any run of at least
// MinTokenFragment bytes of it, for text that shows what a server sent.
func Redact(s, token string) string { return redact(s, token) }

// redact removes the token from a message, in case a server echoes it, and
// any run of at least MinTokenFragment bytes of it, so that no part of a
// token that a cut left behind survives either.
func redact(s, token string) string {
	if token == "" || s == "" {
		return s
	}
	s = strings.ReplaceAll(s, token, "[redacted]")
	if len(token) < MinTokenFragment {
		return s
	}
	var b strings.Builder
	found := false
	for i := 0; i < len(s); {
		if n := fragmentAt(s[i:], token); n >= MinTokenFragment {
			if !found {
				b.WriteString(s[:i])
				found = true
			}
			b.WriteString("[redacted]")
			i += n
			continue
		}
		if found {
			b.WriteByte(s[i])
		}
		i++
	}
	if !found {
		return s
	}
	return b.String()
}

// fragmentAt returns the length of the longest prefix of s that is a
// substring of token. Messages are short once cut, so the quadratic
// search costs nothing.
func fragmentAt(s, token string) int {
	best := 0
	for j := 0; j < len(token) && len(token)-j > best; j++ {
		n := 0
		for n < len(s) && j+n < len(token) && s[n] == token[j+n] {
			n++
		}
		best = max(best, n)
	}
	return best
}

// redactBytes returns body without the token, before any message is made
// of it.
func redactBytes(body []byte, token string) []byte {
	if token == "" || !bytes.Contains(body, []byte(token)) {
		return body
	}
	return bytes.ReplaceAll(body, []byte(token), []byte("[redacted]"))
}

// redactedError shows an error's message without the token, keeping the
// error chain for errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (r redactedError) Error() string { return r.msg }
func (r redactedError) Unwrap() error { return r.err }
