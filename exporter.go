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
	"net"
	"net/http"
	"net/url"
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
