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
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/kartustok/kartustok_exporter/collector"
)

// handlerConfig is what the web endpoints need from the command line.
type handlerConfig struct {
	telemetryPath          string
	maxRequests            int
	disableExporterMetrics bool
	logger                 log.Logger
	// reload re-reads the minimums file for POST /-/reload; nil serves
	// no reload endpoint.
	reload func() error
	// live gathers the companies' live metrics, besides the collectors
	// newHandler registers; nil for none.
	live prometheus.Gatherer
	// renderers lists the companies' renderers, which serve the families
	// derived from their snapshots from rendered bytes; the collectors
	// leave them out. nil for none.
	renderers func() []*collector.Renderer
	// collectorsOff names the collectors turned off, which the landing
	// page lists.
	collectorsOff []string
	// pedantic makes the registry check every metric against its
	// description on every scrape. Tests turn it on; production leaves it
	// off, since the checks cost every scrape bytes and allocations and the
	// collectors are proven consistent by the tests.
	pedantic bool
}

// readiness reports whether the exporter shows every company yet; a
// readiness that also has a NotReady method says why not.
type readiness interface{ Ready() bool }

// promLogger adapts a go-kit logger to promhttp's error log.
type promLogger struct{ logger log.Logger }

func (l promLogger) Println(v ...any) {
	level.Error(l.logger).Log("msg", "Error serving metrics", "err", strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}

// volatileMaxAge is the oldest the process's and the Go runtime's own
// metrics are served: scrapes in between share them.
const volatileMaxAge = time.Second

// newHandler builds every HTTP endpoint of the exporter on one mux.
func newHandler(cfg handlerConfig, ready readiness, cs ...prometheus.Collector) (*http.ServeMux, error) {
	reg := prometheus.NewRegistry()
	if cfg.pedantic {
		reg = prometheus.NewPedanticRegistry()
	}
	reg.MustRegister(versioncollector.NewCollector(exporterName))
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering a collector: %w", err)
		}
	}
	// The exporter's own Go, process and promhttp metrics live in a
	// registry of their own, so that --web.disable-exporter-metrics drops
	// exactly them.
	exporterReg := prometheus.NewRegistry()
	var volatile prometheus.Gatherer
	if !cfg.disableExporterMetrics {
		exporterReg.MustRegister(
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		)
		volatile = exporterReg
	}
	var live prometheus.Gatherer = reg
	if cfg.live != nil {
		live = prometheus.Gatherers{reg, cfg.live}
	}
	metrics := collector.NewHandler(live, cfg.renderers, collector.HandlerOpts{
		ErrorLog:            promLogger{cfg.logger},
		MaxRequestsInFlight: cfg.maxRequests,
		Volatile:            volatile,
		VolatileMaxAge:      volatileMaxAge,
	})
	if !cfg.disableExporterMetrics {
		metrics = promhttp.InstrumentMetricHandler(exporterReg, metrics)
	}

	description := "Prometheus exporter for the stock of KartuStok companies, served from a cache refreshed in the background"
	if len(cfg.collectorsOff) > 0 {
		description += "; collectors off: " + strings.Join(cfg.collectorsOff, ", ")
	}
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        "KartuStok Exporter",
		Description: description,
		Version:     version.Info(),
		Profiling:   "false", // no pprof endpoints are served
		Links: []web.LandingLinks{
			{Address: cfg.telemetryPath, Text: "Metrics"},
			{Address: "/-/healthy", Text: "Health", Description: "200 while the process runs"},
			{Address: "/-/ready", Text: "Readiness", Description: "200 once every company has fresh stock or a failure its metrics report"},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("building the landing page: %w", err)
	}

	mux := http.NewServeMux()
	mux.Handle(cfg.telemetryPath, metrics)
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		fmt.Fprintln(w, "Healthy.")
	})
	mux.HandleFunc("GET /-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Ready() {
			why := "Not ready: the first complete stock refresh has not finished."
			if r, ok := ready.(interface{ NotReady() string }); ok {
				why = r.NotReady()
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, why)
			return
		}
		w.WriteHeader(http.StatusOK)
		fmt.Fprintln(w, "Ready.")
	})
	if cfg.reload != nil {
		// Registered for every method so that a GET gets 405 with the
		// method to use rather than the landing page's 404.
		mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				w.Header().Set("Allow", http.MethodPost)
				http.Error(w, "Method not allowed: POST /-/reload to reload the companies and minimums files.", http.StatusMethodNotAllowed)
				return
			}
			if err := cfg.reload(); err != nil {
				http.Error(w, "Reloading failed; what failed stays as it was:\n"+err.Error(), http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusOK)
			fmt.Fprintln(w, "Reloaded.")
		})
	}
	mux.Handle("/", landing)
	return mux, nil
}
