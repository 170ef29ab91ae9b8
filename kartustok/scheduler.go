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
	"math"
	"net/http"
	"sync"
	"time"
)

// Class is what a request is for. The scheduler serves health checks
// first, and shares the rest of the budget between the catalog and stock.
type Class int

// The classes, by the endpoints they call.
const (
	// ClassHealth is GET /health.
	ClassHealth Class = iota
	// ClassCatalog is company metadata, categories, locators and items.
	ClassCatalog
	// ClassStock is stock summary and stock detail.
	ClassStock
	// ClassFlow is stock summary and stock detail read for flow: the
	// stock endpoints, called with a context from WithClass.
	ClassFlow
	numClasses
)

var classNames = [numClasses]string{"health", "catalog", "stock", "flow"}

// String returns the class's name.
func (c Class) String() string {
	if c < 0 || c >= numClasses {
		return "unknown"
	}
	return classNames[c]
}

type classKey struct{}

// requestClass is what a context says of its requests' class.
type requestClass struct {
	class  Class
	set    bool
	yields bool
}

// WithClass returns a context whose requests the scheduler counts as class
// instead of the class of their endpoint, such as stock endpoints read for
// flow (ClassFlow).
func WithClass(ctx context.Context, class Class) context.Context {
	rc, _ := ctx.Value(classKey{}).(requestClass)
	rc.class, rc.set = class, true
	return context.WithValue(ctx, classKey{}, rc)
}

// Yielding returns a context whose requests yield to stock while the
// client puts stock first (SetStockFirst): beyond YieldShare of a window
// for their class, they wait until stock no longer comes first.
func Yielding(ctx context.Context) context.Context {
	rc, _ := ctx.Value(classKey{}).(requestClass)
	rc.yields = true
	return context.WithValue(ctx, classKey{}, rc)
}

// classFor is the class of a request to endpoint made with ctx, and
// whether it yields to stock.
func classFor(ctx context.Context, endpoint string) (Class, bool) {
	rc, _ := ctx.Value(classKey{}).(requestClass)
	if rc.set {
		return rc.class, rc.yields
	}
	return ClassOf(endpoint), rc.yields
}

// YieldShare is the share of the budget left after the health reserve that
// each class of requests that yield to stock keeps in every window while
// stock comes first, so that it is stretched, never starved.
const YieldShare = 0.05

// ClassOf returns the class of a request to an endpoint template.
func ClassOf(endpoint string) Class {
	switch endpoint {
	case EndpointHealth:
		return ClassHealth
	case EndpointStockSummary, EndpointStockDetail:
		return ClassStock
	}
	return ClassCatalog
}

// schedConfig configures a scheduler.
type schedConfig struct {
	budget int
	window time.Duration
	// reserve is how many sends of every window only health checks may
	// use; catalogCap is the most catalog sends in any window, so that
	// stock always keeps budget − reserve − catalogCap of it.
	reserve, catalogCap int
	// spacing is the least time between two sends that are not health
	// checks, so that a burst is spread rather than sent at once.
	spacing time.Duration
	// healthInterval is how often health checks come; while the server's
	// count binds, that many of its remaining requests are kept for them.
	healthInterval time.Duration
	// yieldFloor is how many requests of every window a class that yields
	// to stock keeps while stock comes first.
	yieldFloor int
	// cautious makes a new scheduler assume that the window may already
	// be full: it admits one request at a time until an answer arrives,
	// and until an answer carries the server's count it treats the
	// window before it started as holding budget sends, spread evenly.
	cautious bool
}

// scheduler admits every request of a Client, one at a time, so that both
// limits hold: never more than budget sends in any window by its own count
// (counted at send time, over the closed window [t − window, t]), and never
// more than the server said remain in its window.
//
// Own count. A health check may use the whole budget; the catalog and
// stock together budget − reserve, so that reserve sends of every window
// are always free for health checks; the catalog alone catalogCap, so that
// when the intervals ask for more than the budget, the catalog is stretched
// before stock, which keeps budget − reserve − catalogCap sends of every
// window. Admission is per request (per page), never a whole listing booked
// ahead: a page that does not fit waits while others go.
//
// Server count. Every answer that carries X-RateLimit-Remaining tells how
// many requests the server still allows in its current window, counting
// everyone on the same token and client IP: another integration, or a
// previous process of this exporter. The scheduler then sends no more than
// that until the server's window has surely ended, X-RateLimit-Reset or, at
// the latest, one window after the answer arrived; an answer to a later
// request shows the new count sooner. Of what the server allows, the
// health checks due before its window ends are kept for them. A 429 stops
// every request until its Retry-After (at most PauseWindows windows), and
// then one request probes the server before any other goes.
//
// Order. Waiting health checks go first; the catalog and stock are served
// in the order they asked, each as soon as its own limits allow, so that
// neither can starve the other.
type scheduler struct {
	cfg schedConfig

	mu sync.Mutex
	// log holds the sends of the last window, oldest first, with counts
	// of those that are not health checks and of each class's.
	log        []sent
	nonHealth  int
	byClass    [numClasses]int
	lastNormal time.Time
	// stockFirst makes waiters that yield wait while stock comes first,
	// beyond their class's yieldFloor.
	stockFirst bool
	// waiters is the queue, in arrival order.
	waiters []*waiter
	// changed is closed, and replaced, whenever a waiter may now go.
	changed chan struct{}
	// inFlight holds the sends granted and not yet done; answered is set
	// by the first answer, headersSeen by the first with the server's
	// count.
	inFlight    map[uint64]bool
	answered    bool
	headersSeen bool
	// windowEnd is when the server's window surely ends, when an answer
	// showed that one of our requests opened it.
	windowEnd time.Time
	// server is the latest count the server sent.
	server serverCount
	// pausedUntil holds every send back after a 429; probing then admits
	// one request at a time until an answer arrives after the pause, so
	// that a server still throttling refuses one request, not a burst.
	pausedUntil time.Time
	probing     bool
	// seq numbers the sends.
	seq uint64
	// status is the server's latest reading, for RateLimit; statusSeq
	// the send it answered.
	status    RateLimitStatus
	statusSeq uint64
}

// rateLimit returns the server's latest rate-limit reading.
func (s *scheduler) rateLimit() RateLimitStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// sent is one send in the log; phantom sends stand for what a previous
// process may have sent before this one started.
type sent struct {
	at      time.Time
	seq     uint64
	class   Class
	phantom bool
}

// ticket is one granted send: the caller reports its answer with it.
type ticket struct {
	at  time.Time
	seq uint64
}

// serverCount is the server's count from one answer.
type serverCount struct {
	known     bool
	remaining int
	// seq is the send of the request it answered; until is when the
	// server's window has surely ended. pending counts the sends before
	// it still in flight when it arrived: the server may count them
	// after it.
	seq     uint64
	until   time.Time
	pending int
}

type waiter struct {
	class  Class
	yields bool
}

func newScheduler(cfg schedConfig) *scheduler {
	if cfg.yieldFloor == 0 {
		cfg.yieldFloor = max(1, int(math.Ceil(YieldShare*float64(cfg.budget-cfg.reserve))))
	}
	s := &scheduler{cfg: cfg, changed: make(chan struct{}), inFlight: map[uint64]bool{}}
	if cfg.cautious {
		// Assume the window before the start was full, spread evenly:
		// the first window then admits a send every window/budget.
		now := time.Now()
		step := cfg.window / time.Duration(max(cfg.budget, 1))
		for k := range cfg.budget {
			s.log = append(s.log, sent{at: now.Add(-cfg.window + time.Duration(k)*step), class: ClassStock, phantom: true})
		}
		s.nonHealth = cfg.budget
	}
	return s
}

// Wait blocks until a request of class may be sent, records it as sent now
// and returns its ticket and how long it waited. The caller must call done
// with the ticket once the request has an answer, or failed to get one.
// Wait gives up, recording nothing, when ctx is done.
func (s *scheduler) Wait(ctx context.Context, class Class, yields bool) (ticket, time.Duration, error) {
	w := &waiter{class: class, yields: yields}
	start, slept := time.Now(), false
	s.mu.Lock()
	s.waiters = append(s.waiters, w)
	for {
		if err := ctx.Err(); err != nil {
			s.remove(w)
			s.signal()
			s.mu.Unlock()
			return ticket{}, time.Since(start), err
		}
		now := time.Now()
		s.prune(now)
		if s.pick(now) == w {
			tk := s.grant(w, now)
			s.mu.Unlock()
			if !slept {
				return tk, 0, nil
			}
			return tk, now.Sub(start), nil
		}
		slept = true
		wake := s.nextChange(now)
		changed := s.changed
		s.mu.Unlock()
		var timer *time.Timer
		var fired <-chan time.Time
		if !wake.IsZero() {
			timer = time.NewTimer(wake.Sub(now))
			fired = timer.C
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
		case <-fired:
		case <-changed:
			if timer != nil {
				timer.Stop()
			}
		}
		s.mu.Lock()
	}
}

// done records the answer to the send of tk: its headers when it got an
// answer, nil when it did not.
func (s *scheduler) done(tk ticket, h http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inFlight, tk.seq)
	if h != nil {
		now := time.Now()
		s.answered = true
		s.observe(tk.seq, h, now)
		if !now.Before(s.pausedUntil) {
			s.probing = false
		}
	}
	s.signal()
}

// observe takes the server's count from an answer that arrived at now.
// An answer to a request sent before the count in force arrived, which
// says more requests remain, was counted earlier by the server and is
// dropped. s.mu must be held.
func (s *scheduler) observe(seq uint64, h http.Header, now time.Time) {
	rl := readRateLimit(h, now, PauseWindows*s.cfg.window)
	if !rl.hasRemaining {
		// No count, or one that cannot be true (negative, not a number,
		// above the limit): nothing is learnt of the server's window.
		return
	}
	remaining := rl.remaining
	first := !s.headersSeen
	s.headersSeen = true
	// The reading RateLimit reports: the latest by the server's count,
	// so that an answer to an earlier request that arrived late, which
	// says more requests remain, does not replace a newer one.
	if rl.hasLimit && (!s.status.Known || seq >= s.statusSeq || remaining <= s.status.Remaining) {
		s.status = RateLimitStatus{Known: true, Limit: rl.limit, Remaining: remaining, At: now}
		s.statusSeq = seq
	}
	if s.cfg.cautious && first {
		// The server's count replaces the assumption of a full window:
		// what others (a previous process of ours, another integration)
		// spent of it is taken as sent just now, so that this process
		// adds no more than its own budget to any window holding it.
		s.dropPhantoms()
		if rl.hasLimit {
			spent := min(rl.limit-remaining-1, s.cfg.budget-s.cfg.reserve)
			for range max(spent, 0) {
				s.log = append(s.log, sent{at: now, class: ClassStock, phantom: true})
				s.nonHealth++
			}
		}
	}
	// The server's window ends one window after it counted its first
	// request, at the latest one window after the answer: earlier when a
	// request of ours opened it (it left limit − 1) and a later answer
	// falls in the same window.
	until := now.Add(s.cfg.window)
	if rl.hasLimit && remaining == rl.limit-1 {
		s.windowEnd = until
	} else if now.Before(s.windowEnd) {
		until = s.windowEnd
	}
	if _, ok := headerValue(h, headerRetryAfter); ok && rl.retrySet && now.Add(rl.retry).Before(until) {
		until = now.Add(rl.retry)
	}
	if t := rl.reset; t.After(now) && t.Before(until) {
		until = t
	}
	if s.server.known && seq < s.server.seq && remaining > s.serverLeft() {
		return
	}
	pending := 0
	for q := range s.inFlight {
		if q < seq {
			pending++
		}
	}
	s.server = serverCount{known: true, remaining: remaining, seq: seq, until: until, pending: pending}
}

// dropPhantoms removes the assumed sends of a previous process. s.mu must
// be held.
func (s *scheduler) dropPhantoms() {
	kept := s.log[:0]
	for _, e := range s.log {
		if e.phantom {
			s.nonHealth--
			continue
		}
		kept = append(kept, e)
	}
	s.log = kept
}

// PauseUntil holds every send back until t (a 429's Retry-After), unless a
// longer pause is already in force, and then admits one request at a time
// until one is answered. Waiting health checks go first, so the first
// request after a pause is normally a health check probing the API.
func (s *scheduler) PauseUntil(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.After(s.pausedUntil) {
		s.pausedUntil = t
	}
	s.probing = true
	s.signal()
}

// signal wakes every waiter to look again. s.mu must be held.
func (s *scheduler) signal() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// grant records w's send at now. s.mu must be held.
func (s *scheduler) grant(w *waiter, now time.Time) ticket {
	s.remove(w)
	s.seq++
	s.log = append(s.log, sent{at: now, seq: s.seq, class: w.class})
	if w.class != ClassHealth {
		s.nonHealth++
		s.lastNormal = now
	}
	s.byClass[w.class]++
	s.inFlight[s.seq] = true
	s.signal()
	return ticket{at: now, seq: s.seq}
}

func (s *scheduler) remove(w *waiter) {
	for i, x := range s.waiters {
		if x == w {
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			return
		}
	}
}

// prune forgets the sends that left the window [now − window, now]. s.mu
// must be held.
func (s *scheduler) prune(now time.Time) {
	i := 0
	for i < len(s.log) && s.log[i].at.Before(now.Add(-s.cfg.window)) {
		e := s.log[i]
		if e.class != ClassHealth {
			s.nonHealth--
		}
		if !e.phantom {
			s.byClass[e.class]--
		}
		i++
	}
	if i > 0 {
		s.log = append(s.log[:0], s.log[i:]...)
	}
	if s.server.known && now.After(s.server.until) {
		s.server = serverCount{}
	}
}

// pick returns the waiter that may send at now: the first waiting health
// check that fits, else the first other waiter that fits; nil when none
// does. While stock comes first, a waiter that yields is passed over once
// its class has had its floor of the window. s.mu must be held.
func (s *scheduler) pick(now time.Time) *waiter {
	for _, health := range []bool{true, false} {
		for _, w := range s.waiters {
			if (w.class == ClassHealth) != health || s.held(w) {
				continue
			}
			if s.fits(w.class, now) {
				return w
			}
		}
	}
	return nil
}

// held reports whether w waits for stock: it yields, stock comes first,
// and its class has had its floor of the window. s.mu must be held.
func (s *scheduler) held(w *waiter) bool {
	return w.yields && s.stockFirst && w.class != ClassStock && w.class != ClassHealth &&
		s.byClass[w.class] >= s.cfg.yieldFloor
}

// setStockFirst puts stock first, or ends that.
func (s *scheduler) setStockFirst(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stockFirst != on {
		s.stockFirst = on
		s.signal()
	}
}

// fits reports whether a send of class fits every limit at now. s.mu must
// be held, and the log pruned to now.
func (s *scheduler) fits(class Class, now time.Time) bool {
	if now.Before(s.pausedUntil) || (s.probing && len(s.inFlight) > 0) {
		return false
	}
	if s.cfg.cautious && len(s.inFlight) > 0 && (!s.answered || (s.headersSeen && !s.server.known)) {
		// Nothing is known of the server's window: before the first
		// answer, or once the count of a server that sends one has
		// lapsed. One request at a time learns it.
		return false
	}
	if len(s.log) >= s.cfg.budget {
		return false
	}
	if class != ClassHealth {
		if s.nonHealth >= s.cfg.budget-s.cfg.reserve {
			return false
		}
		if class == ClassCatalog && s.cfg.catalogCap > 0 && s.byClass[ClassCatalog] >= s.cfg.catalogCap {
			return false
		}
		if !s.lastNormal.IsZero() && now.Sub(s.lastNormal) < s.cfg.spacing {
			return false
		}
	}
	if s.server.known {
		left := s.serverLeft()
		if class != ClassHealth {
			left -= s.healthDue(now)
		}
		if left <= 0 {
			return false
		}
	}
	return true
}

// serverLeft is what the server's count leaves: its remaining less what was
// sent since the request it answered, and less what was in flight before
// it, which the server may have counted after it. s.mu must be held.
func (s *scheduler) serverLeft() int {
	n := s.server.pending
	for i := len(s.log) - 1; i >= 0 && s.log[i].seq > s.server.seq; i-- {
		if !s.log[i].phantom {
			n++
		}
	}
	return s.server.remaining - n
}

// healthDue is how many health checks come before the server's window has
// surely ended, at most the reserve. s.mu must be held.
func (s *scheduler) healthDue(now time.Time) int {
	if s.cfg.healthInterval <= 0 {
		return 0
	}
	n := int(math.Ceil(float64(s.server.until.Sub(now)) / float64(s.cfg.healthInterval)))
	return min(max(n, 0), max(s.cfg.reserve, 1))
}

// nextChange returns when a waiter that does not fit now may fit without
// any answer arriving: a send leaving the window, the spacing, the pause
// or the server's window ending. Zero when only an answer can change
// anything. s.mu must be held.
func (s *scheduler) nextChange(now time.Time) time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if len(s.log) > 0 {
		consider(s.log[0].at.Add(s.cfg.window + time.Nanosecond))
	}
	consider(s.pausedUntil)
	if !s.lastNormal.IsZero() {
		consider(s.lastNormal.Add(s.cfg.spacing))
	}
	if s.server.known {
		consider(s.server.until.Add(time.Nanosecond))
	}
	return next
}
