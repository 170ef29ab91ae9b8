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

package kartustoktest

import (
	"slices"
	"strconv"
	"time"
)

// throttleWindow is one fixed window of Laravel's throttle: it starts at
// the first request counted in it and lasts the configured window.
type throttleWindow struct {
	start time.Time
	count int
}

// rateLimit is the throttle's verdict on one request.
type rateLimit struct {
	ok         bool
	off        bool
	limit      int
	remaining  int
	retryAfter int   // whole seconds until the window ends, on a 429
	reset      int64 // Unix time the window ends, on a 429
}

// headers are the X-RateLimit-* (and on a 429 Retry-After) headers Laravel's
// throttle middleware adds.
func (rl rateLimit) headers() map[string]string {
	if rl.off {
		return nil
	}
	h := map[string]string{
		"X-RateLimit-Limit":     strconv.Itoa(rl.limit),
		"X-RateLimit-Remaining": strconv.Itoa(rl.remaining),
	}
	if !rl.ok {
		h["Retry-After"] = strconv.Itoa(rl.retryAfter)
		h["X-RateLimit-Reset"] = strconv.FormatInt(rl.reset, 10)
	}
	return h
}

// throttle counts a request under key at now. A request over the limit is
// rejected and, as in Laravel, not counted.
func (s *Server) throttle(key string, now time.Time) rateLimit {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limit <= 0 {
		return rateLimit{ok: true, off: true}
	}
	w := s.windows[key]
	if w == nil || !now.Before(w.start.Add(s.window)) {
		// A new window starts at most once per window length per key, so
		// dropping every ended window here keeps the map to the keys seen
		// in the last window at little cost, however long a demo runs.
		s.pruneWindows(now)
		w = &throttleWindow{start: now}
		s.windows[key] = w
	}
	if w.count >= s.limit {
		left := w.start.Add(s.window).Sub(now)
		secs := int((left + time.Second - 1) / time.Second)
		return rateLimit{limit: s.limit, retryAfter: secs, reset: now.Unix() + int64(secs)}
	}
	w.count++
	return rateLimit{ok: true, limit: s.limit, remaining: s.limit - w.count}
}

// LoggedRequest is one request the server answered.
type LoggedRequest struct {
	At time.Time
	// Endpoint is the path template ("/items/{id}"); for a path that is
	// no endpoint, the path itself, relative to /public/v1 when under it.
	Endpoint string
	Status   int
	Query    string
	Token    string // "" when missing
	// Accept and UserAgent are the request's headers, so tests can check
	// that a client sends what the API documents.
	Accept    string
	UserAgent string
}

// StatusClientGone is logged for a request whose client went away during an
// injected latency, as nginx logs it; nothing was written.
const StatusClientGone = 499

func (s *Server) record(e LoggedRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, e)
	if n := s.logLimit; n > 0 && len(s.log) >= 2*n {
		// Drop the oldest in bulk: amortized O(1) per request.
		s.log = append([]LoggedRequest(nil), s.log[len(s.log)-n:]...)
	}
}

// trimmedLog returns the log as Requests reports it: at most logLimit
// entries. The caller holds s.mu.
func (s *Server) trimmedLog() []LoggedRequest {
	if n := s.logLimit; n > 0 && len(s.log) > n {
		return s.log[len(s.log)-n:]
	}
	return s.log
}

// Requests returns the request log.
func (s *Server) Requests() []LoggedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.trimmedLog())
}

// Count returns how many requests to endpoint ("" for all) got status (0 for
// any).
func (s *Server) Count(endpoint string, status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.trimmedLog() {
		if (endpoint == "" || e.Endpoint == endpoint) && (status == 0 || e.Status == status) {
			n++
		}
	}
	return n
}

// Count429 returns how many requests were answered 429, by the throttle or
// an injected storm.
func (s *Server) Count429() int { return s.Count("", 429) }

// pruneWindows forgets the throttle windows that have ended by now. The
// caller holds s.mu.
func (s *Server) pruneWindows(now time.Time) {
	for k, w := range s.windows {
		if !now.Before(w.start.Add(s.window)) {
			delete(s.windows, k)
		}
	}
}

// MaxInWindow returns the most requests received in any closed window
// [t, t+w] of length w: two requests exactly w apart count together. That
// is how a client's "at most B in any window of length W" is promised, so
// a client that keeps it never shows more than B here. A w of zero counts
// the requests at one instant; a negative w holds none.
func (s *Server) MaxInWindow(w time.Duration) int {
	s.mu.Lock()
	log := s.trimmedLog()
	times := make([]time.Time, len(log))
	for i, e := range log {
		times[i] = e.At
	}
	s.mu.Unlock()
	return maxInWindow(times, w)
}

func maxInWindow(times []time.Time, w time.Duration) int {
	if w < 0 {
		return 0
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	best, i := 0, 0
	for j := range times {
		for times[j].Sub(times[i]) > w {
			i++
		}
		best = max(best, j-i+1)
	}
	return best
}

// ResetLog empties the request log.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// ResetThrottle forgets every throttle window, as a cache flush would.
func (s *Server) ResetThrottle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.windows)
}

// Reset empties the request log and the throttle's windows.
func (s *Server) Reset() {
	s.ResetLog()
	s.ResetThrottle()
}
