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
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

// afterFirstHealth waits until the first health check has been tried.
func (e *Engine) afterFirstHealth(ctx context.Context) bool {
	select {
	case <-e.healthTried:
		return true
	case <-ctx.Done():
		return false
	}
}

func (e *Engine) catalogLoop(ctx context.Context) {
	retry := e.cfg.HealthInterval
	if !e.afterFirstHealth(ctx) {
		return
	}
	// A catalogue of a saved state that is still fresh is refreshed at
	// its interval; the refreshes after the first yield to stock while
	// stock comes first (the first one brings the locators stock needs).
	yielding := kartustok.Yielding(ctx)
	if until := e.restoredCatalogUntil(); !until.IsZero() {
		ctx = yielding
		if !sleepUntil(ctx, until) {
			return
		}
	}
	var last time.Time // start of the last complete refresh
	for {
		if !e.waitToken(ctx) {
			return
		}
		start := time.Now()
		retrySoon := e.syncCatalog(ctx)
		ctx = yielding //nolint:fatcontext // made once, before the loop: nothing nests
		if !retrySoon {
			e.measureCycle(catalogResources, &last, start, e.cfg.CatalogInterval)
		}
		if ctx.Err() != nil {
			return
		}
		if e.cfg.OnCatalog != nil {
			e.cfg.OnCatalog(e.snap.Load())
		}
		next := e.cfg.CatalogInterval
		if retrySoon {
			next = min(retry, next)
			retry = min(2*retry, e.cfg.CatalogInterval)
		} else {
			retry = e.cfg.HealthInterval
		}
		if !sleepUntil(ctx, start.Add(next)) {
			return
		}
	}
}

// restoredCatalogUntil is when the catalogue of a saved state is due: the
// oldest last success of its resources and the interval; zero when it is
// due at once.
func (e *Engine) restoredCatalogUntil() time.Time {
	var until time.Time
	for _, r := range catalogResources {
		u := e.restoredUntil(r, e.cfg.CatalogInterval)
		if u.IsZero() {
			return time.Time{}
		}
		if until.IsZero() || u.Before(until) {
			until = u
		}
	}
	return until
}

// transient reports whether a failed call is worth retrying before the next
// regular refresh. 403 and 404 are not: they will not change by themselves.
func transient(err error) bool {
	switch kartustok.KindOf(err) {
	case kartustok.KindForbidden, kartustok.KindNotFound:
		return false
	}
	return true
}

// catalogStep runs one call of the catalog refresh and records its
// outcome; call returns the rows it skipped, and apply, run only on
// success, folds the result into the snapshot. The client's scheduler
// admits each request of the call on its own.
func (e *Engine) catalogStep(ctx context.Context, r Resource, endpoint string, call func() (kartustok.ListInfo, error), apply func(s *Snapshot)) error {
	start := time.Now()
	info, err := call()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	e.update(func(s *Snapshot) {
		e.applyCall(s, endpoint, err)
		if err == nil {
			apply(s)
		}
		finish(s, r, start, err)
	})
	logger := log.With(e.logger, "resource", r.String())
	switch {
	case errors.Is(err, kartustok.ErrNoToken):
		// Said once by setTokenLoaded.
	case err != nil:
		level.Error(logger).Log("msg", "Refresh failed", "err", err)
	default:
		logSkipped(logger, endpoint, info.Invalid)
	}
	return err
}

// logSkipped says, once per refresh, which rows of a list the API sent
// could not be used; kartustok_api_errors_total{reason="invalid_row"}
// counts them.
func logSkipped(logger log.Logger, endpoint string, invalid []kartustok.InvalidRow) {
	if len(invalid) == 0 {
		return
	}
	const shown = 3
	rows := make([]string, 0, shown)
	for _, r := range invalid[:min(shown, len(invalid))] {
		rows = append(rows, r.String())
	}
	level.Warn(logger).Log("msg", "Skipped rows the API sent that cannot be used; their last good values stay until they are older than --sync.max-staleness",
		"endpoint", endpoint, "skipped", len(invalid), "rows", strings.Join(rows, "; "))
}

// syncCatalog refreshes company, categories, locators and items in the
// API's recommended order. A failed step does not stop the others (a token
// may lack one scope only), except a refused token or cancellation. It
// reports whether a step failed in a way worth retrying soon.
func (e *Engine) syncCatalog(ctx context.Context) (retrySoon bool) {
	var failed []error
	steps := []func() error{
		func() error {
			var c kartustok.Company
			return e.catalogStep(ctx, ResourceCompany, kartustok.EndpointCompany,
				func() (_ kartustok.ListInfo, err error) {
					c, err = e.api.Company(ctx)
					e.mu.Lock()
					e.companyErr = err
					e.mu.Unlock()
					return kartustok.ListInfo{Pages: 1, Requests: 1}, err
				},
				func(s *Snapshot) { e.applyCompany(s, c) })
		},
		func() error {
			var cs []kartustok.Category
			var info kartustok.ListInfo
			return e.catalogStep(ctx, ResourceCategories, kartustok.EndpointItemCategories,
				func() (_ kartustok.ListInfo, err error) { cs, info, err = e.api.ItemCategories(ctx); return info, err },
				func(s *Snapshot) { applyCategories(s, cs, info.Invalid) })
		},
		func() error {
			var ls []kartustok.Locator
			var info kartustok.ListInfo
			return e.catalogStep(ctx, ResourceLocators, kartustok.EndpointLocators,
				func() (_ kartustok.ListInfo, err error) { ls, info, err = e.api.Locators(ctx); return info, err },
				func(s *Snapshot) { e.applyLocators(s, ls, info.Invalid) })
		},
		func() error {
			var items []kartustok.Item
			var info kartustok.ListInfo
			return e.catalogStep(ctx, ResourceItems, kartustok.EndpointItems,
				func() (_ kartustok.ListInfo, err error) {
					items, info, err = e.api.Items(ctx, kartustok.ItemFilter{})
					return info, err
				},
				func(s *Snapshot) { e.applyItems(s, items, info) })
		},
	}
	for _, step := range steps {
		err := step()
		if err == nil {
			continue
		}
		if ctx.Err() != nil || kartustok.KindOf(err) == kartustok.KindUnauthorized || errors.Is(err, kartustok.ErrNoToken) {
			return true
		}
		failed = append(failed, err)
	}
	return slices.ContainsFunc(failed, transient)
}

// applyCompany folds /meta/company into s. Called with mu held.
func (e *Engine) applyCompany(s *Snapshot, c kartustok.Company) {
	e.checkBinding(s, c.ID)
	if s.Company == nil || !reflect.DeepEqual(*s.Company, c) {
		s.CatalogVersion++
	}
	s.Company = &c
	s.TokenExpiry = e.cfg.TokenExpiresAt
	if c.Token != nil {
		switch {
		case c.Token.ExpiresAt != nil:
			s.TokenExpiry = *c.Token.ExpiresAt
		case c.Token.ExpiresAtRaw != "" && c.Token.ExpiresAtRaw != e.expiryWarned:
			// An expiry the client could not read is not "never
			// expires": say so, once per value, and keep the flag's.
			e.expiryWarned = c.Token.ExpiresAtRaw
			level.Warn(log.With(e.logger, "resource", ResourceCompany.String())).Log(
				"msg", "Cannot read the token expiry /meta/company reports; using --kartustok.token-expires-at instead",
				"expires_at", c.Token.ExpiresAtRaw, "token_expires_at_flag", flagExpiry(e.cfg.TokenExpiresAt))
		}
		// The scope list says in advance what the token may do (a scope
		// it omits is one the token lacks), but a call's answer is what
		// the API actually did: the list only fills in scopes no call has
		// answered for yet, so that the two cannot take turns setting the
		// metric should they disagree.
		if c.Token.Scopes != nil {
			granted := map[string]bool{}
			for _, sc := range c.Token.Scopes {
				granted[sc] = true
			}
			for _, sc := range []string{kartustok.ScopeMeta, kartustok.ScopeItem, kartustok.ScopeCategory, kartustok.ScopeLocator, kartustok.ScopeStock} {
				if !e.scopesByCall[sc] {
					setScope(s, sc, granted[sc])
				}
			}
		}
	}
	switch c.MinimumStockMode {
	case kartustok.MinimumStockInactive, kartustok.MinimumStockPerWarehouse, kartustok.MinimumStockUnion:
	default:
		if e.modeWarned != c.MinimumStockMode || e.modeWarned == "" {
			e.modeWarned = c.MinimumStockMode
			level.Warn(log.With(e.logger, "resource", ResourceCompany.String())).Log(
				"msg", "Unknown minimum stock mode; exporting both the per-warehouse and the item minimums the API reports",
				"minimum_stock_mode", c.MinimumStockMode)
		}
	}
	e.applyCompanyZone(s, c.Timezone)
}

// flagExpiry describes --kartustok.token-expires-at for a log line.
func flagExpiry(t time.Time) string {
	if t.IsZero() {
		return "unset"
	}
	return t.Format(time.RFC3339)
}

// applyCategories folds /item-categories into s. The names of categories
// whose rows were skipped are kept from the last refresh.
func applyCategories(s *Snapshot, cs []kartustok.Category, invalid []kartustok.InvalidRow) {
	names := make(map[kartustok.ID]string, len(cs))
	for _, c := range cs {
		names[c.ID] = c.Name
	}
	keep := keepSkipped(invalid)
	for id, name := range s.CategoryNames {
		if _, ok := names[id]; !ok && keep(id) {
			names[id] = name
		}
	}
	if s.CategoryNames == nil || !maps.Equal(names, s.CategoryNames) {
		s.CatalogVersion++
	}
	s.CategoryNames = names
}

// keepSkipped returns whether an ID missing from a list may be missing
// only because its row was skipped: its row was, or a skipped row's ID
// could not be read.
func keepSkipped(invalid []kartustok.InvalidRow) func(kartustok.ID) bool {
	if len(invalid) == 0 {
		return func(kartustok.ID) bool { return false }
	}
	ids := make(map[kartustok.ID]bool, len(invalid))
	for _, r := range invalid {
		if r.ID == "" {
			return func(kartustok.ID) bool { return true }
		}
		ids[r.ID] = true
	}
	return func(id kartustok.ID) bool { return ids[id] }
}

// applyLocators folds /locators into s: duplicates are dropped (the first
// wins) so no series is ever emitted twice, and the stock of locators that
// are gone or inactive is dropped. A locator whose row was skipped is not
// gone: it keeps its last good entry. Called with mu held.
func (e *Engine) applyLocators(s *Snapshot, ls []kartustok.Locator, invalid []kartustok.InvalidRow) {
	seen := make(map[kartustok.ID]bool, len(ls))
	out := make([]kartustok.Locator, 0, len(ls))
	active := map[kartustok.ID]bool{}
	add := func(l kartustok.Locator) {
		if seen[l.ID] {
			return
		}
		seen[l.ID] = true
		out = append(out, l)
		if l.Active {
			active[l.ID] = true
		}
	}
	for _, l := range ls {
		add(l)
	}
	keep := keepSkipped(invalid)
	for _, l := range s.Locators {
		if keep(l.ID) {
			add(l)
		}
	}
	if !s.LocatorsKnown || !slices.Equal(out, s.Locators) {
		s.CatalogVersion++
	}
	s.Locators, s.LocatorsKnown = out, true
	if len(out) > 0 && len(active) == 0 {
		// Ready at once with no stock at all: say why, since it may as
		// well be an is_active the API does not send as we assume.
		level.Warn(e.logger).Log("msg", "Every locator is inactive, so no stock is fetched or exported", "locators", len(out))
	}
	if len(s.Stock) > 0 {
		stock := maps.Clone(s.Stock)
		maps.DeleteFunc(stock, func(id kartustok.ID, _ *LocatorStock) bool { return !active[id] })
		s.Stock = stock
	}
	maps.DeleteFunc(e.locatorPages, func(id kartustok.ID, _ int) bool { return !active[id] })
	select {
	case <-e.locatorsKnown:
	default:
		close(e.locatorsKnown)
	}
	e.updateReady(s, time.Now())
}

// applyItems folds /items into s, dropping duplicate IDs. An item whose
// row was skipped keeps its last good entry.
func (e *Engine) applyItems(s *Snapshot, items []kartustok.Item, info kartustok.ListInfo) {
	index := make(map[kartustok.ID]int, len(items))
	out := make([]kartustok.Item, 0, len(items))
	add := func(it kartustok.Item) {
		if _, ok := index[it.ID]; ok {
			return
		}
		index[it.ID] = len(out)
		out = append(out, it)
	}
	for _, it := range items {
		add(it)
	}
	keep := keepSkipped(info.Invalid)
	for _, it := range s.Items {
		if keep(it.ID) {
			add(it)
		}
	}
	if !s.ItemsKnown || !reflect.DeepEqual(out, s.Items) {
		s.CatalogVersion++
	}
	s.Items, s.ItemsKnown = out, true
	e.itemPages = max(1, info.Pages)
	s.Sync[ResourceItems].PlannedRequests = e.itemPages
}
