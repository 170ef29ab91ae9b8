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
	"sync"
	"time"
)

// limiter grants at most budget sends in any window of length window: a
// sliding-window log. It remembers when the latest budget sends were
// granted, in a ring, newest last. A send with limit L (budget − reserve
// for normal calls, budget for health checks) is granted only once the
// L-th latest grant is more than window ago, so that with it at most L
// grants lie in the closed window [now − window, now]. As L ≤ budget for
// every send, any closed window [a, a + window] holds at most budget
// grants (take its last grant t: the window lies inside [t − window, t]),
// and at most budget − reserve grants of normal calls (take its last
// normal grant). Health checks therefore always find reserve slots that
// normal calls cannot take. A token bucket such as golang.org/x/time/rate
// cannot promise this: it lets a full burst follow a window's worth of
// steady sends.
//
// A send is counted when it is granted, just before the request is written;
// the request reaches the server no earlier, so the server never counts more
// in any of its windows than the limiter granted in one window of the same
// length, apart from network jitter, which the default budget of 80 % of the
// server's limit absorbs. The same headroom absorbs the one request Go's
// transport may send again by itself: a GET that failed on a reused
// connection the server had already closed is retried once on a new
// connection, without the limiter seeing it.
type limiter struct {
	budget  int
	reserve int
	window  time.Duration

	mu    sync.Mutex
	sends []time.Time // grant times, a ring once it holds budget entries
	next  int         // index of the oldest grant once the ring is full
	// pausedUntil holds every send back after a 429, whatever the budget.
	pausedUntil time.Time
}

func newLimiter(budget, reserve int, window time.Duration) *limiter {
	// The ring grows as sends are granted, so a huge budget costs nothing
	// until it is used.
	return &limiter{budget: budget, reserve: reserve, window: window}
}

// Wait blocks until a send is allowed, records it and returns how long it
// waited: zero when it was granted at once. A health send may use the
// reserved slots. Wait gives up, recording nothing, when ctx is done.
func (l *limiter) Wait(ctx context.Context, health bool) (time.Duration, error) {
	limit := l.budget - l.reserve
	if health {
		limit = l.budget
	}
	var start time.Time
	for {
		if err := ctx.Err(); err != nil {
			return waitedSince(start), err
		}
		l.mu.Lock()
		now := time.Now()
		d := l.delay(now, limit)
		if d <= 0 {
			l.record(now)
			l.mu.Unlock()
			return waitedSince(start), nil
		}
		l.mu.Unlock()
		if start.IsZero() {
			start = now
		}

		// Another caller may take the slot first; then this one waits again.
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return waitedSince(start), ctx.Err()
		case <-t.C:
		}
	}
}

// waitedSince is the time since start, or zero when the caller never had
// to wait (start is zero).
func waitedSince(start time.Time) time.Duration {
	if start.IsZero() {
		return 0
	}
	return time.Since(start)
}

// delay is how long a send with limit L must wait at now. l.mu must be
// held.
func (l *limiter) delay(now time.Time, limit int) time.Duration {
	if now.Before(l.pausedUntil) {
		return l.pausedUntil.Sub(now)
	}
	if len(l.sends) < limit {
		return 0
	}
	// The limit-th latest grant and a send at now must not fit in one
	// window: the send must come strictly after that grant + window.
	free := l.sends[l.latest(limit)].Add(l.window)
	if now.After(free) {
		return 0
	}
	return free.Sub(now) + time.Nanosecond
}

// latest returns the ring index of the k-th latest grant (k = 1 is the
// newest), 1 ≤ k ≤ len(l.sends). l.mu must be held.
func (l *limiter) latest(k int) int {
	if len(l.sends) < l.budget {
		return len(l.sends) - k
	}
	return (l.next - k + l.budget) % l.budget
}

// record notes a grant at now. l.mu must be held.
func (l *limiter) record(now time.Time) {
	if len(l.sends) < l.budget {
		l.sends = append(l.sends, now)
		return
	}
	l.sends[l.next] = now
	l.next = (l.next + 1) % l.budget
}

// PauseUntil holds every send back until t (a 429's Retry-After), unless a
// longer pause is already in force.
func (l *limiter) PauseUntil(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.pausedUntil) {
		l.pausedUntil = t
	}
}
