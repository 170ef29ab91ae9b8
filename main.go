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

// Command kartustok_exporter exports the stock of one KartuStok company to
// Prometheus. It polls the company's public API in the background within a
// request budget and serves every scrape from that cache.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // company time zones must resolve in a minimal container
	"unicode"

	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	sloggokit "github.com/tjhop/slog-gokit"

	"github.com/kartustok/kartustok_exporter/collector"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/minimums"
	ksync "github.com/kartustok/kartustok_exporter/sync"
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

// config is the parsed command line.
type config struct {
	url            string
	tokenFile      string
	tokenExpiresAt time.Time
	timeout        time.Duration
	maxBody        units.Base2Bytes
	rateLimit      int
	window         time.Duration
	budget         float64
	healthInterval time.Duration
	catalogEvery   time.Duration
	stockInterval  time.Duration
	maxStaleness   time.Duration
	minimumsFile   string
	demo           bool
	configCheck    bool

	web                    *web.FlagConfig
	telemetryPath          string
	maxRequests            int
	disableExporterMetrics bool

	logLevel  string
	logFormat string
}

// budgetRequests is the requests per window the client allows itself.
func (c *config) budgetRequests() int { return kartustok.BudgetFor(c.rateLimit, c.budget) }

// parseFlags parses args. done is set when the program should exit with
// code without running (--help, --version, a parse error).
func parseFlags(args []string, stdout, stderr io.Writer) (cfg *config, done bool, code int) {
	cfg = &config{}
	app := kingpin.New(exporterName, "Exports the stock of one KartuStok company to Prometheus, polling its public API in the background within a request budget.")
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	app.Terminate(func(c int) { done, code = true, c })

	var expires string
	app.Flag("kartustok.url", "Base URL of the company's KartuStok API, https://<subdomain>.kartustok.com/public/v1. Required unless --demo.").
		PlaceHolder("URL").StringVar(&cfg.url)
	app.Flag("kartustok.token-file", "File holding the API token, re-read when it changes. Without it the token is read from the "+tokenEnv+" environment variable.").
		PlaceHolder("FILE").StringVar(&cfg.tokenFile)
	app.Flag("kartustok.token-expires-at", "Expiry of the API token (RFC 3339, or YYYY-MM-DD for the start of that day in UTC), used when /meta/company does not report it.").
		PlaceHolder("TIME").StringVar(&expires)
	app.Flag("kartustok.timeout", "Timeout of one API request.").Default("10s").DurationVar(&cfg.timeout)
	app.Flag("kartustok.max-body-size", "Largest API answer read; a larger one is refused as invalid. A page of 100 rows is some 30 KiB, so the default leaves room for long texts and for unpaginated lists of thousands of warehouses or categories.").
		Default("4MiB").BytesVar(&cfg.maxBody)
	app.Flag("kartustok.rate-limit", "Requests the API allows per rate-limit window.").Default("120").IntVar(&cfg.rateLimit)
	app.Flag("kartustok.rate-limit-window", "The API's rate-limit window.").Default("60s").DurationVar(&cfg.window)
	app.Flag("kartustok.budget", "Share of the rate limit the exporter may use, in (0, 1]; the rest is left to other integrations sharing the token and IP.").
		Default("0.8").Float64Var(&cfg.budget)
	app.Flag("sync.health-interval", "Period of the API health check.").Default("30s").DurationVar(&cfg.healthInterval)
	app.Flag("sync.catalog-interval", "Period of the refresh of company metadata, item categories, locators and items.").Default("15m").DurationVar(&cfg.catalogEvery)
	app.Flag("sync.stock-interval", "Wanted period of a full stock refresh; stretched when the request budget cannot afford it.").Default("1m").DurationVar(&cfg.stockInterval)
	app.Flag("sync.max-staleness", "Stock older than this is no longer exported.").Default("30m").DurationVar(&cfg.maxStaleness)
	app.Flag("stock.minimums-file", "YAML file of minimum stock levels by item code, per warehouse code and per category, overriding the minimums KartuStok reports. Re-read on SIGHUP and on POST /-/reload; a file that fails to load leaves the previous one in force. "+
		"A minimum above 0 given to an item in one warehouse (items[].warehouses[]) also exports kartustok_stock_on_hand 0 when that warehouse's stock has no row for the item, as KartuStok lists only items a warehouse has held.").
		PlaceHolder("FILE").StringVar(&cfg.minimumsFile)
	app.Flag("config.check", "Check the flags and --stock.minimums-file, then exit: 0 with a one-line summary, or 1 with each problem on its own line. Does not read the token or call the API.").
		Default("false").BoolVar(&cfg.configCheck)
	app.Flag("demo", "Run against an embedded simulated company on loopback instead of a real KartuStok API.").Default("false").BoolVar(&cfg.demo)
	cfg.web = kingpinflag.AddFlags(app, defaultAddress)
	app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&cfg.telemetryPath)
	app.Flag("web.max-requests", "Maximum number of concurrent scrape requests; more get 503. 0 disables the limit. Concurrent scrapes share the same rendered bytes, so memory does not grow with them.").Default("100").IntVar(&cfg.maxRequests)
	app.Flag("web.disable-exporter-metrics", "Exclude metrics about the exporter itself (promhttp_*, process_*, go_*).").Default("false").BoolVar(&cfg.disableExporterMetrics)
	app.Flag("log.level", "Only log messages with the given severity or above. One of: [debug, info, warn, error]").
		Default("info").EnumVar(&cfg.logLevel, "debug", "info", "warn", "error")
	app.Flag("log.format", "Output format of log messages. One of: [logfmt, json]").
		Default("logfmt").EnumVar(&cfg.logFormat, "logfmt", "json")

	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(stderr, "%s: error: %v, try --help\n", exporterName, err)
		return nil, true, 2
	}
	if done {
		return nil, true, code
	}
	problems := cfg.validate(expires)
	if cfg.configCheck {
		return nil, true, checkConfig(cfg, problems, stdout, stderr)
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(stderr, "%s: error: %v\n", exporterName, p)
		}
		return nil, true, 2
	}
	return cfg, false, 0
}

// validate checks what kingpin cannot and fills in derived values. It
// returns every problem, so that --config.check lists them all at once.
func (c *config) validate(expires string) []error {
	var problems []error
	if c.url == "" && !c.demo {
		problems = append(problems, errors.New("--kartustok.url is required: the company's API, https://<subdomain>.kartustok.com/public/v1 (or run --demo)"))
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"kartustok.timeout", c.timeout},
		{"kartustok.rate-limit-window", c.window},
		{"sync.health-interval", c.healthInterval},
		{"sync.catalog-interval", c.catalogEvery},
		{"sync.stock-interval", c.stockInterval},
		{"sync.max-staleness", c.maxStaleness},
	} {
		if d.v < time.Second {
			problems = append(problems, fmt.Errorf("--%s must be at least 1s, got %s", d.flag, d.v))
		}
	}
	if c.maxBody < 64<<10 || c.maxBody > 1<<30 {
		problems = append(problems, fmt.Errorf("--kartustok.max-body-size must be between 64KiB and 1GiB, got %s", c.maxBody))
	}
	switch {
	case c.rateLimit < 1:
		problems = append(problems, fmt.Errorf("--kartustok.rate-limit must be at least 1, got %d", c.rateLimit))
	case !(c.budget > 0 && c.budget <= 1):
		problems = append(problems, fmt.Errorf("--kartustok.budget must be in (0, 1], got %g", c.budget))
	case c.budgetRequests() < 1:
		problems = append(problems, fmt.Errorf("--kartustok.budget %g of --kartustok.rate-limit %d leaves no request per window", c.budget, c.rateLimit))
	}
	if c.maxRequests < 0 {
		problems = append(problems, fmt.Errorf("--web.max-requests must not be negative, got %d", c.maxRequests))
	}
	if err := checkTelemetryPath(c.telemetryPath); err != nil {
		problems = append(problems, err)
	}
	if expires != "" {
		t, err := parseExpiry(expires)
		if err != nil {
			problems = append(problems, err)
		}
		c.tokenExpiresAt = t
	}
	return problems
}

// checkTelemetryPath checks --web.telemetry-path before it becomes a
// ServeMux pattern, where "{" would start a wildcard (or panic) and a space
// would split off a method, and where it must not shadow the other
// endpoints.
func checkTelemetryPath(p string) error {
	bad := func(why string) error {
		return fmt.Errorf("--web.telemetry-path %q %s; use a plain path such as /metrics", p, why)
	}
	switch {
	case !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//"):
		return bad("must start with a single /")
	case p == "/":
		return bad("would hide the landing page at /")
	case strings.HasPrefix(p, "/-/"):
		return bad("must not be under /-/, where /-/healthy, /-/ready and /-/reload are served")
	case strings.ContainsAny(p, "{}"):
		return bad("must not contain { or }")
	case strings.ContainsFunc(p, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return bad("must not contain spaces or control characters")
	case path.Clean(p) != strings.TrimSuffix(p, "/") && path.Clean(p) != p:
		return bad("must be a clean path (no //, . or .. elements)")
	}
	// Whatever else ServeMux refuses, it refuses with a panic.
	return func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = bad(fmt.Sprint("is not a valid path: ", r))
			}
		}()
		http.NewServeMux().Handle(p, http.NotFoundHandler())
		return nil
	}()
}

// noToken stands in for the token when --config.check builds a client only
// to check the URL: the check never reads the secret.
type noToken struct{}

func (noToken) Token() (string, error) { return "", errors.New("no token in --config.check") }

// checkConfig is --config.check: it reports the flag problems found so far,
// the API URL's and the minimums file's, and returns the exit code.
func checkConfig(cfg *config, problems []error, stdout, stderr io.Writer) int {
	if cfg.url != "" && !cfg.demo {
		if _, err := kartustok.New(cfg.url, noToken{}); err != nil {
			problems = append(problems, err)
		}
	}
	var lines []string
	for _, p := range problems {
		lines = append(lines, p.Error())
	}
	summary := "no --stock.minimums-file"
	if cfg.minimumsFile != "" {
		set, err := minimums.Load(cfg.minimumsFile)
		if err != nil {
			lines = append(lines, minimums.FileProblems(err)...)
		} else {
			sum := set.Summary()
			summary = fmt.Sprintf("minimums file %s: categories=%d items=%d warehouse_minimums=%d", cfg.minimumsFile, sum.Categories, sum.Items, sum.Warehouses)
		}
	}
	if len(lines) > 0 {
		for _, l := range lines {
			fmt.Fprintln(stderr, l)
		}
		return 1
	}
	fmt.Fprintf(stdout, "%s: configuration OK; %s\n", exporterName, summary)
	return 0
}

// parseExpiry reads RFC 3339 or a bare date. A bare date is read as the start
// of that day in UTC: the earliest moment the token may stop working, so an
// expiry alert is never late.
func parseExpiry(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--kartustok.token-expires-at %q is neither RFC 3339 (2027-01-31T23:59:59+07:00) nor a date (2027-01-31)", s)
}

// newLoggers returns the process's go-kit logger and an slog logger that
// writes through it, so exporter-toolkit's lines share its stream, format
// and level filter.
func newLoggers(w io.Writer, lvl, format string) (log.Logger, *slog.Logger) {
	w = log.NewSyncWriter(w)
	var base log.Logger
	if format == "json" {
		base = log.NewJSONLogger(w)
	} else {
		base = log.NewLogfmtLogger(w)
	}
	allow := map[string]level.Option{"debug": level.AllowDebug(), "info": level.AllowInfo(), "warn": level.AllowWarn(), "error": level.AllowError()}[lvl]
	filtered := level.NewFilter(base, allow)
	stamped := log.With(filtered, "ts", log.DefaultTimestampUTC)
	logger := log.With(stamped, "caller", log.DefaultCaller)

	slogLevel := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[lvl]
	// slog records arrive as level, caller, time, msg, attributes; write
	// them as level, ts, caller, msg, attributes like every other line.
	bridge := log.LoggerFunc(func(kv ...any) error {
		out := make([]any, 0, len(kv)+2)
		var ts any = log.DefaultTimestampUTC
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == slog.TimeKey {
				if t, ok := kv[i+1].(time.Time); ok {
					ts = t.UTC().Format(time.RFC3339Nano)
				}
				continue
			}
			out = append(out, kv[i], kv[i+1])
		}
		if len(out) >= 2 && out[0] == level.Key() {
			out = append(out[:2], append([]any{"ts", ts}, out[2:]...)...)
		} else {
			out = append([]any{"ts", ts}, out...)
		}
		return filtered.Log(out...)
	})
	return logger, slog.New(sloggokit.NewGoKitHandler(bridge, slogLevel))
}

// runContext runs the exporter until ctx is cancelled.
func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, done, code := parseFlags(args, stdout, stderr)
	if done {
		return code
	}
	logger, slogger := newLoggers(stderr, cfg.logLevel, cfg.logFormat)
	if err := serve(ctx, cfg, logger, slogger); err != nil {
		level.Error(logger).Log("msg", "Exiting", "err", err)
		return 1
	}
	return 0
}

// tokenSource returns the token source the flags select and checks that it
// holds a token now, so that a missing token stops start-up.
func tokenSource(cfg *config) (kartustok.TokenSource, error) {
	var src kartustok.TokenSource
	if cfg.tokenFile != "" {
		src = kartustok.TokenFile(cfg.tokenFile)
	} else {
		if _, ok := os.LookupEnv(tokenEnv); !ok {
			return nil, fmt.Errorf("no API token: set --kartustok.token-file to a file holding it, or the %s environment variable", tokenEnv)
		}
		src = kartustok.TokenEnv(tokenEnv)
	}
	if _, err := src.Token(); err != nil {
		return nil, err
	}
	return src, nil
}

// exporter is the background work of the data path: the engine's loops,
// and the rendering of each new snapshot off the scrape path.
type exporter struct {
	*ksync.Engine
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
	engine, err := ksync.New(client, ksync.Config{
		HealthInterval:  cfg.healthInterval,
		CatalogInterval: cfg.catalogEvery,
		StockInterval:   cfg.stockInterval,
		MaxStaleness:    cfg.maxStaleness,
		Budget:          budget,
		Window:          cfg.window,
		HealthReserve:   reserve,
		CatalogCap:      catalogCap,
		TokenExpiresAt:  cfg.tokenExpiresAt,
		Logger:          logger,
		OnCatalog:       reloader.CheckCatalog,
	})
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
		version: func() any {
			// What the collectors' families are made of: the snapshot,
			// the requests observed, the minimums file's reloads.
			return liveVersion{engine.Snapshot(), apiMetrics.Version(), reloader.Version()}
		},
		pedantic: pedantic,
	}, engine, reloader,
		collector.NewCollector(engine, collector.WithRateLimit(client), collector.WithoutDerived()),
		apiMetrics)
	if err != nil {
		return nil, nil, err
	}
	return &exporter{Engine: engine, renderer: renderer}, handler, nil
}

// liveVersion is what the live families depend on; see handlerConfig.
type liveVersion struct {
	snap   *ksync.Snapshot
	api    uint64
	reload uint64
}

// serve wires the data path (client → engine → snapshot → collector) and the
// web server, and runs both until ctx is cancelled.
func serve(ctx context.Context, cfg *config, logger log.Logger, slogger *slog.Logger) error {
	level.Info(logger).Log("msg", "Starting "+exporterName, "version", version.Info())
	level.Info(logger).Log("msg", "Build context", "build_context", version.BuildContext())

	// The minimums file is read first: a typo in it should stop start-up
	// before anything else happens, with every problem on its own line.
	reloader, err := minimums.NewReloader(cfg.minimumsFile, log.With(logger, "component", "minimums"))
	if err != nil {
		for _, p := range minimums.FileProblems(err) {
			level.Error(logger).Log("msg", "Invalid minimums file", "problem", p)
		}
		return fmt.Errorf("cannot load --stock.minimums-file %s", cfg.minimumsFile)
	}

	if cfg.demo {
		if cfg.url != "" || cfg.tokenFile != "" {
			level.Warn(logger).Log("msg", "--demo ignores --kartustok.url and --kartustok.token-file")
		}
		demo, err := startDemo(log.With(logger, "component", "demo"))
		if err != nil {
			return fmt.Errorf("starting the demo company: %w", err)
		}
		defer demo.Close()
		cfg.url, cfg.tokenFile = demo.URL, demo.TokenFile
	}
	tokens, err := tokenSource(cfg)
	if err != nil {
		return err
	}

	engine, handler, err := newExporter(cfg, tokens, reloader, logger, false)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// SIGHUP reloads the minimums file. It is caught even without a file,
	// so that a habitual `kill -HUP` never terminates the exporter.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				_ = reloader.Reload("SIGHUP") // logged; the previous file stays on failure
			case <-ctx.Done():
				return
			}
		}
	}()
	engineDone := make(chan struct{})
	go func() { engine.Run(ctx); close(engineDone) }()

	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- web.ListenAndServe(srv, cfg.web, slogger) }()

	select {
	case err = <-served:
		// The listener failed (e.g. the port is taken).
	case <-ctx.Done():
		level.Info(logger).Log("msg", "Shutting down")
		shutdownCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		if serr := srv.Shutdown(shutdownCtx); serr != nil {
			level.Warn(logger).Log("msg", "Web server did not shut down cleanly", "err", serr)
		}
		if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			err = serr
		}
	}
	cancel()
	<-engineDone
	return err
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
