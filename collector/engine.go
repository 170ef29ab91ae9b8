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

// Package collector keeps a budgeted, cached picture of one KartuStok company
// and exposes it to Prometheus.
//
// The data path is deliberately one-way: background loops in an Engine call
// the API through a budgeted client and publish immutable Snapshots; a
// Collector turns the latest Snapshot into metrics on each scrape. Nothing on
// the scrape path calls the API or waits for a refresh, so any number of
// scrapes costs the API nothing.
package collector

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

// Config configures an Engine. Every duration must be positive.
type Config struct {
	// HealthInterval is the period of GET /health; it is also the delay
	// before a failed catalog refresh is retried (doubling up to
	// CatalogInterval).
	HealthInterval time.Duration
	// CatalogInterval is the period of the company, categories, locators
	// and items refresh.
	CatalogInterval time.Duration
	// StockInterval is the wanted period of a full stock refresh; the plan
	// stretches it when the budget cannot afford it.
	StockInterval time.Duration
	// MaxStaleness is how long a locator's last good stock is exported
	// after its refreshes start failing.
	MaxStaleness time.Duration
	// Budget and Window are the client's request budget: the plan divides
	// Budget requests per Window between the loops.
	Budget int
	Window time.Duration
	// HealthReserve is how many requests of every window the client keeps
	// for health checks, and CatalogCap the most it lets the catalog send
	// in one (kartustok.Client.Shares): the plan that predicts the stock
	// cycle counts with them. Zero when the client keeps none, or sets no
	// cap.
	HealthReserve int
	CatalogCap    int
	// TokenExpiresAt is the token's expiry when /meta/company does not
	// report it; zero when unknown.
	TokenExpiresAt time.Time
	// Logger receives the engine's logs; nil discards them.
	Logger log.Logger
	// OnCatalog, when set, is called from the catalog loop after each
	// catalog refresh (successful or not) with the snapshot that refresh
	// published, so that data checked against the catalog, such as a
	// minimums file, can be checked again when the catalog changes. It
	// delays the next refresh while it runs, so it must be quick.
	OnCatalog func(*Snapshot)
}

func (c Config) validate() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"health interval", c.HealthInterval},
		{"catalog interval", c.CatalogInterval},
		{"stock interval", c.StockInterval},
		{"max staleness", c.MaxStaleness},
		{"budget window", c.Window},
	} {
		if d.v <= 0 {
			return fmt.Errorf("%s must be positive, got %v", d.name, d.v)
		}
	}
	if c.Budget < 1 {
		return fmt.Errorf("budget must be at least 1 request per window, got %d", c.Budget)
	}
	if c.HealthReserve < 0 || (c.HealthReserve > 0 && c.HealthReserve >= c.Budget) {
		return fmt.Errorf("health reserve must be in [0, budget %d), got %d", c.Budget, c.HealthReserve)
	}
	return nil
}

// Engine keeps a Snapshot of one company up to date with three background
// loops (health, catalog, stock) that share one request budget.
type Engine struct {
	api    API
	cfg    Config
	logger log.Logger
	snap   atomic.Pointer[Snapshot]

	// locatorsKnown is closed once the first locator list has arrived:
	// stock cannot be fetched before the engine knows the locators.
	locatorsKnown chan struct{}

	// mu serialises writers of snap and guards the fields below.
	mu sync.Mutex
	// tokenOK is closed while the token is neither known to be refused
	// nor unreadable; the catalog and stock loops wait on it so that a
	// refused token costs only the health checks, and an unreadable one
	// only their attempts to read it. gateOpen is whether it is closed.
	tokenOK  chan struct{}
	gateOpen bool
	// itemPages and locatorPages are the page counts of the last fetches,
	// the basis of the budget plan.
	itemPages        int
	locatorPages     map[kartustok.ID]int
	stretched        bool
	catalogStretched bool
	stockMeasured    bool
	staleWarned      bool
	zoneWarned       string
	modeWarned       string
	expiryWarned     string
	// scopesByCall holds the scopes some call has proved granted or
	// refused; the token's scope list in /meta/company fills in only the
	// others.
	scopesByCall map[string]bool
	// companyErr is why the last /meta/company call failed; noZoneWarned
	// is set once stock has warned that it runs without the company's
	// time zone.
	companyErr   error
	noZoneWarned bool
	// healthTried is closed once the first health check has an answer
	// (or failed): catalog and stock start after it, so that a new
	// process sends one request first and learns the server's count.
	healthTried chan struct{}
}

// New returns an engine that calls api. It does nothing until Run.
func New(api API, cfg Config) (*Engine, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = log.NewNopLogger()
	}
	e := &Engine{
		api:           api,
		cfg:           cfg,
		logger:        cfg.Logger,
		locatorsKnown: make(chan struct{}),
		tokenOK:       make(chan struct{}),
		locatorPages:  map[kartustok.ID]int{},
		scopesByCall:  map[string]bool{},
		healthTried:   make(chan struct{}),
	}
	close(e.tokenOK)
	e.gateOpen = true
	s := &Snapshot{Location: time.UTC, TokenExpiry: cfg.TokenExpiresAt}
	s.Sync[ResourceHealth] = SyncStatus{PlannedRequests: 1, Cycle: cfg.HealthInterval}
	for _, r := range []Resource{ResourceCompany, ResourceCategories, ResourceLocators, ResourceItems} {
		s.Sync[r] = SyncStatus{PlannedRequests: 1, Cycle: cfg.CatalogInterval}
	}
	s.Sync[ResourceStock] = SyncStatus{Cycle: cfg.StockInterval}
	e.snap.Store(s)
	return e, nil
}

// Snapshot returns the latest snapshot. It never blocks and never calls the
// API; the result must not be modified.
func (e *Engine) Snapshot() *Snapshot { return e.snap.Load() }

// Ready reports whether every active locator's stock has been fetched, i.e.
// whether /metrics shows the whole company.
func (e *Engine) Ready() bool { return e.snap.Load().Ready }

// MaxStaleness returns how long stock is exported after its last success.
func (e *Engine) MaxStaleness() time.Duration { return e.cfg.MaxStaleness }

// Budget returns the requests per window the plan divides.
func (e *Engine) Budget() (requests int, window time.Duration) {
	return e.cfg.Budget, e.cfg.Window
}

// Run runs the loops until ctx is cancelled.
func (e *Engine) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { e.healthLoop(ctx) })
	wg.Go(func() { e.catalogLoop(ctx) })
	wg.Go(func() { e.stockLoop(ctx) })
	wg.Wait()
}

// update publishes a new snapshot: f changes a shallow copy of the current
// one, so it must copy any map or slice before changing it.
func (e *Engine) update(f func(s *Snapshot)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := *e.snap.Load()
	f(&s)
	e.snap.Store(&s)
}

// finish records the end of one refresh of r that started at start.
func finish(s *Snapshot, r Resource, start time.Time, err error) {
	st := &s.Sync[r]
	st.LastDuration = time.Since(start)
	if err == nil {
		st.LastSuccess = time.Now()
	} else {
		st.Errors++
	}
}

// applyCall updates what the outcome of a call to endpoint says about the
// token: a success or a 403 means the API accepted it (a 403 that is not
// about the IP allowlist means it lacks the endpoint's scope), a 401 that
// it refused it. Other failures (5xx from a proxy, timeouts) say nothing
// about the token. Called with mu held.
func (e *Engine) applyCall(s *Snapshot, endpoint string, err error) {
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

// sleepUntil waits until t or until ctx is done; it reports whether the
// caller should go on.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (e *Engine) healthLoop(ctx context.Context) {
	logger := log.With(e.logger, "resource", ResourceHealth.String())
	first := true
	for {
		start := time.Now()
		_, err := e.api.Health(ctx)
		if ctx.Err() != nil {
			return
		}
		// A check that could not read the token sent nothing: kartustok_up
		// keeps saying what the API last answered.
		noToken := errors.Is(err, kartustok.ErrNoToken)
		e.update(func(s *Snapshot) {
			if !noToken {
				s.HealthKnown, s.Up = true, err == nil
			}
			e.applyCall(s, kartustok.EndpointHealth, err)
			finish(s, ResourceHealth, start, err)
		})
		if err != nil && !noToken {
			level.Error(logger).Log("msg", "Health check failed", "err", err)
		}
		if first {
			first = false
			close(e.healthTried)
		}
		if !sleepUntil(ctx, start.Add(e.cfg.HealthInterval)) {
			return
		}
	}
}

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
	var last time.Time // start of the last complete refresh
	for {
		if !e.waitToken(ctx) {
			return
		}
		start := time.Now()
		retrySoon := e.syncCatalog(ctx)
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
	for _, err := range failed {
		if transient(err) {
			return true
		}
	}
	return false
}

// applyCompany folds /meta/company into s. Called with mu held.
func (e *Engine) applyCompany(s *Snapshot, c kartustok.Company) {
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
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil || c.Timezone == "" {
		if e.zoneWarned != c.Timezone || e.zoneWarned == "" {
			e.zoneWarned = c.Timezone
			level.Warn(log.With(e.logger, "resource", ResourceCompany.String())).Log(
				"msg", "Unknown company time zone; computing the company's today in UTC",
				"timezone", c.Timezone)
		}
		loc = time.UTC
	}
	s.Location = loc
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
	e.updateReady(s)
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
	s.Items, s.itemIndex, s.ItemsKnown = out, index, true
	e.itemPages = max(1, info.Pages)
	s.Sync[ResourceItems].PlannedRequests = e.itemPages
}

// updateReady marks s ready once every active locator has stock. Readiness
// never goes back: a later failure shows in the sync metrics instead.
func (e *Engine) updateReady(s *Snapshot) {
	if s.Ready || !s.LocatorsKnown {
		return
	}
	for _, l := range s.Locators {
		if l.Active && s.Stock[l.ID] == nil {
			return
		}
	}
	s.Ready = true
	level.Info(e.logger).Log("msg", "First complete stock refresh done; ready", "locators", len(s.Stock))
}

func (e *Engine) stockLoop(ctx context.Context) {
	logger := log.With(e.logger, "resource", ResourceStock.String())
	if !e.afterFirstHealth(ctx) {
		return
	}
	select {
	case <-e.locatorsKnown:
	case <-ctx.Done():
		return
	}
	var last time.Time // start of the last complete pass
	for {
		if !e.waitToken(ctx) {
			return
		}
		start := time.Now()
		e.planStock(logger)
		e.syncStock(ctx, logger, start)
		if ctx.Err() != nil {
			return
		}
		e.measureCycle([]Resource{ResourceStock}, &last, start, e.cfg.StockInterval)
		// The next pass starts at the wanted interval, or at once when
		// this one took longer: the scheduler paces every page.
		if !sleepUntil(ctx, start.Add(e.cfg.StockInterval)) {
			return
		}
	}
}

// catalogResources are the resources one catalog refresh brings.
var catalogResources = []Resource{ResourceCompany, ResourceCategories, ResourceLocators, ResourceItems}

// measureCycle records that a refresh of rs which started at start is
// complete: the period of the last complete cycle is the time from the
// start of the one before it to start. It says once, at info, when that
// period is more than wanted by over 5 % (a cycle stretched by the budget),
// and when it is back.
func (e *Engine) measureCycle(rs []Resource, last *time.Time, start time.Time, wanted time.Duration) {
	prev := *last
	*last = start
	if prev.IsZero() {
		return
	}
	period := start.Sub(prev)
	e.update(func(s *Snapshot) {
		for _, r := range rs {
			s.Sync[r].Cycle = period
		}
		if rs[0] == ResourceStock {
			e.stockMeasured = true
		}
	})
	stretched := period > wanted+wanted/20
	e.mu.Lock()
	flag := &e.catalogStretched
	if rs[0] == ResourceStock {
		flag = &e.stretched
	}
	changed := stretched != *flag
	*flag = stretched
	e.mu.Unlock()
	if !changed {
		return
	}
	name := "Catalog"
	if rs[0] == ResourceStock {
		name = "Stock"
	}
	if stretched {
		p := e.currentPlan()
		level.Info(e.logger).Log("msg", name+" refresh stretched: a full refresh does not fit the wanted interval within the request budget",
			"wanted_cycle", wanted, "measured_cycle", period.Round(time.Second),
			"stock_requests_per_cycle", p.in.StockRequests, "catalog_requests_per_cycle", p.in.CatalogRequests,
			"budget", e.cfg.Budget, "window", e.cfg.Window, "health_reserve", e.cfg.HealthReserve, "catalog_cap", e.cfg.CatalogCap,
			"stock_requests_per_window", fmt.Sprintf("%.1f", p.StockPerWindow), "catalog_requests_per_window", fmt.Sprintf("%.1f", p.CatalogPerWindow))
		return
	}
	level.Info(e.logger).Log("msg", name+" refresh is back at the wanted interval", "wanted_cycle", wanted, "measured_cycle", period.Round(time.Second))
}

// plannedCycle is a plan with what it was made from.
type plannedCycle struct {
	plan
	in planInput
}

// currentPlan predicts the cycles from the page counts of the last fetches.
func (e *Engine) currentPlan() plannedCycle {
	s := e.snap.Load()
	e.mu.Lock()
	defer e.mu.Unlock()
	var requests int
	for _, l := range s.activeLocators() {
		requests += e.expectedPages(l.ID)
	}
	in := planInput{
		Budget:          e.cfg.Budget,
		Window:          e.cfg.Window,
		HealthReserve:   e.cfg.HealthReserve,
		CatalogCap:      e.cfg.CatalogCap,
		CatalogInterval: e.cfg.CatalogInterval,
		StockInterval:   e.cfg.StockInterval,
		CatalogRequests: 3 + max(1, e.itemPages),
		StockRequests:   requests,
	}
	return plannedCycle{makePlan(in), in}
}

// planStock publishes the requests the next stock pass needs, and the
// cycle the plan predicts until one has been measured; it warns once when
// that cycle is not shorter than the max staleness.
func (e *Engine) planStock(logger log.Logger) {
	p := e.currentPlan()
	e.update(func(s *Snapshot) {
		s.Sync[ResourceStock].PlannedRequests = p.in.StockRequests
		if !e.stockMeasured {
			s.Sync[ResourceStock].Cycle = p.Cycle
		}
		cycle := s.Sync[ResourceStock].Cycle
		if tooSlow := cycle >= e.cfg.MaxStaleness; tooSlow != e.staleWarned {
			e.staleWarned = tooSlow
			if tooSlow {
				level.Warn(logger).Log("msg", "The stock cycle is not shorter than --sync.max-staleness: stock series will vanish between refreshes; raise --sync.max-staleness or the budget",
					"cycle", cycle, "max_staleness", e.cfg.MaxStaleness)
			}
		}
	})
}

// syncStock fetches the stock of every active locator once, and swaps each
// locator's rows in whole when all its pages have arrived. The client's
// scheduler admits every page on its own.
func (e *Engine) syncStock(ctx context.Context, logger log.Logger, start time.Time) {
	snap := e.snap.Load()
	tz := snap.Location
	if snap.Company == nil {
		e.warnNoZone(logger)
	}
	failed := 0
	for _, l := range snap.activeLocators() {
		if e.tokenRefused() {
			failed++
			break
		}
		t0 := time.Now()
		today := t0.In(tz).Format(time.DateOnly)
		rows, info, err := e.api.StockSummary(ctx, kartustok.StockSummaryFilter{LocatorID: l.ID, DateFrom: today, DateTo: today})
		pages := info.Pages
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failed++
			e.update(func(s *Snapshot) {
				e.applyCall(s, kartustok.EndpointStockSummary, err)
				s.Sync[ResourceStock].Errors++
			})
			if !errors.Is(err, kartustok.ErrNoToken) {
				level.Error(logger).Log("msg", "Stock refresh of a locator failed; keeping its last good values", "locator_id", l.ID, "err", err)
			}
			if k := kartustok.KindOf(err); k == kartustok.KindUnauthorized || k == kartustok.KindForbidden || k == "" {
				// Every other locator would get the same answer; a failure
				// with no kind (the token file unreadable) sent no request
				// and would fail them all alike.
				break
			}
			continue
		}
		entries := stockEntries(l.ID, rows)
		logSkipped(log.With(logger, "locator_id", l.ID), kartustok.EndpointStockSummary, info.Invalid)
		e.update(func(s *Snapshot) {
			e.applyCall(s, kartustok.EndpointStockSummary, nil)
			e.locatorPages[l.ID] = max(1, pages)
			if !isActive(s.Locators, l.ID) {
				return // deactivated or removed while this fetch ran
			}
			s.Stock = maps.Clone(s.Stock)
			if s.Stock == nil {
				s.Stock = map[kartustok.ID]*LocatorStock{}
			}
			s.Stock[l.ID] = newLocatorStock(l.ID, time.Now(), entries, info.Invalid, s.Stock[l.ID], e.cfg.MaxStaleness)
			e.updateReady(s)
		})
		level.Debug(logger).Log("msg", "Locator stock refreshed", "locator_id", l.ID, "rows", len(entries), "pages", pages, "duration", time.Since(t0))
	}
	e.update(func(s *Snapshot) {
		st := &s.Sync[ResourceStock]
		st.LastDuration = time.Since(start)
		if failed == 0 {
			st.LastSuccess = time.Now()
		}
	})
}

// warnNoZone says, once, that stock is fetched without the company's time
// zone: its dates are then the UTC day, which in Asia/Jakarta is the wrong
// day for 7 hours of every day. The catalog loop keeps asking for the
// company on its schedule.
func (e *Engine) warnNoZone(logger log.Logger) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.noZoneWarned {
		return
	}
	e.noZoneWarned = true
	reason := "not fetched yet"
	if e.companyErr != nil {
		reason = e.companyErr.Error()
	}
	level.Warn(logger).Log("msg", "Fetching stock without the company time zone: the company's today is computed in UTC and is the wrong day for part of each day unless the company is in UTC; /meta/company (scope meta.read) is retried every catalog interval",
		"reason", reason)
}

// expectedPages is what fetching a locator's stock will cost: its page
// count last time; before its first fetch, the most any locator took, or
// else the item list's page count (a locator has at most one row per item,
// and both lists come 100 rows a page). Called with mu held.
func (e *Engine) expectedPages(id kartustok.ID) int {
	if n, ok := e.locatorPages[id]; ok {
		return n
	}
	most := 0
	for _, n := range e.locatorPages {
		most = max(most, n)
	}
	if most > 0 {
		return most
	}
	return max(1, e.itemPages)
}

func isActive(ls []kartustok.Locator, id kartustok.ID) bool {
	for _, l := range ls {
		if l.ID == id {
			return l.Active
		}
	}
	return false
}

// stockEntries reduces the rows of one locator to what is exported. Rows of
// another locator are dropped, and an item seen twice (rows shift between
// pages while stock moves) keeps its last row, so no series is duplicated.
func stockEntries(locator kartustok.ID, rows []kartustok.StockRow) []StockEntry {
	out := make([]StockEntry, 0, len(rows))
	index := make(map[kartustok.ID]int, len(rows))
	for _, r := range rows {
		if r.LocatorID != "" && r.LocatorID != locator {
			continue
		}
		en := StockEntry{ItemID: r.ItemID, OnHand: float64(r.EndingQty)}
		if r.MinimumQty != nil {
			en.Minimum, en.HasMinimum = float64(*r.MinimumQty), true
		}
		if i, ok := index[r.ItemID]; ok {
			out[i] = en
			continue
		}
		index[r.ItemID] = len(out)
		out = append(out, en)
	}
	return out
}

// newLocatorStock is the stock of a locator fetched at now: its entries,
// and for each item whose row was skipped its last good entry from prev,
// while that is no older than maxAge. When a skipped row's item could not
// be read, every item of prev without a row now is carried, since any of
// them may be the one.
func newLocatorStock(locator kartustok.ID, now time.Time, entries []StockEntry, invalid []kartustok.InvalidRow, prev *LocatorStock, maxAge time.Duration) *LocatorStock {
	ls := &LocatorStock{Fetched: now, Rows: entries}
	if len(invalid) == 0 {
		return ls
	}
	for _, r := range invalid {
		switch {
		case r.LocatorID != "" && r.LocatorID != locator:
			// Another locator's row, which stockEntries drops too.
		case r.ID == "":
			ls.Unkeyed = true
		case !slices.Contains(ls.Skipped, r.ID):
			ls.Skipped = append(ls.Skipped, r.ID)
		}
	}
	if prev == nil {
		return ls
	}
	have := make(map[kartustok.ID]bool, len(entries))
	for _, en := range entries {
		have[en.ItemID] = true
	}
	carry := func(en StockEntry, fetched time.Time) {
		if have[en.ItemID] || now.Sub(fetched) > maxAge || !ls.mayLack(en.ItemID) {
			return
		}
		have[en.ItemID] = true
		ls.Carried = append(ls.Carried, CarriedEntry{StockEntry: en, Fetched: fetched})
	}
	for _, en := range prev.Rows {
		carry(en, prev.Fetched)
	}
	for _, c := range prev.Carried {
		carry(c.StockEntry, c.Fetched)
	}
	return ls
}
