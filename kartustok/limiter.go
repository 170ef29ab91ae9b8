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
// granted, in a ring; a new send is granted only once the oldest of them is
// more than window ago. Then for every send s, the send budget places later
// is more than window after s, so no window of length window, open or
// closed, ever holds more than budget sends. A token bucket such as
// golang.org/x/time/rate cannot promise this: it lets a full burst follow a
// window's worth of steady sends.
//
// A send is counted when it is granted, just before the request is written;
// the request reaches the server no earlier, so the server never counts more
// in any of its windows than the limiter granted in one window of the same
// length, apart from network jitter, which the default budget of 80 % of the
// server's limit absorbs.
type limiter struct {
	budget int
	window time.Duration

	mu    sync.Mutex
	sends []time.Time // grant times, a ring once it holds budget entries
	next  int         // index of the oldest grant once the ring is full
	// pausedUntil holds every send back after a 429, whatever the budget.
	pausedUntil time.Time
}

func newLimiter(budget int, window time.Duration) *limiter {
	// The ring grows as sends are granted, so a huge budget costs nothing
	// until it is used.
	return &limiter{budget: budget, window: window}
}

// Wait blocks until a send is allowed, records it and returns how long it
// waited. It gives up, recording nothing, when ctx is done.
func (l *limiter) Wait(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	for {
		if err := ctx.Err(); err != nil {
			return time.Since(start), err
		}
		l.mu.Lock()
		now := time.Now()
		d := l.delay(now)
		if d <= 0 {
			l.record(now)
			l.mu.Unlock()
			return now.Sub(start), nil
		}
		l.mu.Unlock()

		// Another caller may take the slot first; then this one waits again.
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return time.Since(start), ctx.Err()
		case <-t.C:
		}
	}
}

// delay is how long a send at now must wait. l.mu must be held.
func (l *limiter) delay(now time.Time) time.Duration {
	if now.Before(l.pausedUntil) {
		return l.pausedUntil.Sub(now)
	}
	if len(l.sends) < l.budget {
		return 0
	}
	// The oldest of the last budget grants and a send at now must not fit
	// in one window: the send must come strictly after oldest+window.
	free := l.sends[l.next].Add(l.window)
	if now.After(free) {
		return 0
	}
	return free.Sub(now) + time.Nanosecond
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
