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
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/common/version"

	"github.com/kartustok/kartustok_exporter/collector"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/minimums"
	"github.com/kartustok/kartustok_exporter/refresh"
)

// exporter is the background work of the data path: the engine's loops,
// and the rendering of each new snapshot off the scrape path.
type exporter struct {
	*refresh.Engine
	renderer *collector.Renderer
}

// Run runs the engine and renders its snapshots until ctx is done.
func (x *exporter) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() { x.renderer.Run(ctx, time.Second); close(done) }()
	x.Engine.Run(ctx)
	<-done
}

// newExporter wires the data path (client → engine → snapshot →
// collectors) and the web endpoints for cfg. The engine does nothing until
// it is run. pedantic and clientOpts are for tests: checked scrapes, and a
// transport that serves a simulated company in memory.
func newExporter(cfg *config, tokens kartustok.TokenSource, reloader *minimums.Reloader, logger log.Logger, pedantic bool, clientOpts ...kartustok.Option) (*exporter, http.Handler, error) {
	apiMetrics := collector.NewAPIMetrics()
	budget := cfg.budgetRequests()
	statePath, state := loadState(cfg, logger)
	if state != nil {
		ws, complete := state.WindowState()
		clientOpts = append([]kartustok.Option{kartustok.WithWindowState(ws, complete)}, clientOpts...)
	}
	client, err := kartustok.New(cfg.url, tokens, append([]kartustok.Option{
		kartustok.WithTimeout(cfg.timeout),
		kartustok.WithMaxBodyBytes(int64(cfg.maxBody)),
		kartustok.WithBudget(budget, cfg.window),
		kartustok.WithHealthInterval(cfg.healthInterval),
		kartustok.WithObserver(apiMetrics),
		kartustok.WithVersion(version.Version),
	}, clientOpts...)...)
	if err != nil {
		return nil, nil, err
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
	ecfg.Logger, ecfg.OnCatalog = logger, reloader.CheckCatalog
	ecfg.StatePath, ecfg.StateURL, ecfg.State = statePath, client.BaseURL(), state
	engine, err := refresh.New(client, ecfg)
	if err != nil {
		return nil, nil, err
	}
	reloader.SetSnapshotFunc(engine.Snapshot)
	renderer := collector.NewRenderer(engine, reloader.Minimums)
	level.Info(logger).Log("msg", "Polling the KartuStok API", "url", client.BaseURL(),
		"budget", budget, "health_reserve", reserve, "catalog_cap", catalogCap, "window", cfg.window, "stock_interval", cfg.stockInterval)

	handler, err := newHandler(handlerConfig{
		telemetryPath:          cfg.telemetryPath,
		maxRequests:            cfg.maxRequests,
		disableExporterMetrics: cfg.disableExporterMetrics,
		logger:                 logger,
		reload:                 func() error { return reloader.Reload("POST /-/reload") },
		renderer:               renderer,
		pedantic:               pedantic,
	}, engine, reloader,
		collector.NewCollector(engine, collector.WithRateLimit(client)),
		apiMetrics)
	if err != nil {
		return nil, nil, err
	}
	return &exporter{Engine: engine, renderer: renderer}, handler, nil
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

// stateFile is the file in --storage.path the exporter keeps its state in:
// named for the company, by the first label of its API's host name (demo
// for --demo), so that a directory can be shared.
func stateFile(cfg *config) string {
	name := "demo"
	if !cfg.demo {
		name = "kartustok"
		if u, err := url.Parse(cfg.url); err == nil {
			if label, _, _ := strings.Cut(u.Hostname(), "."); label != "" && net.ParseIP(u.Hostname()) == nil {
				name = strings.ToLower(label)
			}
		}
	}
	return filepath.Join(cfg.storagePath, name+".state")
}

// loadState reads the state the previous process saved, for a warm start.
// Without --storage.path there is none. A file that cannot be used (of
// another company or version, truncated, corrupted) is said once and left
// for the first save to replace: the start is cold, never a failure.
func loadState(cfg *config, logger log.Logger) (string, *refresh.State) {
	if cfg.storagePath == "" {
		return "", nil
	}
	if err := os.MkdirAll(cfg.storagePath, 0o700); err != nil {
		level.Warn(logger).Log("msg", "Cannot create --storage.path; the state will not be saved", "err", err)
	}
	path := stateFile(cfg)
	base, err := kartustok.NormaliseBaseURL(cfg.url)
	if err != nil {
		return path, nil // the client says why
	}
	st, err := refresh.LoadState(path, base)
	switch {
	case errors.Is(err, refresh.ErrNoState):
		level.Info(logger).Log("msg", "No saved state yet; a cold start", "file", path)
	case err != nil:
		level.Warn(logger).Log("msg", "Not using the saved state; a cold start", "file", path, "err", err)
	}
	return path, st
}
