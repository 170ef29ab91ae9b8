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
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // company time zones must resolve in a minimal container
	"unicode"

	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"
	"github.com/coreos/go-systemd/v22/activation"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/mdlayher/vsock"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	sloggokit "github.com/tjhop/slog-gokit"

	"github.com/kartustok/kartustok_exporter/check"
	"github.com/kartustok/kartustok_exporter/collector"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/minimums"
	"github.com/kartustok/kartustok_exporter/refresh"
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
	fullStock      time.Duration
	flowInterval   time.Duration
	maxStaleness   time.Duration
	minimumsFile   string
	demo           bool
	configCheck    bool
	apiCheck       bool

	web                    *web.FlagConfig
	telemetryPath          string
	maxRequests            int
	disableExporterMetrics bool
	server                 serverLimits

	logLevel  string
	logFormat string
}

// budgetRequests is the requests per window the client allows itself.
func (c *config) budgetRequests() int { return kartustok.BudgetFor(c.rateLimit, c.budget) }

// parseFlags parses args. done is set when the program should exit with
// code without running (--help, --version, a parse error).
func parseFlags(args []string, stdout, stderr io.Writer) (cfg *config, done bool, code int) {
	cfg = &config{server: defaultServerLimits()}
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
	app.Flag("sync.stock-interval", "Wanted period of a full stock refresh; stretched when the request budget cannot afford it. Must be shorter than --sync.max-staleness.").Default("1m").DurationVar(&cfg.stockInterval)
	app.Flag("sync.full-stock-interval", "Longest a warehouse's stock goes without being read in full. Between full reads a stock pass asks each warehouse for its count of the day's movements (one request) and reads its stock only when that count changed; a back-dated or voided document changes a balance without a movement dated today, which only a full read finds. Not more than --sync.stock-interval: every pass reads every warehouse in full. Must be shorter than --sync.max-staleness.").
		Default("15m").DurationVar(&cfg.fullStock)
	app.Flag("sync.flow-interval", "Period of the refresh of each warehouse's in and out over the last 30 days and of its movements of the day by transaction type; also right after the company's midnight. 0 turns it off.").
		Default("1h").DurationVar(&cfg.flowInterval)
	app.Flag("sync.max-staleness", "Stock older than this is no longer exported.").Default("30m").DurationVar(&cfg.maxStaleness)
	app.Flag("stock.minimums-file", "YAML file of minimum stock levels by item code, per warehouse code and per category, overriding the minimums KartuStok reports. Re-read on SIGHUP and on POST /-/reload; a file that fails to load leaves the previous one in force. "+
		"A minimum above 0 given to an item in one warehouse (items[].warehouses[]) also exports kartustok_stock_on_hand 0 when that warehouse's stock has no row for the item, as KartuStok lists only items a warehouse has held.").
		PlaceHolder("FILE").StringVar(&cfg.minimumsFile)
	app.Flag("config.check", "Check what a start would check, then exit: the flags, the web configuration file, that the token can be read (its value is never shown) and the minimums file. Exits 0 with a one-line summary, after a line per warning (such as a token file other users can read), or 1 with each problem on its own line. Does not call the API.").
		Default("false").BoolVar(&cfg.configCheck)
	app.Flag("kartustok.check", "Call each API endpoint the exporter reads once (at most 7 requests), print a report of what works with a one-line fix for each problem, then exit: 0 when the exporter can use this URL and token, 1 otherwise. The token is never printed.").
		Default("false").BoolVar(&cfg.apiCheck)
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
	if cfg.configCheck && cfg.apiCheck {
		problems = append(problems, errors.New("--config.check and --kartustok.check exclude each other: the first never calls the API, the second does"))
	}
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
	if c.stockInterval >= c.maxStaleness && c.stockInterval >= time.Second && c.maxStaleness >= time.Second {
		problems = append(problems, fmt.Errorf("--sync.stock-interval %s must be shorter than --sync.max-staleness %s, or every stock series vanishes for part of each cycle: lower --sync.stock-interval or raise --sync.max-staleness", c.stockInterval, c.maxStaleness))
	}
	switch {
	case c.fullStock < 0:
		problems = append(problems, fmt.Errorf("--sync.full-stock-interval must not be negative, got %s", c.fullStock))
	case c.fullStock > c.stockInterval && c.fullStock >= c.maxStaleness:
		problems = append(problems, fmt.Errorf("--sync.full-stock-interval %s must be shorter than --sync.max-staleness %s, or an unchanged warehouse's stock would expire between its full reads", c.fullStock, c.maxStaleness))
	}
	if c.flowInterval != 0 && c.flowInterval < time.Minute {
		problems = append(problems, fmt.Errorf("--sync.flow-interval must be 0 (off) or at least 1m, got %s", c.flowInterval))
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
// to check the URL: the client is never used, so nothing is sent.
type noToken struct{}

func (noToken) Token() (string, error) { return "", errors.New("no token in --config.check") }

// checkConfig is --config.check: it checks what a start would, short of
// binding the listeners and calling the API, reports the flag problems
// found so far with its own, and returns the exit code. Warnings (a token
// file other users can read, flags --demo ignores) are printed and leave the
// exit code 0.
func checkConfig(cfg *config, problems []error, stdout, stderr io.Writer) int {
	var warnings []string
	if cfg.url != "" && !cfg.demo {
		if _, err := kartustok.New(cfg.url, noToken{}); err != nil {
			problems = append(problems, err)
		}
	}
	if cfg.budgetRequests() >= 1 && cfg.window > 0 && cfg.healthInterval > 0 {
		// What a start warns of the budget's shares, from the same client.
		c, err := kartustok.New("https://check.invalid/public/v1", noToken{},
			kartustok.WithBudget(cfg.budgetRequests(), cfg.window), kartustok.WithHealthInterval(cfg.healthInterval))
		if err == nil {
			if reserve, _, cut := c.Shares(); cut {
				warnings = append(warnings, fmt.Sprintf("health checks get %d requests of the budget of %d per %s, less than their reserve: the budget cannot hold one request per check a window plus one and still leave one for catalog and stock",
					reserve, cfg.budgetRequests(), cfg.window))
			}
		}
	}
	if cfg.web.WebSystemdSocket == nil || !*cfg.web.WebSystemdSocket {
		for _, addr := range *cfg.web.WebListenAddresses {
			if err := checkListenAddress(addr); err != nil {
				problems = append(problems, err)
			}
		}
	}
	if err := checkWebConfig(*cfg.web.WebConfigFile); err != nil {
		problems = append(problems, err)
	}

	var summary []string
	switch {
	case cfg.demo:
		summary = append(summary, "demo company")
		if cfg.url != "" || cfg.tokenFile != "" {
			warnings = append(warnings, "--demo ignores --kartustok.url and --kartustok.token-file")
		}
	case cfg.tokenFile != "":
		summary = append(summary, "token file "+cfg.tokenFile)
	default:
		summary = append(summary, "token from "+tokenEnv)
	}
	if !cfg.demo {
		// The token is read as a start reads it, only to know that it
		// can be: its value is neither kept nor shown.
		if _, err := tokenSource(cfg); err != nil {
			problems = append(problems, err)
		} else if cfg.tokenFile != "" {
			if w := tokenFileWarning(cfg.tokenFile); w != "" {
				warnings = append(warnings, w)
			}
		}
	}
	if f := *cfg.web.WebConfigFile; f != "" {
		summary = append(summary, "web config file "+f)
	} else {
		summary = append(summary, "no --web.config.file")
	}

	var lines []string
	for _, p := range problems {
		lines = append(lines, p.Error())
	}
	if cfg.minimumsFile != "" {
		set, err := minimums.Load(cfg.minimumsFile)
		if err != nil {
			lines = append(lines, minimums.FileProblems(err)...)
		} else {
			sum := set.Summary()
			summary = append(summary, fmt.Sprintf("minimums file %s: categories=%d items=%d warehouse_minimums=%d", cfg.minimumsFile, sum.Categories, sum.Items, sum.Warehouses))
		}
	} else {
		summary = append(summary, "no --stock.minimums-file")
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning: "+w)
	}
	if len(lines) > 0 {
		for _, l := range lines {
			fmt.Fprintln(stderr, l)
		}
		return 1
	}
	fmt.Fprintf(stdout, "%s: configuration OK; %s\n", exporterName, strings.Join(summary, "; "))
	return 0
}

// checkWebConfig loads --web.config.file as the web server will, with its
// certificates and password hashes, so that a start fails on a missing or
// invalid file before it binds a port or polls the API.
func checkWebConfig(file string) error {
	if file == "" {
		return nil
	}
	if err := web.Validate(file); err != nil {
		// A missing or unreadable file: its name is said once.
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == file {
			err = pe.Err
		}
		return fmt.Errorf("--web.config.file %s: %w", file, err)
	}
	return nil
}

// checkListenAddress checks the form of one --web.listen-address; only
// binding it can check the rest.
func checkListenAddress(addr string) error {
	if strings.HasPrefix(addr, "vsock://") {
		_, err := vsockPort(addr)
		return err
	}
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = net.DefaultResolver.LookupPort(context.Background(), "tcp", port)
	}
	if err != nil {
		return fmt.Errorf("--web.listen-address %q is not host:port, :port or vsock://:port: %w", addr, err)
	}
	return nil
}

// vsockPort is the port of a vsock://:port listen address.
func vsockPort(addr string) (uint32, error) {
	u, err := url.Parse(addr)
	var port string
	if err == nil {
		_, port, err = net.SplitHostPort(u.Host)
	}
	var p uint64
	if err == nil {
		p, err = strconv.ParseUint(port, 10, 32)
	}
	if err != nil {
		return 0, fmt.Errorf("--web.listen-address %q is not vsock://:port: %w", addr, err)
	}
	return uint32(p), nil
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
	if cfg.apiCheck {
		return apiCheck(ctx, cfg, stdout, logger)
	}
	if err := serve(ctx, cfg, logger, slogger); err != nil {
		level.Error(logger).Log("msg", "Exiting", "err", err)
		return 1
	}
	return 0
}

// apiCheck is --kartustok.check: one call of each endpoint the exporter
// reads, a report on stdout, and the exit code. With --demo it checks the
// demo company.
func apiCheck(ctx context.Context, cfg *config, stdout io.Writer, logger log.Logger) int {
	if cfg.demo {
		d, err := startDemo(log.With(logger, "component", "demo"))
		if err != nil {
			level.Error(logger).Log("msg", "Exiting", "err", fmt.Errorf("starting the demo company: %w", err))
			return 1
		}
		defer d.Close()
		cfg.url, cfg.tokenFile = d.URL, d.TokenFile
	}
	var (
		src  kartustok.TokenSource
		from string
	)
	if cfg.tokenFile != "" {
		src, from = kartustok.TokenFile(cfg.tokenFile), "file "+cfg.tokenFile
		if w := tokenFileWarning(cfg.tokenFile); w != "" {
			level.Warn(logger).Log("msg", w)
		}
	} else {
		src, from = kartustok.TokenEnv(tokenEnv), "the "+tokenEnv+" environment variable"
	}
	ok := check.Run(ctx, check.Config{
		URL: cfg.url, Token: src.Token, TokenFrom: from, TokenExpiresAt: cfg.tokenExpiresAt,
		RateLimit: cfg.rateLimit, Timeout: cfg.timeout, MaxBodyBytes: int64(cfg.maxBody), Out: stdout,
	})
	if !ok {
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

// tokenFileWarning says who else can read the token file, or "" when only
// the exporter's user, and a group the exporter belongs to, can. It is a
// warning, not an error: the exporter works, but the token is exposed. The
// message names the file and its mode, never the token.
func tokenFileWarning(file string) string {
	if runtime.GOOS == "windows" {
		return "" // no Unix permission bits to judge
	}
	fi, err := os.Stat(file) // through symlinks, as a Kubernetes Secret volume has them
	if err != nil {
		return "" // reading the token reports it
	}
	perm := fi.Mode().Perm()
	fix := fmt.Sprintf("chmod 0600 %s if the exporter's user owns it, or else give it the exporter user's group and chmod 0640", file)
	switch {
	case perm&0o004 != 0:
		return fmt.Sprintf("token file %s has mode %04o, which lets every user read the token: %s. "+
			"In Kubernetes, a Secret volume's files have mode 0644 unless the volume sets defaultMode: set it to 0440, with the pod's fsGroup as the exporter's group", file, perm, fix)
	case perm&0o040 != 0 && !hasACL(file):
		if gid, ok := fileGID(fi); ok && !inGroup(gid) {
			return fmt.Sprintf("token file %s has mode %04o and group %d, which the exporter is not in, so that group's members can read the token: %s", file, perm, gid, fix)
		}
	}
	return ""
}

// fileGID returns the group of fi's file. main.go builds on every platform,
// and syscall.Stat_t, which holds it, exists only on Unix.
func fileGID(fi fs.FileInfo) (int, bool) {
	v := reflect.Indirect(reflect.ValueOf(fi.Sys()))
	if v.Kind() != reflect.Struct {
		return 0, false
	}
	f := v.FieldByName("Gid")
	if !f.IsValid() || !f.CanUint() {
		return 0, false
	}
	return int(f.Uint()), true
}

// inGroup reports whether the process is in group gid.
func inGroup(gid int) bool {
	if gid == os.Getegid() {
		return true
	}
	groups, _ := os.Getgroups()
	return slices.Contains(groups, gid)
}

// listen binds every listener the web flags ask for, or takes the ones
// systemd passed. It runs before the exporter polls the API or says it is
// listening, so that a port in use stops start-up before either.
func listen(ctx context.Context, flags *web.FlagConfig, logger log.Logger) ([]net.Listener, error) {
	if flags.WebSystemdSocket != nil && *flags.WebSystemdSocket {
		passed, err := activation.Listeners()
		if err != nil {
			return nil, fmt.Errorf("--web.systemd-socket: %w", err)
		}
		// A descriptor that is not a stream socket has no listener.
		listeners := slices.DeleteFunc(passed, func(l net.Listener) bool { return l == nil })
		if len(listeners) == 0 {
			return nil, errors.New("--web.systemd-socket: systemd passed no listening socket; start the exporter from a .socket unit, or drop the flag")
		}
		level.Info(logger).Log("msg", "Using the sockets passed by systemd socket activation", "listeners", len(listeners))
		return listeners, nil
	}
	var listeners []net.Listener
	for _, addr := range *flags.WebListenAddresses {
		l, err := listenOn(ctx, addr)
		if err != nil {
			closeAll(listeners)
			return nil, err
		}
		listeners = append(listeners, l)
	}
	if len(listeners) == 0 {
		return nil, web.ErrNoListeners
	}
	return listeners, nil
}

// listenOn binds one --web.listen-address.
func listenOn(ctx context.Context, addr string) (net.Listener, error) {
	var l net.Listener
	var err error
	if strings.HasPrefix(addr, "vsock://") {
		var port uint32
		if port, err = vsockPort(addr); err != nil {
			return nil, err
		}
		l, err = vsock.Listen(port, nil)
	} else {
		var lc net.ListenConfig
		l, err = lc.Listen(ctx, "tcp", addr)
	}
	if err != nil {
		hint := ""
		if errors.Is(err, syscall.EADDRINUSE) {
			hint = "; another process, perhaps another kartustok_exporter, uses the port: stop it or choose another --web.listen-address"
		}
		return nil, fmt.Errorf("cannot listen on --web.listen-address=%s: %w%s", addr, err, hint)
	}
	return l, nil
}

func closeAll(listeners []net.Listener) {
	for _, l := range listeners {
		_ = l.Close()
	}
}

// serveHTTP serves handler on the bound listeners until ctx is done or one
// of them fails. exporter-toolkit serves each, with the TLS and basic auth
// of --web.config.file, and logs "Listening on" for it. Each listener has
// a server of its own: web.Serve wraps its server's handler for basic auth,
// which on a shared server it would do once per listener, concurrently.
// The servers share limits' bound on open connections and each has its
// timeouts, so that slow or idle clients let go of what they hold.
func serveHTTP(ctx context.Context, listeners []net.Listener, handler http.Handler, flags *web.FlagConfig, limits serverLimits, logger log.Logger, slogger *slog.Logger) error {
	kv := []any{"msg", "Limiting the web server's connections and timeouts"}
	if limits.maxConns == 0 {
		nofile := openFilesLimit()
		limits.maxConns = connectionBound(nofile)
		if nofile != 0 {
			kv = append(kv, "open_files_limit", nofile)
		}
	}
	level.Info(logger).Log(append(kv, "max_connections", limits.maxConns,
		"read_header_timeout", limits.readHeaderTimeout, "read_timeout", limits.readTimeout,
		"write_timeout", limits.writeTimeout, "idle_timeout", limits.idleTimeout)...)
	listeners = limitListeners(listeners, limits.maxConns)

	servers := make([]*http.Server, len(listeners))
	served := make(chan error, len(listeners))
	for i, l := range listeners {
		srv := &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: limits.readHeaderTimeout,
			ReadTimeout:       limits.readTimeout,
			WriteTimeout:      limits.writeTimeout,
			IdleTimeout:       limits.idleTimeout,
		}
		servers[i] = srv
		go func() { served <- web.Serve(l, srv, flags, slogger) }()
	}
	var err error
	pending := len(servers)
	select {
	case err = <-served:
		// A listener failed; the others stop with it.
		pending--
	case <-ctx.Done():
		level.Info(logger).Log("msg", "Shutting down")
	}
	shutdownCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	for _, srv := range servers {
		if serr := srv.Shutdown(shutdownCtx); serr != nil {
			level.Warn(logger).Log("msg", "Web server did not shut down cleanly", "err", serr)
		}
	}
	for ; pending > 0; pending-- {
		if serr := <-served; err == nil && !errors.Is(serr, http.ErrServerClosed) {
			err = serr
		}
	}
	return err
}

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
	engine, err := refresh.New(client, refresh.Config{
		HealthInterval:    cfg.healthInterval,
		CatalogInterval:   cfg.catalogEvery,
		StockInterval:     cfg.stockInterval,
		FullStockInterval: cfg.fullStock,
		FlowInterval:      cfg.flowInterval,
		MaxStaleness:      cfg.maxStaleness,
		Budget:            budget,
		Window:            cfg.window,
		HealthReserve:     reserve,
		CatalogCap:        catalogCap,
		TokenExpiresAt:    cfg.tokenExpiresAt,
		Logger:            logger,
		OnCatalog:         reloader.CheckCatalog,
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
	snap   *refresh.Snapshot
	api    uint64
	reload uint64
}

// serve checks what start-up needs, binds the listeners, then wires the
// data path (client → engine → snapshot → collector) and the web server,
// and runs both until ctx is cancelled. Nothing polls the API, and nothing
// says it listens, until every listener is bound.
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

	// Then everything else a start can get wrong, before a port is bound
	// or the API polled: the web configuration and the token.
	if err := checkWebConfig(*cfg.web.WebConfigFile); err != nil {
		return err
	}
	var tokens kartustok.TokenSource
	if !cfg.demo {
		if tokens, err = tokenSource(cfg); err != nil {
			return err
		}
		if cfg.tokenFile != "" {
			if w := tokenFileWarning(cfg.tokenFile); w != "" {
				level.Warn(logger).Log("msg", w)
			}
		}
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
		demo, err := startDemo(log.With(logger, "component", "demo"))
		if err != nil {
			return fmt.Errorf("starting the demo company: %w", err)
		}
		defer demo.Close()
		cfg.url, cfg.tokenFile = demo.URL, demo.TokenFile
		if tokens, err = tokenSource(cfg); err != nil {
			return err
		}
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

	err = serveHTTP(ctx, listeners, handler, cfg.web, cfg.server, logger, slogger)
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
