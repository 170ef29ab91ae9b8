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

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/version"

	"github.com/kartustok/kartustok_exporter/collector"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/minimums"
	"github.com/kartustok/kartustok_exporter/refresh"
)

// company is one company's data path: its client, engine and renderer,
// its minimums, and a registry of its live metrics, every one labelled
// with the company. It shares nothing with another company but the process.
type company struct {
	name     string
	cfg      *config
	engine   *refresh.Engine
	renderer *collector.Renderer
	reloader *minimums.Reloader
	// reg holds the live metrics (API, sync, token, minimums reloads),
	// with the company label.
	reg *prometheus.Registry

	logger log.Logger
	// polling is what start logs of how the company is polled.
	polling []any

	stop context.CancelFunc
	done chan struct{}
}

// prepared is what a company needs before its data path is built, read and
// checked first so that a company that cannot start changes nothing: its
// token and its minimums file.
type prepared struct {
	cfg      *config
	tokens   kartustok.TokenSource
	reloader *minimums.Reloader
}

// prepare reads cfg's token and minimums file as a start does: a problem
// with either is an error that says how to fix it.
func prepare(cfg *config, logger log.Logger) (*prepared, error) {
	tokens, err := tokenSource(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.tokenFile != "" {
		if w := tokenFileWarning(cfg.tokenFile); w != "" {
			level.Warn(logger).Log("msg", w)
		}
	}
	reloader, err := minimums.NewReloader(cfg.minimumsFile, log.With(logger, "component", "minimums"))
	if err != nil {
		return nil, minimumsError(cfg, err, logger)
	}
	return &prepared{cfg: cfg, tokens: tokens, reloader: reloader}, nil
}

// minimumsError logs every problem of cfg's minimums file on its own line
// and returns the error that stops the start.
func minimumsError(cfg *config, err error, logger log.Logger) error {
	for _, p := range minimums.FileProblems(err) {
		level.Error(logger).Log("msg", "Invalid minimums file", "problem", p)
	}
	if cfg.configFile != "" {
		return fmt.Errorf("cannot load the minimums_file %s of company %s", cfg.minimumsFile, cfg.company)
	}
	return fmt.Errorf("cannot load --stock.minimums-file %s", cfg.minimumsFile)
}

// newCompany wires a company's data path (client → engine → snapshot →
// renderer) from what prepare read. It polls nothing until started.
// pedantic and clientOpts are for tests: checked scrapes, and a transport
// that serves a simulated company in memory.
func newCompany(p *prepared, logger log.Logger, pedantic bool, clientOpts ...kartustok.Option) (*company, error) {
	cfg := p.cfg
	apiMetrics := collector.NewAPIMetrics()
	budget := cfg.budgetRequests()
	statePath, stateID, state := loadState(cfg, logger)
	if state != nil {
		ws, complete := state.WindowState()
		clientOpts = append([]kartustok.Option{kartustok.WithWindowState(ws, complete)}, clientOpts...)
	}
	client, err := kartustok.New(cfg.url, p.tokens, append([]kartustok.Option{
		kartustok.WithTimeout(cfg.timeout),
		kartustok.WithMaxBodyBytes(int64(cfg.maxBody)),
		kartustok.WithBudget(budget, cfg.window),
		kartustok.WithHealthInterval(cfg.healthInterval),
		kartustok.WithObserver(apiMetrics),
		kartustok.WithVersion(version.Version),
	}, clientOpts...)...)
	if err != nil {
		return nil, err
	}
	reserve, catalogCap, cut := client.Shares()
	if cut {
		level.Warn(logger).Log("msg", "Health checks get less than their reserve of the request budget: the budget cannot hold one request per check a window plus one and still leave one for catalog and stock",
			"budget", budget, "window", cfg.window, "health_interval", cfg.healthInterval, "health_reserve", reserve)
	}
	if plainHTTPOffLoopback(client.BaseURL()) {
		level.Warn(logger).Log("msg", "The API URL is plain http: the bearer token crosses the network unencrypted; use https", "url", client.BaseURL())
	}
	ecfg := cfg.engineConfig()
	ecfg.HealthReserve, ecfg.CatalogCap = reserve, catalogCap
	ecfg.Logger, ecfg.OnCatalog = logger, p.reloader.CheckCatalog
	ecfg.StatePath, ecfg.StateURL, ecfg.State = statePath, stateID, state
	engine, err := refresh.New(client, ecfg)
	if err != nil {
		return nil, err
	}
	p.reloader.SetSnapshotFunc(engine.Snapshot)

	reg := prometheus.NewRegistry()
	if pedantic {
		reg = prometheus.NewPedanticRegistry()
	}
	if err := prometheus.WrapRegistererWith(prometheus.Labels{"company": cfg.company}, reg).Register(
		multiCollector{collector.NewCollector(engine, collector.WithRateLimit(client)), apiMetrics, p.reloader}); err != nil {
		return nil, fmt.Errorf("registering the metrics of company %s: %w", cfg.company, err)
	}
	return &company{
		name: cfg.company, cfg: cfg, engine: engine, reg: reg, reloader: p.reloader,
		renderer: collector.NewRenderer(engine, p.reloader.Minimums, cfg.company),
		logger:   logger,
		polling: []any{
			"url", client.BaseURL(), "budget", budget, "health_reserve", reserve, "catalog_cap", catalogCap,
			"window", cfg.window, "stock_interval", cfg.stockInterval,
		},
	}, nil
}

// multiCollector registers several collectors as one, so that a company's
// metrics are registered, and checked against each other, in one call.
type multiCollector []prometheus.Collector

func (m multiCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m {
		c.Describe(ch)
	}
}

func (m multiCollector) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m {
		c.Collect(ch)
	}
}

// start runs the engine and renders its snapshots until stop.
func (c *company) start(ctx context.Context) {
	level.Info(c.logger).Log(append([]any{"msg", "Polling the KartuStok API"}, c.polling...)...)
	ctx, c.stop = context.WithCancel(ctx)
	c.done = make(chan struct{})
	go func() {
		defer close(c.done)
		rendered := make(chan struct{})
		go func() { c.renderer.Run(ctx, time.Second); close(rendered) }()
		c.engine.Run(ctx)
		<-rendered
	}()
}

// halt stops the company and waits for it, and for its last state save.
func (c *company) halt() {
	if c.stop != nil {
		c.stop()
		<-c.done
	}
}

// plainHTTPOffLoopback reports whether base is an http:// URL to a host
// other than this machine, where the Authorization header would travel in
// clear text. KartuStok itself serves https; plain http is for a local
// proxy or the demo.
func plainHTTPOffLoopback(base string) bool {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// stateFile is the file in --storage.path the exporter keeps a company's
// state in, named for the company, so that a directory can be shared.
func stateFile(cfg *config) string {
	return filepath.Join(cfg.storagePath, cfg.company+".state")
}

// stateID is what a state file is bound to: the company's API, or for a
// demo company, which listens on a new port at every start, its name.
func stateID(cfg *config) (string, error) {
	if cfg.demo {
		return "demo:" + cfg.company, nil
	}
	return kartustok.NormaliseBaseURL(cfg.url)
}

// loadState reads the state the previous process saved, for a warm start.
// Without --storage.path there is none. A file that cannot be used (of
// another company or version, truncated, corrupted) is said once and left
// for the first save to replace: the start is cold, never a failure.
func loadState(cfg *config, logger log.Logger) (path, id string, st *refresh.State) {
	if cfg.storagePath == "" {
		return "", "", nil
	}
	if err := os.MkdirAll(cfg.storagePath, 0o700); err != nil {
		level.Warn(logger).Log("msg", "Cannot create --storage.path; the state will not be saved", "err", err)
	}
	path = stateFile(cfg)
	id, err := stateID(cfg)
	if err != nil {
		return path, "", nil // the client says why
	}
	st, err = refresh.LoadState(path, id)
	switch {
	case errors.Is(err, refresh.ErrNoState):
		level.Info(logger).Log("msg", "No saved state yet; a cold start", "file", path)
	case err != nil:
		level.Warn(logger).Log("msg", "Not using the saved state; a cold start", "file", path, "err", err)
	}
	return path, id, st
}
