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
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Answer is what one request of Probe got, as it came.
type Answer struct {
	// Status is the HTTP status, 0 when no answer came. A redirect the
	// client refused to follow (to another host or scheme, or one too
	// many) is the answer: its 3xx status and headers, with Err set.
	Status int
	// Header holds the answer's headers, nil when no answer came.
	Header http.Header
	// Body is the body as the client read it, without the token, in a
	// copy the caller owns: a success of at most the client's maximum
	// body size, any other answer's first 64 KiB. It is nil when the body
	// was larger than the maximum (TooLarge) or could not be read whole.
	Body []byte
	// TooLarge is set when a success body was larger than the client's
	// maximum body size (WithMaxBodyBytes).
	TooLarge bool
	// Elapsed is how long the probe took, until the end of the body.
	Elapsed time.Duration
	// RateLimit is what the answer's rate-limit headers say.
	RateLimit RateLimitReading
	// Data and Meta are the success envelope's "data" and "meta" when the
	// client reads the envelope (Err is nil); Meta is nil when the answer
	// has none.
	Data json.RawMessage
	Meta *PageMeta
	// Err is nil when the answer is a success whose envelope the client
	// reads. Else it is the *Error a call would have failed with (KindOf
	// tells its class), or, when nothing was sent, the token source's
	// error (errors.Is(err, ErrNoToken)).
	Err error
}

// RateLimitReading is what one answer's rate-limit headers say, as the
// client reads them: a value that cannot be true is left out and named in
// Implausible.
type RateLimitReading struct {
	// Limit is X-RateLimit-Limit, 0 when the answer has none.
	Limit int
	// Remaining is X-RateLimit-Remaining, -1 when the answer has none.
	Remaining int
	// RetryAfter is how long a 429 asks to wait (Retry-After, else
	// X-RateLimit-Reset), at most PauseWindows windows; 0 when neither
	// says.
	RetryAfter time.Duration
	// Implausible names the headers whose values were cut or left out.
	Implausible []string
}

// Probe sends one GET of endpoint with query q, as every request of the
// client is sent: within its budget, through its transport, redirect
// policy and timeout, with its token, reported to its Observer, and
// classified as a call's answer is. Unlike a call it is never retried, and
// it returns the answer as it came, with the envelope's data unread, for a
// connectivity check to report on. endpoint is a path template without a
// parameter: any Endpoint constant but EndpointItem.
func (c *Client) Probe(ctx context.Context, endpoint string, q url.Values) Answer {
	a := Answer{RateLimit: RateLimitReading{Remaining: -1}}
	list, ok := probed[endpoint]
	if !ok {
		a.Err = fmt.Errorf("kartustok: GET %s: not an endpoint Probe can call", endpoint)
		return a
	}
	target := c.base + endpoint
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	start := time.Now()
	a.Err = c.attempt(ctx, endpoint, target, 1, a.decoder(list), &a)
	a.Elapsed = time.Since(start)
	if a.Header != nil {
		rl := readRateLimit(a.Header, time.Now(), c.maxPause())
		a.RateLimit.Implausible = rl.implausible
		if rl.hasLimit {
			a.RateLimit.Limit = rl.limit
		}
		if rl.hasRemaining {
			a.RateLimit.Remaining = rl.remaining
		}
		if rl.retrySet {
			a.RateLimit.RetryAfter = rl.retry
		}
	}
	return a
}

// probed holds the endpoints Probe calls, and whether each answers a list.
var probed = map[string]bool{
	EndpointHealth: false, EndpointCompany: false,
	EndpointItemCategories: true, EndpointLocators: true, EndpointItems: true,
	EndpointStockSummary: true, EndpointStockDetail: true,
}

// decoder reads a success body as a call reads its envelope: broken JSON,
// a key repeated where no row could be skipped for it (anywhere in an
// object answer, outside the rows of a list), a status other than success
// and a missing "data" fail the answer.
func (a *Answer) decoder(list bool) func([]byte) error {
	return func(body []byte) error {
		a.Body = bytes.Clone(body) // body is the client's buffer
		env, err := decodeEnvelope[json.RawMessage](a.Body)
		if err != nil && isSyntaxError(err, a.Body) {
			return err
		}
		var rerr error
		if list {
			_, rerr = pageRepeats(a.Body)
		} else {
			rerr = answerRepeats(a.Body)
		}
		if rerr != nil {
			return rerr
		}
		if err != nil {
			return err
		}
		a.Data, a.Meta = *env.Data, env.Meta
		return nil
	}
}

// answered keeps the status and headers of a probe's answer; resp is nil
// when none came. A call's Answer, nil, keeps nothing.
func (a *Answer) answered(resp *http.Response) {
	if a != nil && resp != nil {
		a.Status, a.Header = resp.StatusCode, resp.Header
	}
}

// keep keeps the body of a probe's answer that is no success.
func (a *Answer) keep(body []byte) {
	if a != nil {
		a.Body = body
	}
}

// tooLarge marks a probe's answer whose body exceeded the maximum.
func (a *Answer) tooLarge() {
	if a != nil {
		a.TooLarge = true
	}
}
