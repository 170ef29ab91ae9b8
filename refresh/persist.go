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

// Restarts that lose nothing: the engine saves what it learned (see
// state.go for the file) after each stock pass, at most every
// minSaveInterval, and when it stops; a new engine starts from it. Stock
// younger than the max staleness is exported at once with its true age,
// /-/ready answers as soon as it is complete and fresh, the catalogue and
// the flow wait for their next interval, and the first stock pass counts
// each warehouse's movements and reads only those that changed while the
// exporter was down.

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-kit/log/level"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

// minSaveInterval is the least time between two saves: a small company's
// passes end every few seconds, and a save of a large one takes some.
const minSaveInterval = 5 * time.Second

// StateStatus is the bookkeeping of the state file.
type StateStatus struct {
	// Enabled is set when the engine keeps a state file.
	Enabled bool
	// Loaded is set when the engine started from a saved state, saved at
	// LoadedSavedAt.
	Loaded        bool
	LoadedSavedAt time.Time
	// LastSave is when the last save succeeded, Bytes the size of the
	// file it wrote; SaveErrors counts the saves that failed.
	LastSave   time.Time
	Bytes      int64
	SaveErrors uint64
}

// State is a state file read at start, for a new engine (Config.State)
// and its client (WindowState).
type State struct {
	hdr   stateHeader
	saved *savedState
}

// LoadState reads the state the engine saved at path for the company at
// url (the client's base URL). A missing file is ErrNoState; a file of
// another company or version, or one truncated or corrupted, is an error
// that says which, and is not used: the engine starts cold.
func LoadState(path, url string) (*State, error) {
	removeStaleTemps(path)
	hdr, st, err := readState(path, url)
	if err != nil {
		return nil, err
	}
	return &State{hdr: hdr, saved: st}, nil
}

// removeStaleTemps removes the temporary files of saves of path that a
// kill cut short (see writeState): no other process saves this company's
// state meanwhile. The directory is listed rather than globbed, so that a
// directory whose name holds *, ? or [ is cleaned too, and no other is.
func removeStaleTemps(path string) {
	dir := filepath.Dir(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := "." + filepath.Base(path) + ".tmp-"
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) && e.Type().IsRegular() {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// SavedAt is when the state was saved.
func (s *State) SavedAt() time.Time { return s.hdr.SavedAt }

// WindowState is what the client that saved the state knew of the
// rate-limit window, and whether the state was saved by a clean shutdown,
// when its record of the requests sent is complete.
func (s *State) WindowState() (kartustok.WindowState, bool) {
	return s.saved.RateLimit, s.hdr.Clean
}

// restore sets up a new engine from a loaded state. Called from New.
func (e *Engine) restore(s *Snapshot, st *State) {
	now := time.Now()
	sv := st.saved
	if st.hdr.SavedAt.After(now.Add(time.Minute)) {
		// A state from the future: its times cannot be trusted.
		level.Warn(e.logger).Log("msg", "Not using the saved state: it says it was saved in the future; this machine's clock may have moved back",
			"file", e.cfg.StatePath, "saved_at", st.hdr.SavedAt)
		return
	}
	e.boundCompany = st.hdr.CompanyID
	s.Company = sv.Company
	if sv.HealthOffset != nil {
		e.healthZone = fixedZone(*sv.HealthOffset)
	}
	if sv.Company != nil {
		e.applyCompanyZone(s, sv.Company.Timezone)
	}
	s.CategoryNames = sv.CategoryNames
	s.Locators, s.LocatorsKnown = sv.Locators, sv.LocatorsKnown
	s.Items, s.ItemsKnown = sv.Items, sv.ItemsKnown
	s.Stock, s.Flow = sv.Stock, e.cfg.collected(sv.Flow)
	// Entries read "in the future" by a clock that moved back are as old
	// as now, never younger.
	for _, ls := range s.Stock {
		ls.Fetched = earlier(ls.Fetched, now)
	}
	s.TokenKnown, s.TokenValid = sv.TokenKnown, sv.TokenValid
	s.Scopes = sv.Scopes
	if !sv.TokenExpiry.IsZero() {
		s.TokenExpiry = sv.TokenExpiry
	}
	for r := range NumResources {
		if r == ResourceFlow && !e.cfg.FlowRefresh() {
			continue // no flow refresh runs: none is reported
		}
		st := sv.Sync[r]
		s.Sync[r].LastSuccess = st.LastSuccess
		if st.Cycle > 0 {
			s.Sync[r].Cycle = st.Cycle
		}
		if st.PlannedRequests > 0 {
			s.Sync[r].PlannedRequests = st.PlannedRequests
		}
	}
	s.CatalogVersion++
	e.itemPages = sv.ItemPages
	if sv.LocatorPages != nil {
		e.locatorPages = sv.LocatorPages
	}
	if sv.FlowPages != nil {
		e.flowPages = sv.FlowPages
	}
	if sv.ScopesByCall != nil {
		e.scopesByCall = sv.ScopesByCall
	}
	if s.LocatorsKnown {
		close(e.locatorsKnown)
	}
	e.syncGate(s)
	s.State.Loaded, s.State.LoadedSavedAt = true, st.hdr.SavedAt
	e.updateReady(s, now)
	level.Info(e.logger).Log("msg", "Started from the saved state", "file", e.cfg.StatePath,
		"saved_at", st.hdr.SavedAt.UTC().Format(time.RFC3339), "clean_shutdown", st.hdr.Clean,
		"locators", len(s.Stock), "ready", s.Ready)
}

// earlier returns the earlier of two times.
func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// fixedZone is the zone of a UTC offset in seconds, named as offsetZone
// names it.
func fixedZone(offset int) *time.Location {
	return time.FixedZone("UTC"+time.Unix(0, 0).In(time.FixedZone("", offset)).Format("-07:00"), offset)
}

// checkBinding drops what a saved state held of another company, once
// /meta/company has told this one's ID: the URL the file was bound to then
// served another company. Called with mu held.
func (e *Engine) checkBinding(s *Snapshot, id kartustok.ID) {
	if e.boundCompany == "" || e.boundCompany == id {
		e.boundCompany = ""
		return
	}
	level.Error(e.logger).Log("msg", "The saved state was of another company than the API serves now; dropping its stock and flow",
		"file", e.cfg.StatePath, "saved_company_id", e.boundCompany, "company_id", id)
	e.boundCompany = ""
	s.Stock, s.Flow, s.Ready = nil, nil, false
	clear(e.locatorPages)
	clear(e.flowPages)
}

// windowStater is a client that tells what it knows of the rate-limit
// window: *kartustok.Client.
type windowStater interface {
	WindowState() kartustok.WindowState
}

// requestSave asks the save loop for a save, without waiting.
func (e *Engine) requestSave() {
	if e.cfg.StatePath == "" {
		return
	}
	select {
	case e.saveNow <- struct{}{}:
	default:
	}
}

// saveLoop saves the state when asked, at most every minSaveInterval,
// until ctx is done; the final save is Run's, once every loop has stopped.
func (e *Engine) saveLoop(ctx context.Context) {
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.saveNow:
		}
		if !sleepUntil(ctx, last.Add(minSaveInterval)) {
			return
		}
		last = time.Now()
		e.save(false)
	}
}

// save writes the state file from the latest snapshot; clean says that no
// request will follow (a shutdown). A failure is counted and logged, and
// changes nothing else: the exporter goes on from memory.
func (e *Engine) save(clean bool) {
	s := e.snap.Load()
	sv := &savedState{
		Company: s.Company, CategoryNames: s.CategoryNames,
		Locators: s.Locators, LocatorsKnown: s.LocatorsKnown,
		Items: s.Items, ItemsKnown: s.ItemsKnown,
		Stock: s.Stock, Flow: s.Flow,
		TokenKnown: s.TokenKnown, TokenValid: s.TokenValid, Scopes: s.Scopes, TokenExpiry: s.TokenExpiry,
	}
	for r := range NumResources {
		sv.Sync[r] = savedStatus{LastSuccess: s.Sync[r].LastSuccess, Cycle: s.Sync[r].Cycle, PlannedRequests: s.Sync[r].PlannedRequests}
	}
	e.mu.Lock()
	sv.ItemPages = e.itemPages
	sv.LocatorPages = maps.Clone(e.locatorPages)
	sv.FlowPages = maps.Clone(e.flowPages)
	sv.ScopesByCall = maps.Clone(e.scopesByCall)
	if e.healthZone != nil {
		_, off := time.Unix(0, 0).In(e.healthZone).Zone()
		sv.HealthOffset = &off
	}
	var companyID kartustok.ID
	if s.Company != nil && e.boundCompany == "" {
		companyID = s.Company.ID
	}
	e.mu.Unlock()
	if ws, ok := e.api.(windowStater); ok {
		sv.RateLimit = ws.WindowState()
	}
	hdr := stateHeader{URL: e.cfg.StateURL, CompanyID: companyID, SavedAt: time.Now().UTC(), Clean: clean}
	start := time.Now()
	size, err := writeState(e.cfg.StatePath, hdr, sv)
	e.update(func(s *Snapshot) {
		if err != nil {
			s.State.SaveErrors++
			return
		}
		s.State.LastSave, s.State.Bytes = hdr.SavedAt, size
	})
	e.mu.Lock()
	// A failure is said when saving stops working, and again only once it
	// has worked in between.
	warn := err != nil && e.saveErr == nil
	back := err == nil && e.saveErr != nil
	e.saveErr = err
	e.mu.Unlock()
	switch {
	case warn:
		level.Error(e.logger).Log("msg", "Cannot save the state; exporting goes on from memory, and a restart starts cold", "file", e.cfg.StatePath, "err", err)
	case back:
		level.Info(e.logger).Log("msg", "The state is saved again", "file", e.cfg.StatePath)
	}
	level.Debug(e.logger).Log("msg", "State saved", "file", e.cfg.StatePath, "bytes", size, "duration", time.Since(start), "clean", clean)
}
