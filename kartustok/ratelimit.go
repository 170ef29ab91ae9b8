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
	"net/http"
	"strconv"
	"strings"
	"time"
)

// PauseWindows bounds a 429 pause, in rate-limit windows. A fixed-window
// throttle lets a client in again at the end of the window it counted the
// refused request in, so no honest Retry-After or X-RateLimit-Reset is
// longer than one window; two leave room for clock skew and for a window
// that started late. A longer one is a broken or lying server: it is cut
// to this, counted (RequestInfo.Implausible), and the health checks probe
// the API again once it has passed.
const PauseWindows = 2

// RateLimitHeaders are the headers the client reads the server's rate limit
// from, as RequestInfo.Implausible names them, in the order a report shows
// them: the limit, what is left of it, when the window ends, and how long
// a 429 asks to wait.
var RateLimitHeaders = []string{headerRateLimitLimit, headerRateLimitRemaining, headerRateLimitReset, headerRetryAfter}

// rateLimitReading is what one answer's rate-limit headers say, each header
// judged on its own: a value that cannot be true is cut (a pause) or
// ignored (a count), and named in implausible.
type rateLimitReading struct {
	// limit and remaining are X-RateLimit-Limit and -Remaining, when
	// present and plausible: a limit of at least 1, a remaining count
	// from 0 to the limit.
	limit, remaining       int
	hasLimit, hasRemaining bool
	// retry is how long a 429 asks the client to wait, from Retry-After,
	// else X-RateLimit-Reset, at most maxPause; retrySet is false when
	// neither says it.
	retry    time.Duration
	retrySet bool
	// reset is X-RateLimit-Reset as a time when present and no later
	// than maxPause from now.
	reset time.Time
	// implausible names the headers whose values were cut or ignored.
	implausible []string
}

// readRateLimit reads the rate-limit headers of an answer that arrived at
// now. A pause longer than maxPause is cut to it.
func readRateLimit(h http.Header, now time.Time, maxPause time.Duration) rateLimitReading {
	var r rateLimitReading
	bad := func(header string) { r.implausible = append(r.implausible, header) }

	if v, ok := headerValue(h, headerRateLimitLimit); ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 1 {
			r.limit, r.hasLimit = n, true
		} else {
			bad(headerRateLimitLimit)
		}
	}
	if v, ok := headerValue(h, headerRateLimitRemaining); ok {
		// A count above the limit it is a count of is no count at all:
		// believing it would report, and spend, requests that are not
		// there.
		if n, err := strconv.Atoi(v); err == nil && n >= 0 && (!r.hasLimit || n <= r.limit) {
			r.remaining, r.hasRemaining = n, true
		} else {
			bad(headerRateLimitRemaining)
		}
	}
	if v, ok := headerValue(h, headerRetryAfter); ok {
		var d time.Duration
		valid := true
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			d = time.Duration(min(n, int64(maxPause/time.Second)+1)) * time.Second
		} else if t, err := http.ParseTime(v); err == nil {
			d = max(t.Sub(now), 0)
		} else {
			valid = false
		}
		switch {
		case !valid:
			bad(headerRetryAfter)
		case d > maxPause:
			bad(headerRetryAfter)
			r.retry, r.retrySet = maxPause, true
		default:
			r.retry, r.retrySet = d, true
		}
	}
	if v, ok := headerValue(h, headerRateLimitReset); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil || n <= 0 || n >= 1<<40:
			bad(headerRateLimitReset)
		case time.Unix(n, 0).Sub(now) > maxPause:
			bad(headerRateLimitReset)
			if !r.retrySet {
				r.retry, r.retrySet = maxPause, true
			}
		default:
			r.reset = time.Unix(n, 0)
			if !r.retrySet {
				r.retry, r.retrySet = max(r.reset.Sub(now), 0), true
			}
		}
	}
	return r
}

// headerValue returns a header's value without surrounding white space, and
// whether it is there at all.
func headerValue(h http.Header, name string) (string, bool) {
	v := strings.TrimSpace(h.Get(name))
	return v, v != ""
}
