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

// Package refresh keeps a cached picture of one KartuStok company up to
// date.
//
// An Engine runs four background loops (health, catalog, stock and flow)
// that call the API through the client, whose scheduler admits every
// request within the budget, and publishes each change as a new immutable
// Snapshot. The collector package turns the latest Snapshot into metrics;
// nothing on the scrape path calls the API or waits for a refresh.
package refresh

import (
	"context"
	"fmt"
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
	// FullStockInterval is the longest a locator's stock goes without
	// being read in full. Between full reads, a stock pass first asks how
	// many movements the locator has today (one request) and reads its
	// stock again only when that changed: a back-dated or voided document
	// changes a balance without a movement dated today, which only a full
	// read sees. Zero, or not more than StockInterval, reads every locator
	// in full on every pass.
	FullStockInterval time.Duration
	// FlowInterval is the period of the flow refresh: each locator's
	// in and out over the last 30 days and its movements of the day by
	// transaction type. Zero disables it, as does turning both the flow
	// and the movements collectors off (Off).
	FlowInterval time.Duration
	// Off names the collectors turned off.
	Off Collectors
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
	// StatePath is the file the engine keeps its state in across
	// restarts (see persist.go); empty keeps none. StateURL binds it to
	// the company: the client's base URL. State is the state a previous
	// engine saved there, read with LoadState; nil starts cold.
	StatePath string
	StateURL  string
	State     *State
	// OnCatalog, when set, is called from the catalog loop after each
	// catalog refresh (successful or not) with the snapshot that refresh
	// published, so that data checked against the catalog, such as a
	// minimums file, can be checked again when the catalog changes. It
	// delays the next refresh while it runs, so it must be quick.
	OnCatalog func(*Snapshot)
}

// Validate reports every setting of c that a user should not ask for, each
// in terms of the exporter's flag that sets it (the fields map one to one
// onto the --sync.* flags), with the fix. New does not call it: a test may
// run the loops back to back.
func (c Config) Validate() []error {
	var problems []error
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"sync.health-interval", c.HealthInterval},
		{"sync.catalog-interval", c.CatalogInterval},
		{"sync.stock-interval", c.StockInterval},
		{"sync.max-staleness", c.MaxStaleness},
	} {
		if d.v < time.Second {
			problems = append(problems, fmt.Errorf("--%s must be at least 1s, got %s", d.flag, d.v))
		}
	}
	if c.StockInterval >= c.MaxStaleness && c.StockInterval >= time.Second && c.MaxStaleness >= time.Second {
		problems = append(problems, fmt.Errorf("--sync.stock-interval %s must be shorter than --sync.max-staleness %s, or every stock series vanishes for part of each cycle: lower --sync.stock-interval or raise --sync.max-staleness", c.StockInterval, c.MaxStaleness))
	}
	switch {
	case c.FullStockInterval < 0:
		problems = append(problems, fmt.Errorf("--sync.full-stock-interval must not be negative, got %s", c.FullStockInterval))
	case c.cheapRefreshes() && c.FullStockInterval >= c.MaxStaleness:
		problems = append(problems, fmt.Errorf("--sync.full-stock-interval %s must be shorter than --sync.max-staleness %s, or an unchanged warehouse's stock would expire between its full reads", c.FullStockInterval, c.MaxStaleness))
	}
	if c.FlowInterval != 0 && c.FlowInterval < time.Minute {
		problems = append(problems, fmt.Errorf("--sync.flow-interval must be 0 (off) or at least 1m, got %s", c.FlowInterval))
	}
	return problems
}

// check refuses what the engine cannot run: a duration that is not
// positive, a budget of no request, a health reserve outside the budget.
func (c Config) check() error {
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
	if c.FullStockInterval < 0 || c.FlowInterval < 0 {
		return fmt.Errorf("full stock and flow intervals must not be negative, got %v and %v", c.FullStockInterval, c.FlowInterval)
	}
	if c.Budget < 1 {
		return fmt.Errorf("budget must be at least 1 request per window, got %d", c.Budget)
	}
	if c.HealthReserve < 0 || (c.HealthReserve > 0 && c.HealthReserve >= c.Budget) {
		return fmt.Errorf("health reserve must be in [0, budget %d), got %d", c.Budget, c.HealthReserve)
	}
	return nil
}

// cheapRefreshes reports whether stock passes between full reads skip the
// locators that did not change.
func (c Config) cheapRefreshes() bool { return c.FullStockInterval > c.StockInterval }

// Engine keeps a Snapshot of one company up to date with four background
// loops (health, catalog, stock, flow) that share one request budget.
type Engine struct {
	api    API
	cfg    Config
	logger log.Logger
	snap   atomic.Pointer[Snapshot]
	// failed is set once a call has failed after the client's retries.
	failed atomic.Bool

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
	itemPages    int
	locatorPages map[kartustok.ID]int
	// flowPages are the page counts of the last 30-day flow reads.
	flowPages map[kartustok.ID]int
	// dayRead holds the locators whose last 30-day read could not stand
	// for a full read: their next one reads the day.
	dayRead map[kartustok.ID]bool
	// stretched is, per resource, whether its last cycle took longer than
	// wanted.
	stretched [NumResources]bool
	// countsOff is set while the movement counts that spare unchanged
	// locators a full read are unavailable (no meta.total, or refused);
	// they are asked again from countsRetry on.
	countsOff   bool
	countsRetry time.Time
	// countsPlanned is set while the plan finds that counts can spare
	// reads (countsPay).
	countsPlanned bool
	stockMeasured bool
	staleWarned   bool
	// companyZone is set while /meta/company names a zone that loads;
	// healthZone is the UTC offset of the last time /health reported;
	// zoneWarned is the zone situation last logged, so that it is logged
	// once per change.
	companyZone  bool
	healthZone   *time.Location
	zoneWarned   string
	modeWarned   string
	expiryWarned string
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
	// firstPass is closed when the first stock pass has ended, successful
	// or not; the flow refresh starts after it.
	firstPass     chan struct{}
	firstPassOnce sync.Once
	// boundCompany is the company ID of the saved state the engine
	// started from, until /meta/company confirms it (checkBinding).
	boundCompany kartustok.ID
	// saveNow asks the save loop for a save; saveErr is the last save's
	// failure, so that a run of them is logged once.
	saveNow chan struct{}
	saveErr error
}

// New returns an engine that calls api. It does nothing until Run. It
// refuses a Config it cannot run; Validate says what else a user should not
// ask for.
func New(api API, cfg Config) (*Engine, error) {
	if err := cfg.check(); err != nil {
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
		firstPass:     make(chan struct{}),
		flowPages:     map[kartustok.ID]int{},
		dayRead:       map[kartustok.ID]bool{},
		saveNow:       make(chan struct{}, 1),
	}
	close(e.tokenOK)
	e.gateOpen = true
	s := &Snapshot{TokenExpiry: cfg.TokenExpiresAt, Off: cfg.Off}
	s.Sync[ResourceHealth] = Status{PlannedRequests: 1, Cycle: cfg.HealthInterval}
	for _, r := range []Resource{ResourceCompany, ResourceCategories, ResourceLocators, ResourceItems} {
		s.Sync[r] = Status{PlannedRequests: 1, Cycle: cfg.CatalogInterval}
	}
	s.Sync[ResourceStock] = Status{Cycle: cfg.StockInterval}
	if cfg.FlowRefresh() {
		s.Sync[ResourceFlow] = Status{Cycle: cfg.FlowInterval}
	}
	s.State.Enabled = cfg.StatePath != ""
	if cfg.State != nil {
		e.restore(s, cfg.State)
	}
	e.snap.Store(s)
	return e, nil
}

// Snapshot returns the latest snapshot. It never blocks and never calls the
// API; the result must not be modified.
func (e *Engine) Snapshot() *Snapshot { return e.snap.Load() }

// Ready reports whether every active locator's stock has been fetched, i.e.
// whether /metrics shows the whole company.
func (e *Engine) Ready() bool { return e.snap.Load().Ready }

// Settled reports whether the company is ready or some call has failed
// after the client's retries: a refused or unreadable token, a missing
// scope, a 429, an unreachable, slow or broken API, an answer refused as
// invalid. Each of these is a definite state its metrics report. A process
// serving many companies is ready once every one is settled, so that one
// broken company never holds the others back. Like readiness, it never
// goes back.
func (e *Engine) Settled() bool { return e.failed.Load() || e.Ready() }

// MaxStaleness returns how long stock is exported after its last success.
func (e *Engine) MaxStaleness() time.Duration { return e.cfg.MaxStaleness }

// FlowMaxAge returns how long a flow read is exported: one flow interval
// and the max staleness.
func (e *Engine) FlowMaxAge() time.Duration { return e.cfg.FlowInterval + e.cfg.MaxStaleness }

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
	wg.Go(func() { e.flowLoop(ctx) })
	if e.cfg.StatePath != "" {
		wg.Go(func() { e.saveLoop(ctx) })
	}
	wg.Wait()
	if e.cfg.StatePath != "" {
		// Every loop has stopped: no request follows this save.
		e.save(true)
	}
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

// updateReady marks s ready once every active locator has stock younger
// than the max staleness at now. Readiness never goes back: a later
// failure shows in the sync metrics instead.
func (e *Engine) updateReady(s *Snapshot, now time.Time) {
	if s.Ready || !s.LocatorsKnown {
		return
	}
	for _, l := range s.Locators {
		if ls := s.Stock[l.ID]; l.Active && (ls == nil || now.Sub(ls.Fetched) > e.cfg.MaxStaleness) {
			return
		}
	}
	s.Ready = true
	level.Info(e.logger).Log("msg", "Every active locator's stock is fresh; ready", "locators", len(s.Stock))
}
