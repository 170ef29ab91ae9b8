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
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// testLimiter drives a scheduler as a plain budget: its own count with a
// health reserve, each send done as soon as it is granted, no answers.
type testLimiter struct{ s *scheduler }

func newTestLimiter(budget, reserve int, window time.Duration) *testLimiter {
	return &testLimiter{s: newScheduler(schedConfig{budget: budget, reserve: reserve, window: window})}
}

func (l *testLimiter) Wait(ctx context.Context, health bool) (time.Duration, error) {
	class := ClassStock
	if health {
		class = ClassHealth
	}
	tk, waited, err := l.s.Wait(ctx, class, false)
	if err == nil {
		l.s.done(tk, nil)
	}
	return waited, err
}

func (l *testLimiter) PauseUntil(t time.Time) { l.s.PauseUntil(t) }

// maxInWindow returns the most sends in any closed interval of length w;
// sends must be sorted. The closed interval is the strictest reading of
// "a window of length w": it holds both ends.
func maxInWindow(sends []time.Time, w time.Duration) int {
	worst, j := 0, 0
	for i := range sends {
		for j < len(sends) && sends[j].Sub(sends[i]) <= w {
			j++
		}
		worst = max(worst, j-i)
	}
	return worst
}

func TestMaxInWindow(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(secs ...float64) []time.Time {
		var out []time.Time
		for _, s := range secs {
			out = append(out, t0.Add(time.Duration(s*float64(time.Second))))
		}
		return out
	}
	for _, tc := range []struct {
		sends []time.Time
		want  int
	}{
		{nil, 0},
		{at(0), 1},
		{at(0, 10), 2},       // both ends of a closed window
		{at(0, 10.001), 1},   // just too far apart
		{at(0, 1, 2, 11), 3}, // [1, 11] holds 1, 2, 11
		{at(0, 0, 0, 5, 20), 4},
	} {
		if got := maxInWindow(tc.sends, 10*time.Second); got != tc.want {
			t.Errorf("maxInWindow(%v) = %d, want %d", tc.sends, got, tc.want)
		}
	}
}

// TestOwnBudgetNeverExceeded is the property test of the scheduler's own count: over 24
// simulated hours of randomized schedules (several goroutines, bursts far
// above the budget, idle gaps, steady trickles, cancelled waits and 429
// pauses), with random budgets, windows and health reserves, no window of
// length W ever holds more than B sends, nor more than B − reserve sends
// of normal calls; and a health call, made at most reserve times per
// window, never waits for budget at all when there is a reserve, only for
// a 429 pause.
func TestOwnBudgetNeverExceeded(t *testing.T) {
	type schedule struct {
		budget, reserve int
		window          time.Duration
		workers         int
	}
	rng := rand.New(rand.NewPCG(2026, 11))
	cases := []schedule{{DefaultBudget, 0, DefaultWindow, 4}, {DefaultBudget, 2, DefaultWindow, 4}} // the exporter's defaults
	for range 5 {
		w := time.Duration(5_000+rng.IntN(115_000)) * time.Millisecond // 5 s .. 120 s
		// At most about one send per second on average, so a day of
		// saturation stays a quick test.
		b := 2 + rng.IntN(max(1, int(w/time.Second)))
		cases = append(cases, schedule{b, 0, w, 2 + rng.IntN(6)}, schedule{b, 1 + rng.IntN(b-1), w, 2 + rng.IntN(6)})
	}
	for i, sc := range cases {
		t.Run(fmt.Sprintf("B=%d,reserve=%d,W=%s,workers=%d", sc.budget, sc.reserve, sc.window, sc.workers), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := runSchedule(t, sc.budget, sc.reserve, sc.window, sc.workers, uint64(i), 24*time.Hour)
				worst := maxInWindow(r.sends, sc.window)
				worstNormal := maxInWindow(r.normal, sc.window)
				t.Logf("24 h simulated: B=%d reserve=%d W=%s workers=%d: %d sends (%d health), %d cancelled waits; worst in any window of length W: %d (budget %d), normal calls %d (limit %d); longest health wait outside 429 pauses %s",
					sc.budget, sc.reserve, sc.window, sc.workers, len(r.sends), len(r.sends)-len(r.normal), r.cancelled,
					worst, sc.budget, worstNormal, sc.budget-sc.reserve, r.healthWait)
				if worst > sc.budget {
					t.Errorf("%d sends in one window of %s, budget %d", worst, sc.window, sc.budget)
				}
				if worstNormal > sc.budget-sc.reserve {
					t.Errorf("%d normal sends in one window of %s, budget %d less reserve %d", worstNormal, sc.window, sc.budget, sc.reserve)
				}
				if worstNormal < sc.budget-sc.reserve {
					// Bursts far above the budget must fill some window,
					// or the schedule did not test the limit at all.
					t.Errorf("the schedule never reached the budget (worst %d < %d)", worstNormal, sc.budget-sc.reserve)
				}
				if sc.reserve > 0 && r.healthWait > 0 {
					t.Errorf("a health call waited %s for budget despite a reserve of %d", r.healthWait, sc.reserve)
				}
			})
		})
	}
}

// scheduleResult is what runSchedule saw: sorted send times, all and of
// normal calls only, waits that were cancelled, and the longest time a
// health call waited beyond any 429 pause.
type scheduleResult struct {
	sends, normal []time.Time
	cancelled     int64
	healthWait    time.Duration
}

// runSchedule drives a testLimiter with random traffic for d of fake time,
// plus one health caller that calls at most reserve (or one) times per
// window.
func runSchedule(t *testing.T, budget, reserve int, window time.Duration, workers int, seed uint64, d time.Duration) scheduleResult {
	l := newTestLimiter(budget, reserve, window)
	end := time.Now().Add(d)
	var (
		mu        sync.Mutex
		res       scheduleResult
		cancelled atomic.Int64
		wg        sync.WaitGroup
	)
	send := func(ctx context.Context, health bool) {
		if _, err := l.Wait(ctx, health); err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Wait: %v", err)
			}
			cancelled.Add(1)
			return
		}
		now := time.Now()
		mu.Lock()
		res.sends = append(res.sends, now)
		if !health {
			res.normal = append(res.normal, now)
		}
		mu.Unlock()
	}
	wg.Go(func() {
		// The health caller: spaced so that it never makes more than
		// reserve calls in one window.
		rng := rand.New(rand.NewPCG(seed, 1<<20))
		gap := window/time.Duration(max(reserve, 1)) + time.Millisecond
		for time.Now().Before(end) {
			time.Sleep(gap + time.Duration(rng.Int64N(int64(window))))
			start := time.Now()
			send(context.Background(), true)
			waited := time.Since(start)
			l.s.mu.Lock()
			paused := max(l.s.pausedUntil.Sub(start), 0)
			l.s.mu.Unlock()
			mu.Lock()
			res.healthWait = max(res.healthWait, waited-paused)
			mu.Unlock()
		}
	})
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for time.Now().Before(end) {
				switch rng.IntN(10) {
				case 0, 1, 2: // a burst well above the budget
					for range 1 + rng.IntN(3*budget) {
						send(context.Background(), false)
					}
				case 3, 4: // an idle gap of up to three windows
					time.Sleep(time.Duration(rng.Int64N(int64(3 * window))))
				case 5, 6: // a steady trickle
					for range 1 + rng.IntN(budget) {
						send(context.Background(), false)
						time.Sleep(time.Duration(rng.Int64N(int64(window / time.Duration(budget) * 2))))
					}
				case 7, 8: // an impatient caller, often cancelled while waiting
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rng.Int64N(int64(window))))
					send(ctx, false)
					cancel()
				case 9: // a 429 pause, rarely
					if rng.IntN(20) == 0 {
						l.PauseUntil(time.Now().Add(time.Duration(rng.Int64N(int64(window)))))
					}
				}
			}
		})
	}
	wg.Wait()
	res.cancelled = cancelled.Load()
	slices.SortFunc(res.sends, func(a, b time.Time) int { return a.Compare(b) })
	slices.SortFunc(res.normal, func(a, b time.Time) int { return a.Compare(b) })
	return res
}

// TestOwnBudgetHealthReserveUnderSaturation: normal callers that keep the
// scheduler saturated leave reserve slots of every window free, so a health
// call is granted at once; without a reserve it waits for a slot.
func TestOwnBudgetHealthReserveUnderSaturation(t *testing.T) {
	for _, reserve := range []int{0, 1} {
		synctest.Test(t, func(t *testing.T) {
			l := newTestLimiter(10, reserve, time.Minute)
			ctx, cancel := context.WithCancel(t.Context())
			var wg sync.WaitGroup
			for range 3 {
				wg.Go(func() {
					for ctx.Err() == nil {
						_, _ = l.Wait(ctx, false)
					}
				})
			}
			var worst time.Duration
			for range 30 {
				time.Sleep(61 * time.Second)
				start := time.Now()
				if _, err := l.Wait(t.Context(), true); err != nil {
					t.Fatal(err)
				}
				worst = max(worst, time.Since(start))
			}
			cancel()
			wg.Wait()
			t.Logf("reserve %d: longest health wait under saturation %s", reserve, worst)
			if reserve > 0 && worst != 0 {
				t.Errorf("reserve %d: a health call waited %s", reserve, worst)
			}
			if reserve == 0 && worst == 0 {
				t.Error("without a reserve a saturated scheduler granted a health call at once; the test does not saturate")
			}
		})
	}
}

// TestOwnBudgetIsReached shows the scheduler is not trivially safe by
// being slow: saturated for 24 simulated hours, it sends at least 99 % of
// B per W.
func TestOwnBudgetIsReached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const day = 24 * time.Hour
		l := newTestLimiter(DefaultBudget, 0, DefaultWindow)
		end := time.Now().Add(day)
		var n atomic.Int64
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				for {
					if _, err := l.Wait(context.Background(), false); err != nil {
						t.Error(err)
						return
					}
					if !time.Now().Before(end) {
						return
					}
					n.Add(1)
				}
			})
		}
		wg.Wait()
		ideal := float64(DefaultBudget) * float64(day) / float64(DefaultWindow)
		t.Logf("saturated for 24 h: %d sends, %.2f %% of B per W (%0.f)", n.Load(), 100*float64(n.Load())/ideal, ideal)
		if float64(n.Load()) < 0.99*ideal {
			t.Errorf("only %d sends in 24 h, want at least 99 %% of %.0f", n.Load(), ideal)
		}
	})
}

func TestOwnBudgetGrantsABurstThenWaitsAWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newTestLimiter(3, 0, 10*time.Second)
		start := time.Now()
		for i := range 3 {
			if d, err := l.Wait(t.Context(), false); d != 0 || err != nil {
				t.Fatalf("send %d waited %s, %v", i, d, err)
			}
		}
		d, err := l.Wait(t.Context(), false)
		if err != nil || d <= 10*time.Second || d > 10*time.Second+time.Millisecond || time.Since(start) != d {
			t.Errorf("fourth send waited %s, %v", d, err)
		}
	})
}

func TestOwnBudgetWaitHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newTestLimiter(1, 0, time.Minute)
		if _, err := l.Wait(t.Context(), false); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		d, err := l.Wait(ctx, false)
		if !errors.Is(err, context.DeadlineExceeded) || d != 5*time.Second {
			t.Errorf("Wait = %s, %v", d, err)
		}
		// The cancelled wait spent no budget: the next send comes one
		// window after the first.
		d, err = l.Wait(t.Context(), false)
		if err != nil || d > 55*time.Second+time.Millisecond || d < 55*time.Second {
			t.Errorf("next Wait = %s, %v", d, err)
		}
		cancelled, cancel2 := context.WithCancel(t.Context())
		cancel2()
		if _, err := newTestLimiter(5, 0, time.Minute).Wait(cancelled, false); !errors.Is(err, context.Canceled) {
			t.Errorf("Wait with a cancelled context = %v", err)
		}
	})
}

func TestClientBudgetWaitHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		c, rec := newBubbleClient(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n.Add(1)
			writeJSON(w, 200, `{"status":"success","data":{"status":"ok","time":"t"}}`)
		}), WithBudget(1, time.Minute))
		if _, err := c.Health(t.Context()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, err := c.Health(ctx)
		if KindOf(err) != KindTimeout || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v", err)
		}
		if n.Load() != 1 || rec.TotalWait() != time.Second {
			t.Errorf("%d requests, waited %s", n.Load(), rec.TotalWait())
		}
	})
}

// TestRetriesSpendBudget: every retry goes through the scheduler, so with a
// budget of 3 a call retried twice uses the whole window.
func TestRetriesSpendBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sends []time.Time
		c, rec := newBubbleClient(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			sends = append(sends, time.Now())
			writeJSON(w, 503, `{"message":"Service Unavailable"}`)
		}), WithBudget(3, time.Minute), WithMaxRetries(2))
		start := time.Now()
		if _, err := c.Health(t.Context()); KindOf(err) != KindServerError {
			t.Fatalf("got %v", err)
		}
		if len(sends) != 3 || rec.TotalWait() != 0 {
			t.Fatalf("%d sends, waited %s", len(sends), rec.TotalWait())
		}
		// The budget is spent: the next call waits for the first send to
		// leave the window.
		if _, err := c.Health(t.Context()); KindOf(err) != KindServerError {
			t.Fatalf("got %v", err)
		}
		if len(sends) != 6 {
			t.Fatalf("%d sends", len(sends))
		}
		if got := sends[3].Sub(start); got <= time.Minute || got > time.Minute+time.Millisecond {
			t.Errorf("fourth send at +%s, want just after 1m", got)
		}
		if rec.TotalWait() <= 0 {
			t.Error("the budget wait was not observed")
		}
		if worst := maxInWindow(sends, time.Minute); worst > 3 {
			t.Errorf("%d sends in a minute", worst)
		}
	})
}

// TestRateLimitedPausesEveryCall: after a 429 with Retry-After: 7, no
// request is sent for 7 s, from any goroutine, and the 429 surfaces.
func TestRateLimitedPausesEveryCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu      sync.Mutex
			sends   []time.Time
			limited time.Time
		)
		c, rec := newBubbleClient(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			sends = append(sends, time.Now())
			if limited.IsZero() {
				limited = time.Now()
				w.Header().Set("Retry-After", "7")
				w.Header().Set("X-RateLimit-Limit", "120")
				w.Header().Set("X-RateLimit-Remaining", "0")
				writeJSON(w, 429, `{"message":"Too Many Attempts."}`)
				return
			}
			writeJSON(w, 200, `{"status":"success","data":{"status":"ok","time":"t"}}`)
		}))
		time.Sleep(3 * time.Second)
		_, err := c.Health(t.Context())
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindRateLimited || e.RetryAfter != 7*time.Second || e.Status != 429 {
			t.Fatalf("got %v", err)
		}
		if rl := c.RateLimit(); !rl.Known || rl.Remaining != 0 || rl.Limit != 120 {
			t.Errorf("RateLimit() = %+v", rl)
		}
		var wg sync.WaitGroup
		for i := range 5 {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * time.Second)
				if _, err := c.Health(t.Context()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(sends) != 6 {
			t.Fatalf("%d sends", len(sends))
		}
		for _, s := range sends[1:] {
			if s.Sub(limited) < 7*time.Second {
				t.Errorf("a request went out %s after the 429", s.Sub(limited))
			}
			if s.Sub(limited) > 7*time.Second+pauseJitter {
				t.Errorf("a request waited %s after the 429, more than the pause and its jitter", s.Sub(limited))
			}
		}
		if rec.TotalWait() < 5*time.Second {
			t.Errorf("pause not observed as budget wait: %s", rec.TotalWait())
		}
	})
}

// TestRateLimitedWithUnreadableBodyStillPauses: the status alone decides;
// a 429 whose body breaks off must pause the client all the same.
func TestRateLimitedWithUnreadableBodyStillPauses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sends []time.Time
		c, err := New("https://a.kartustok.com", StaticToken(testToken), WithTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
			sends = append(sends, time.Now())
			if len(sends) == 1 {
				return &http.Response{
					StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"5"}},
					Body: io.NopCloser(errReader{io.ErrUnexpectedEOF}), Request: r,
				}, nil
			}
			return &http.Response{
				StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(`{"status":"success","data":{"status":"ok"}}`)), Request: r,
			}, nil
		})))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Health(t.Context()); KindOf(err) != KindRateLimited {
			t.Fatalf("got %v", err)
		}
		if _, err := c.Health(t.Context()); err != nil {
			t.Fatal(err)
		}
		if gap := sends[1].Sub(sends[0]); gap < 5*time.Second {
			t.Errorf("second request %s after the 429", gap)
		}
	})
}

// TestCancelDuringBackoffReturnsTheFailure: a caller that gives up while
// the client backs off learns what failed, and nothing more is sent.
func TestCancelDuringBackoffReturnsTheFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, rec := newBubbleClient(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, 500, `{"message":"Server Error"}`)
		}), WithMaxRetries(5))
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_, err := c.Health(ctx)
		if KindOf(err) != KindServerError || len(rec.Requests()) != 1 {
			t.Errorf("got %v after %d attempts", err, len(rec.Requests()))
		}
	})
}

// fixedWindowServer counts requests as Laravel's throttle does: a window
// of length window starts at the first request counted while none is
// open; a request over limit gets 429 and is not counted. other holds
// requests of another client on the same token and IP, spent at the start
// of each window before anything of ours.
type fixedWindowServer struct {
	mu         sync.Mutex
	limit      int
	window     time.Duration
	start      time.Time
	count      int
	other      func() int
	storm      time.Time // until then every request gets 429
	ours       []time.Time
	perWindow  []int // our requests counted in each window
	otherSpent []int
	refused    []int // our requests refused for the count, per window
}

func (s *fixedWindowServer) handle(now time.Time) http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := http.Header{}
	h.Set(headerRateLimitLimit, strconv.Itoa(s.limit))
	if s.start.IsZero() || !now.Before(s.start.Add(s.window)) {
		s.start, s.count = now, 0
		o := min(s.other(), s.limit)
		s.count += o
		s.perWindow = append(s.perWindow, 0)
		s.otherSpent = append(s.otherSpent, o)
		s.refused = append(s.refused, 0)
	}
	reset := s.start.Add(s.window)
	if now.Before(s.storm) || s.count >= s.limit {
		retry := reset
		if now.Before(s.storm) {
			retry = s.storm
		}
		secs := int(math.Ceil(retry.Sub(now).Seconds()))
		h.Set(headerRateLimitRemaining, "0")
		h.Set(headerRetryAfter, strconv.Itoa(secs))
		h.Set(headerRateLimitReset, strconv.FormatInt(now.Add(time.Duration(secs)*time.Second).Unix(), 10))
		if !now.Before(s.storm) {
			s.refused[len(s.refused)-1]++
		}
		h.Set("X-Status", "429")
		return h
	}
	s.count++
	s.perWindow[len(s.perWindow)-1]++
	s.ours = append(s.ours, now)
	h.Set(headerRateLimitRemaining, strconv.Itoa(s.limit-s.count))
	return h
}

// TestSchedulerNeverExceedsEitherLimit is the scheduler's property test:
// over simulated hours of random traffic of every class (health checks on
// their interval, catalog refreshes of random page counts, stock paging
// without end, random answer latencies), against a server whose own count
// another client spends at random (up to all of it) at the start of every
// window, and that answers 429 storms at random: no window of length W
// holds more than the budget by the scheduler's own count; no request of
// ours is refused for the server's count in a window the other client left
// room in (it never sends past what the server said remains), and at most
// one, the request that finds out, in a window the other client spent
// whole; no request goes out during a 429 pause; and a health check never
// waits longer than one health interval while catalog or stock requests
// go out: what holds it back longer is the server, never our own traffic.
// Stock comes first for random stretches: then the catalog and flow, which
// yield, get no more than their floor of any window, and still some.
func TestSchedulerNeverExceedsEitherLimit(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 12))
	type tcase struct {
		budget, limit   int
		window, healthI time.Duration
		otherMax        int
		storms          bool
	}
	cases := []tcase{
		{DefaultBudget, 120, DefaultWindow, 30 * time.Second, 0, false},
		{DefaultBudget, 120, DefaultWindow, 30 * time.Second, 100, true},
		{DefaultBudget, 120, DefaultWindow, 30 * time.Second, 120, true},
	}
	for range 4 {
		w := time.Duration(10+rng.IntN(110)) * time.Second
		b := 4 + rng.IntN(60)
		cases = append(cases, tcase{b, b + rng.IntN(2*b), w, w/time.Duration(1+rng.IntN(3)) + time.Second, rng.IntN(2 * b), rng.IntN(2) == 0})
	}
	for i, tc := range cases {
		t.Run(fmt.Sprintf("B=%d,L=%d,W=%s,health=%s,other<=%d,storms=%v", tc.budget, tc.limit, tc.window, tc.healthI, tc.otherMax, tc.storms), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srng := rand.New(rand.NewPCG(uint64(i), 7))
				var rmu sync.Mutex
				srv := &fixedWindowServer{limit: tc.limit, window: tc.window, other: func() int {
					rmu.Lock()
					defer rmu.Unlock()
					return srng.IntN(tc.otherMax + 1)
				}}
				reserve := int(math.Ceil(tc.window.Seconds()/tc.healthI.Seconds())) + 1
				reserve = min(reserve, tc.budget-1)
				shared := tc.budget - reserve
				s := newScheduler(schedConfig{
					budget: tc.budget, window: tc.window, reserve: reserve,
					catalogCap: max(1, shared-int(math.Ceil(0.5*float64(shared)))),
					spacing:    tc.window / time.Duration(4*tc.budget), healthInterval: tc.healthI, cautious: true,
				})
				end := time.Now().Add(6 * time.Hour)
				var (
					mu         sync.Mutex
					sends      []time.Time
					classSends [numClasses]int
					pauseEnds  []time.Time // when each 429 we got said to come back
					violations []string
					// health waits, and the grants of other classes
					healthWaits [][2]time.Time
					others      []time.Time
					// the grants that yield, by class, of stock, and when
					// stock came first: [on, off) stretches
					yielded     [numClasses][]time.Time
					stockGrants []time.Time
					firstOn     [][2]time.Time
				)
				call := func(class Class, lrng *rand.Rand) (waited time.Duration) {
					yields := class == ClassCatalog || class == ClassFlow
					tk, waited, err := s.Wait(context.Background(), class, yields)
					if err != nil {
						t.Error(err)
						return waited
					}
					mu.Lock()
					sends = append(sends, tk.at)
					classSends[class]++
					if yields {
						yielded[class] = append(yielded[class], tk.at)
					}
					if class == ClassStock {
						stockGrants = append(stockGrants, tk.at)
					}
					if class != ClassHealth {
						others = append(others, tk.at)
					}
					for _, p := range pauseEnds {
						if tk.at.Before(p) {
							violations = append(violations, fmt.Sprintf("%s sent at %s during a 429 pause until %s", class, tk.at, p))
						}
					}
					mu.Unlock()
					time.Sleep(time.Duration(lrng.Int64N(int64(500 * time.Millisecond))))
					h := srv.handle(time.Now())
					if h.Get("X-Status") == "429" {
						d := readRateLimit(h, time.Now(), PauseWindows*s.cfg.window).retry
						s.PauseUntil(time.Now().Add(d))
						mu.Lock()
						pauseEnds = append(pauseEnds, time.Now().Add(d))
						mu.Unlock()
					}
					s.done(tk, h)
					return waited
				}
				var wg sync.WaitGroup
				wg.Go(func() { // health
					lrng := rand.New(rand.NewPCG(uint64(i), 1))
					for time.Now().Before(end) {
						start := time.Now()
						waited := call(ClassHealth, lrng)
						mu.Lock()
						healthWaits = append(healthWaits, [2]time.Time{start, start.Add(waited)})
						mu.Unlock()
						time.Sleep(max(0, tc.healthI-time.Since(start)))
					}
				})
				wg.Go(func() { // catalog: a refresh of random size every few windows
					lrng := rand.New(rand.NewPCG(uint64(i), 2))
					for time.Now().Before(end) {
						for range 1 + lrng.IntN(3*tc.budget) {
							call(ClassCatalog, lrng)
						}
						time.Sleep(time.Duration(lrng.Int64N(int64(3 * tc.window))))
					}
				})
				for k := range 2 { // stock: paging without end
					wg.Go(func() {
						lrng := rand.New(rand.NewPCG(uint64(i), uint64(3+k)))
						for time.Now().Before(end) {
							call(ClassStock, lrng)
						}
					})
				}
				wg.Go(func() { // flow: paging without end, yielding
					lrng := rand.New(rand.NewPCG(uint64(i), 5))
					for time.Now().Before(end) {
						call(ClassFlow, lrng)
					}
				})
				wg.Go(func() { // stock comes first for random stretches
					lrng := rand.New(rand.NewPCG(uint64(i), 6))
					for time.Now().Before(end) {
						time.Sleep(time.Duration(lrng.Int64N(int64(5 * tc.window))))
						on := time.Now()
						s.setStockFirst(true)
						time.Sleep(time.Duration(lrng.Int64N(int64(10 * tc.window))))
						s.setStockFirst(false)
						mu.Lock()
						firstOn = append(firstOn, [2]time.Time{on, time.Now()})
						mu.Unlock()
					}
					s.setStockFirst(false)
				})
				if tc.storms {
					wg.Go(func() {
						lrng := rand.New(rand.NewPCG(uint64(i), 9))
						for time.Now().Before(end) {
							time.Sleep(time.Duration(lrng.Int64N(int64(20 * tc.window))))
							srv.mu.Lock()
							srv.storm = time.Now().Add(time.Duration(lrng.Int64N(int64(tc.window))))
							srv.mu.Unlock()
						}
					})
				}
				wg.Wait()
				slices.SortFunc(sends, func(a, b time.Time) int { return a.Compare(b) })
				slices.SortFunc(others, func(a, b time.Time) int { return a.Compare(b) })
				worst := maxInWindow(sends, tc.window)
				// The server's window may turn over unseen, and the other
				// client spend the new one first: the requests we have in
				// flight then (at most one per caller) may find it spent.
				const callers = 4
				refused, spentWindows := 0, 0
				for k, n := range srv.refused {
					refused += n
					left := srv.limit - srv.otherSpent[k]
					if left < callers {
						spentWindows++
					}
					if (left >= callers && n > 0) || n > callers {
						t.Errorf("server window %d: %d of our requests refused for the count, the other client left %d of %d", k, n, left, srv.limit)
					}
				}
				var healthWorst, healthInverted time.Duration
				for _, hw := range healthWaits {
					d := hw[1].Sub(hw[0])
					healthWorst = max(healthWorst, d)
					i, _ := slices.BinarySearchFunc(others, hw[0], func(a, b time.Time) int { return a.Compare(b) })
					if i < len(others) && others[i].Before(hw[1]) {
						healthInverted = max(healthInverted, d)
					}
				}
				t.Logf("6 h: %d sends (health %d, catalog %d, stock %d, flow %d); worst own count in any window %d of budget %d; %d server windows, %d nearly spent by the other client, %d of our requests refused for the count; longest health wait %s, longest while catalog or stock went out %s (interval %s)",
					len(sends), classSends[ClassHealth], classSends[ClassCatalog], classSends[ClassStock], classSends[ClassFlow], worst, tc.budget,
					len(srv.perWindow), spentWindows, refused, healthWorst, healthInverted, tc.healthI)
				if worst > tc.budget {
					t.Errorf("%d sends in one window, budget %d", worst, tc.budget)
				}
				for _, v := range violations[:min(len(violations), 5)] {
					t.Error(v)
				}
				if healthInverted > tc.healthI {
					t.Errorf("a health check waited %s, more than its interval %s, while catalog or stock requests went out", healthInverted, tc.healthI)
				}
				if classSends[ClassCatalog] == 0 || classSends[ClassStock] == 0 || classSends[ClassFlow] == 0 {
					t.Errorf("a class starved: %v", classSends)
				}
				// While stock came first, a class that yields got at most
				// its floor of any window, and, over every stretch of
				// three windows or more in which stock went out (when
				// nothing did, the server held everyone back), something.
				during := func(at time.Time) bool {
					for _, p := range firstOn {
						if at.After(p[0]) && at.Before(p[1]) {
							return true
						}
					}
					return false
				}
				for _, class := range []Class{ClassCatalog, ClassFlow} {
					var got []time.Time
					for _, at := range yielded[class] {
						if during(at) {
							got = append(got, at)
						}
					}
					slices.SortFunc(got, time.Time.Compare)
					if n := maxInWindow(got, tc.window); n > s.cfg.yieldFloor {
						t.Errorf("%s: %d sends in a window while stock came first, floor %d", class, n, s.cfg.yieldFloor)
					}
					if class != ClassFlow {
						continue // the catalog waits between its refreshes
					}
					slices.SortFunc(stockGrants, time.Time.Compare)
					in := func(ts []time.Time, p [2]time.Time) bool {
						i, _ := slices.BinarySearchFunc(ts, p[0], time.Time.Compare)
						return i < len(ts) && ts[i].Before(p[1])
					}
					for _, p := range firstOn {
						if p[1].Sub(p[0]) < 3*tc.window || p[1].After(end) || !in(stockGrants, p) {
							continue
						}
						if !in(got, p) {
							t.Errorf("flow starved while stock came first from %s to %s", p[0], p[1])
						}
					}
				}
			})
		})
	}
}

func TestSharesFromTheHealthInterval(t *testing.T) {
	for _, tc := range []struct {
		rateLimit int
		budget    float64
		window    time.Duration
		health    time.Duration
		want      int
		cut       bool
	}{
		{120, 0.8, time.Minute, 30 * time.Second, 3, false}, // the defaults: 2 checks a window, plus one
		{120, 0.8, time.Minute, 45 * time.Second, 3, false}, // ceil(60/45) = 2
		{120, 0.8, time.Minute, 2 * time.Minute, 2, false},  // fewer than one check a window still reserves one, plus one
		{20, 0.8, 2 * time.Second, time.Second, 3, false},   // time-scaled
		{3, 1, time.Minute, time.Second, 2, true},           // 61 wanted, clamped below the budget
		{1, 1, time.Minute, 30 * time.Second, 0, true},      // nothing to reserve
	} {
		budget := BudgetFor(tc.rateLimit, tc.budget)
		c, err := New("https://a.kartustok.com", StaticToken("t"), WithBudget(budget, tc.window), WithHealthInterval(tc.health))
		if err != nil {
			t.Fatal(err)
		}
		n, catalogCap, cut := c.Shares()
		if n != tc.want || cut != tc.cut {
			t.Errorf("rate %d × %g, window %s, health every %s: reserve %d (cut %v), want %d (cut %v)",
				tc.rateLimit, tc.budget, tc.window, tc.health, n, cut, tc.want, tc.cut)
		}
		if n >= budget && n != 0 {
			t.Errorf("reserve %d not below the budget %d", n, budget)
		}
		if shared := budget - n; catalogCap > shared || (shared >= 2 && catalogCap > shared/2) {
			t.Errorf("catalog cap %d of %d shared: stock keeps less than half", catalogCap, shared)
		}
	}
}
