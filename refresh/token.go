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

package refresh

import (
	"context"
	"errors"
	"maps"

	"github.com/go-kit/log/level"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

// applyCall updates what the outcome of a call to endpoint says about the
// token: a success or a 403 means the API accepted it (a 403 that is not
// about the IP allowlist means it lacks the endpoint's scope), a 401 that
// it refused it. Other failures (5xx from a proxy, timeouts) say nothing
// about the token. Called with mu held.
func (e *Engine) applyCall(s *Snapshot, endpoint string, err error) {
	if err != nil {
		e.failed.Store(true)
	}
	if errors.Is(err, kartustok.ErrNoToken) {
		// Nothing was sent: the API said nothing about the token.
		e.setTokenLoaded(s, false, err)
		return
	}
	e.setTokenLoaded(s, true, nil)
	var ke *kartustok.Error
	switch {
	case err == nil:
		e.setTokenValid(s, true)
		e.scopeByCall(s, endpoint, true)
	case !errors.As(err, &ke):
	case ke.Kind == kartustok.KindUnauthorized:
		e.setTokenValid(s, false)
	case ke.Kind == kartustok.KindForbidden:
		e.setTokenValid(s, true)
		if ke.Forbidden != kartustok.ForbiddenIP {
			e.scopeByCall(s, endpoint, false)
		}
	}
}

// setTokenValid records the token's state and opens or closes the gate of
// the catalog and stock loops. Called with mu held.
func (e *Engine) setTokenValid(s *Snapshot, valid bool) {
	wasValid := !s.TokenKnown || s.TokenValid
	s.TokenKnown, s.TokenValid = true, valid
	switch {
	case valid && !wasValid:
		level.Info(e.logger).Log("msg", "The API accepts the token again; resuming catalog and stock refreshes")
	case !valid && wasValid:
		level.Error(e.logger).Log("msg", "The API refused the token (401); catalog and stock refreshes wait until a health check succeeds")
	}
	e.syncGate(s)
}

// setTokenLoaded records whether the last call could read the token; err
// says why it could not. Called with mu held.
func (e *Engine) setTokenLoaded(s *Snapshot, loaded bool, err error) {
	was := !s.TokenLoadKnown || s.TokenLoaded
	s.TokenLoadKnown, s.TokenLoaded = true, loaded
	switch {
	case loaded && !was:
		level.Info(e.logger).Log("msg", "The API token can be read again; resuming requests")
	case !loaded && was:
		level.Error(e.logger).Log("msg", "Cannot read the API token; no request is sent until a health check can read it", "err", err)
	}
	e.syncGate(s)
}

// syncGate opens the gate of the catalog and stock loops while the token
// is readable and not refused, and closes it otherwise. Called with mu held.
func (e *Engine) syncGate(s *Snapshot) {
	open := (!s.TokenKnown || s.TokenValid) && (!s.TokenLoadKnown || s.TokenLoaded)
	if open == e.gateOpen {
		return
	}
	e.gateOpen = open
	if open {
		close(e.tokenOK)
	} else {
		e.tokenOK = make(chan struct{})
	}
}

// scopeByCall records what a call to endpoint proved about its scope.
// Called with mu held.
func (e *Engine) scopeByCall(s *Snapshot, endpoint string, granted bool) {
	scope := kartustok.ScopeFor(endpoint)
	if scope == "" {
		return
	}
	e.scopesByCall[scope] = true
	setScope(s, scope, granted)
}

func setScope(s *Snapshot, scope string, granted bool) {
	if scope == "" {
		return
	}
	if v, ok := s.Scopes[scope]; ok && v == granted {
		return
	}
	s.Scopes = maps.Clone(s.Scopes)
	if s.Scopes == nil {
		s.Scopes = map[string]bool{}
	}
	s.Scopes[scope] = granted
}

// tokenGate returns a channel that is closed while the token is usable.
func (e *Engine) tokenGate() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tokenOK
}

func (e *Engine) waitToken(ctx context.Context) bool {
	select {
	case <-e.tokenGate():
		return true
	case <-ctx.Done():
		return false
	}
}

func (e *Engine) tokenRefused() bool {
	select {
	case <-e.tokenGate():
		return false
	default:
		return true
	}
}
