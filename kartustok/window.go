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
	"slices"
	"time"
)

// WindowState is what a client knows of the rate-limit window when it is
// asked: the times of its own sends in the last window and the end of a 429
// pause. A process that keeps it across a restart gives it to its next
// client (WithWindowState), which then counts those sends instead of
// assuming that its predecessor filled the window.
type WindowState struct {
	// Sends are the client's sends of the last window, oldest first.
	Sends []time.Time `json:"sends,omitempty"`
	// PausedUntil is when a 429's pause ends; zero when none is in force.
	PausedUntil time.Time `json:"paused_until,omitzero"`
}

// windowSeed is a predecessor's window state for a new client.
type windowSeed struct {
	ws       WindowState
	complete bool
}

// WithWindowState starts the client from the window state a predecessor
// left (Client.WindowState). complete says that the state was taken when
// the predecessor stopped sending (a clean shutdown): its sends then
// replace a cautious start's assumption that the window was full.
// Otherwise only a 429 pause still in force is kept.
func WithWindowState(ws WindowState, complete bool) Option {
	return func(c *Client) { c.seed = &windowSeed{ws: ws, complete: complete} }
}

// WindowState returns the client's sends of the last window and its pause.
func (c *Client) WindowState() WindowState { return c.sched.windowState() }

// windowState returns the sends of the last window and the pause.
func (s *scheduler) windowState() WindowState {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.prune(now)
	var ws WindowState
	for _, e := range s.log {
		if !e.phantom {
			ws.Sends = append(ws.Sends, e.at)
		}
	}
	if s.pausedUntil.After(now) {
		ws.PausedUntil = s.pausedUntil
	}
	return ws
}

// seed starts the scheduler from a predecessor's window state. When the
// state is complete (it was taken when the predecessor stopped sending),
// its sends of the last window replace the assumption of a cautious start
// that the window was full; otherwise (the predecessor may have sent more
// after the state was taken, and was killed) the assumption stays. A pause
// still in force is kept either way, at most PauseWindows windows from now:
// nothing read from outside the process is trusted further.
func (s *scheduler) seed(ws WindowState, complete bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if p := ws.PausedUntil; p.After(now) {
		if most := now.Add(PauseWindows * s.cfg.window); p.After(most) {
			p = most
		}
		s.pausedUntil = p
		s.probing = true
	}
	if !complete || !s.cfg.cautious {
		return
	}
	s.dropPhantoms()
	sends := slices.Clone(ws.Sends)
	slices.SortFunc(sends, time.Time.Compare)
	for _, at := range sends {
		// A send in the future, or older than the window, says nothing
		// of the window now.
		if at.After(now) || at.Before(now.Add(-s.cfg.window)) {
			continue
		}
		s.log = append(s.log, sent{at: at, class: ClassStock, phantom: true})
		s.nonHealth++
	}
	// The log is by time, and the predecessor's sends precede all of ours.
	slices.SortStableFunc(s.log, func(a, b sent) int { return a.at.Compare(b.at) })
}

// SetStockFirst puts stock first, or ends that: while it does, requests
// made with a Yielding context wait for stock beyond YieldShare of every
// window for their class, so that stock is not held back by them and they
// still move on.
func (c *Client) SetStockFirst(on bool) { c.sched.setStockFirst(on) }

// WithCautiousStart sets whether a new client assumes the server's window
// may already be full, as it is after a restart of a process that used the
// same token (default true): it sends one request at a time until the
// first answer, adopts the count the server sends, and without one spreads
// the first window's requests over the window; it also spaces requests
// other than health checks window ÷ (4 × budget) apart, so that no start
// sends a burst. The connectivity check, which sends a few requests once,
// and tests of a single call turn it off.
func WithCautiousStart(on bool) Option { return func(c *Client) { c.cautious = on } }
