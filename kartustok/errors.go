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
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrorKind is the class of a failed call. Its values are the `reason`
// label values of kartustok_api_errors_total.
type ErrorKind string

// The classes of failure.
const (
	KindUnauthorized    ErrorKind = "unauthorized"     // 401
	KindForbidden       ErrorKind = "forbidden"        // 403: scope or IP allowlist
	KindNotFound        ErrorKind = "not_found"        // 404: wrong host ("Invalid URL"), unknown ID
	KindRateLimited     ErrorKind = "rate_limited"     // 429
	KindServerError     ErrorKind = "server_error"     // 5xx
	KindTimeout         ErrorKind = "timeout"          // no answer within the timeout; the caller gave up
	KindNetwork         ErrorKind = "network"          // connection refused, DNS, reset, refused redirect
	KindInvalidResponse ErrorKind = "invalid_response" // bad JSON, wrong content type, HTML, oversized body, other 4xx
	// KindInconsistentPages is a listing whose pages still disagreed (page
	// numbers, meta.total, repeated or missing rows) after it was read
	// again from page 1 MaxRereads times.
	KindInconsistentPages ErrorKind = "inconsistent_pages"
	// KindInvalidRow is never the Kind of an Error: it is the reason under
	// which skipped rows (see InvalidRow) are counted.
	KindInvalidRow ErrorKind = "invalid_row"
)

// ForbiddenCause says what a 403 message points at, when it says.
type ForbiddenCause string

// The causes of a 403.
const (
	ForbiddenUnknown ForbiddenCause = ""
	ForbiddenScope   ForbiddenCause = "scope"
	ForbiddenIP      ForbiddenCause = "ip_allowlist"
)

// Error is the one error type of this package; inspect it with errors.As.
// It never holds the token.
type Error struct {
	Kind     ErrorKind
	Endpoint string // path template
	Status   int    // HTTP status, 0 when no response
	// Message is the server's message (from either error body form),
	// trimmed and cut to a readable length.
	Message string
	// RetryAfter is the server's Retry-After (or X-RateLimit-Reset) on 429.
	RetryAfter time.Duration
	// Forbidden is what a 403 message points at, when it does.
	Forbidden ForbiddenCause
	// Err is the underlying error, if any.
	Err error
}

// Error reads as one line an operator can act on, for example
//
//	kartustok: GET /stock/summary: 403 forbidden (missing scope): Token does not have the required scope: stock.read
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("kartustok: GET ")
	b.WriteString(e.Endpoint)
	b.WriteString(": ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "%d ", e.Status)
	}
	b.WriteString(strings.ReplaceAll(string(e.Kind), "_", " "))
	switch e.Forbidden {
	case ForbiddenScope:
		b.WriteString(" (missing scope)")
	case ForbiddenIP:
		b.WriteString(" (client IP not in the token's allowed IPs)")
	}
	if e.Kind == KindRateLimited && e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the class of err, or "" when err is not (or does not wrap)
// an *Error. Failures found before any request is sent are plain errors,
// KindOf "": a token source that cannot yield a token, a StockDetail call
// without a locator, an empty item ID. They cost no budget and are not
// reported to the Observer.
func KindOf(err error) ErrorKind {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Kind
	}
	return ""
}

// retryable reports whether a failure of this kind may pass by itself, so
// that sending the request again is worth its budget.
func (k ErrorKind) retryable() bool {
	switch k {
	case KindServerError, KindTimeout, KindNetwork:
		return true
	}
	return false
}
