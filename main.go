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

// Command kartustok_exporter exports the stock of KartuStok companies to
// Prometheus. It polls each company's public API in the background within
// the company's own request budget and serves every scrape from that cache.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	_ "time/tzdata" // company time zones must resolve in a minimal container

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/common/version"

	"github.com/kartustok/kartustok_exporter/minimums"
)

const (
	exporterName = "kartustok_exporter"
	// defaultAddress is the default listen address. Port 9472 is not
	// claimed by any exporter on Prometheus' default port allocation list.
	defaultAddress = ":9472"
	// tokenEnv is the environment variable read when no token file is set.
	tokenEnv = "KARTUSTOK_TOKEN"
)

func main() {
	setGCPercent()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// defaultGCPercent is the garbage collector's target unless GOGC is set.
// The exporter's heap is mostly its long-lived cache, the snapshot and its
// rendered bytes, while a scrape allocates little and briefly: Go's
// default of 100 would let the heap grow to twice the cache under many
// scrapers, where 20 keeps it within about a fifth, at little CPU.
const defaultGCPercent = 20

// setGCPercent applies defaultGCPercent unless GOGC is set.
func setGCPercent() {
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(defaultGCPercent)
	}
}

// run is the whole program but for the process exit, so tests can drive it.
// It returns the exit code: 0 after a clean shutdown on SIGINT or SIGTERM.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runContext(ctx, args, stdout, stderr)
}

// runContext runs the exporter until ctx is cancelled.
func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, done, code := parseFlags(args, stdout, stderr)
	if done {
		return code
	}
	logger, slogger := newLoggers(stderr, cfg.logLevel, cfg.logFormat)
	if cfg.apiCheck {
		return apiCheck(ctx, cfg, stdout, stderr, logger)
	}
	if err := serve(ctx, cfg, logger, slogger); err != nil {
		level.Error(logger).Log("msg", "Exiting", "err", err)
		return 1
	}
	return 0
}

// serve checks what start-up needs, binds the listeners, then wires each
// company's data path (client → engine → snapshot → renderer) and the web
// server, and runs both until ctx is cancelled. Nothing polls the API, and
// nothing says it listens, until every listener is bound.
func serve(ctx context.Context, cfg *config, logger log.Logger, slogger *slog.Logger) error {
	level.Info(logger).Log("msg", "Starting "+exporterName, "version", version.Info())
	level.Info(logger).Log("msg", "Build context", "build_context", version.BuildContext())
	on, off := cfg.collectors()
	level.Info(logger).Log("msg", "Collectors", "enabled", strings.Join(on, ","), "disabled", strings.Join(off, ","))
	if cfg.totalShards > 1 {
		from := "--shard"
		if cfg.shardFrom != "" {
			from = cfg.shardFrom
		}
		level.Info(logger).Log("msg", "Serving one shard of the companies", "shard", cfg.shard, "total_shards", cfg.totalShards, "from", from)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fl := newFleet(ctx, logger, false)
	defer fl.halt()
	// The companies come first, with their tokens and minimums files: a
	// typo in any should stop start-up before anything else happens,
	// with every problem on its own line. Then the web configuration.
	if !cfg.demo {
		if err := fl.load(cfg); err != nil {
			return err
		}
	} else if cfg.minimumsFile != "" {
		// The demo's companies start once the listeners are bound; the
		// minimums file they share is checked before.
		if _, err := minimums.Load(cfg.minimumsFile); err != nil {
			return minimumsError(cfg, err, logger)
		}
	}
	if err := checkWebConfig(*cfg.web.WebConfigFile); err != nil {
		return err
	}
	listeners, err := listen(ctx, cfg.web, logger)
	if err != nil {
		return err
	}
	defer closeAll(listeners) // web.Serve leaves a listener open when it fails early

	if cfg.demo {
		if cfg.url != "" || cfg.tokenFile != "" {
			level.Warn(logger).Log("msg", "--demo ignores --kartustok.url and --kartustok.token-file")
		}
		demos, cfgs, err := startDemos(cfg, log.With(logger, "component", "demo"))
		if err != nil {
			return fmt.Errorf("starting the demo companies: %w", err)
		}
		defer demos.Close()
		if _, err := fl.apply(cfgs); err != nil {
			return err
		}
	}

	handler, err := newHandler(handlerConfig{
		telemetryPath:          cfg.telemetryPath,
		maxRequests:            cfg.maxRequests,
		disableExporterMetrics: cfg.disableExporterMetrics,
		logger:                 logger,
		reload:                 func() error { return fl.reload(cfg, "POST /-/reload") },
		live:                   fl,
		renderers:              fl.renderers,
		collectorsOff:          off,
	}, fl, fl.collectors(cfg)...)
	if err != nil {
		return err
	}
	fl.run()

	// SIGHUP reloads the companies file and the minimums files. It is
	// caught even without a file, so that a habitual `kill -HUP` never
	// terminates the exporter.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				_ = fl.reload(cfg, "SIGHUP") // logged; what fails stays as it was
			case <-ctx.Done():
				return
			}
		}
	}()
	err = serveHTTP(ctx, listeners, handler, cfg.web, cfg.server, logger, slogger)
	cancel()
	fl.halt() // every company saves its state, before the demo's API closes
	return err
}
