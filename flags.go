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

// The command line: the flags, their defaults and their validation.

package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"time"
	"unicode"

	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	companyfile "github.com/kartustok/kartustok_exporter/config"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/refresh"
)

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
	// stockSet and fullStockSet say whether the user set the intervals
	// themselves; if not, they derive from --sync.max-staleness.
	stockSet, fullStockSet bool
	flowInterval           time.Duration
	maxStaleness           time.Duration
	minimumsFile           string
	storagePath            string
	demo                   bool
	configCheck            bool
	apiCheck               bool

	// collectFlow and collectMovements are the collector switches,
	// --[no-]collector.flow and --[no-]collector.movements; they hold for
	// every company.
	collectFlow, collectMovements bool

	// company is the value of the company label of the one company the
	// flags describe; configFile, when set, lists the companies instead.
	company string
	// tokenOrigin names where the token file was given, for its errors.
	tokenOrigin string
	configFile  string
	shard       int
	shardSet    bool
	totalShards int
	// shardFrom says where the shard came from when --shard is not set.
	shardFrom     string
	demoCompanies int

	web                    *web.FlagConfig
	telemetryPath          string
	maxRequests            int
	disableExporterMetrics bool
	server                 serverLimits

	logLevel  string
	logFormat string
}

// engineConfig is what the flags set of the engine's configuration; the
// rest comes from the client it runs with.
func (c *config) engineConfig() refresh.Config {
	return refresh.Config{
		HealthInterval:    c.healthInterval,
		CatalogInterval:   c.catalogEvery,
		StockInterval:     c.stockInterval,
		FullStockInterval: c.fullStock,
		FlowInterval:      c.flowInterval,
		Off:               refresh.Collectors{Flow: !c.collectFlow, Movements: !c.collectMovements},
		MaxStaleness:      c.maxStaleness,
		Budget:            c.budgetRequests(),
		Window:            c.window,
		TokenExpiresAt:    c.tokenExpiresAt,
	}
}

// collectors lists the collectors a --[no-]collector.NAME flag switches,
// those that are on and those that are off, in the order --help lists
// them. The switches hold for every company the process serves.
func (c *config) collectors() (on, off []string) {
	for _, sw := range []struct {
		name string
		on   bool
	}{{"flow", c.collectFlow}, {"movements", c.collectMovements}} {
		if sw.on {
			on = append(on, sw.name)
		} else {
			off = append(off, sw.name)
		}
	}
	return on, off
}

// budgetRequests is the requests per window the client allows itself.
func (c *config) budgetRequests() int { return kartustok.BudgetFor(c.rateLimit, c.budget) }

// parseFlags parses args. done is set when the program should exit with
// code without running (--help, --version, a parse error).
func parseFlags(args []string, stdout, stderr io.Writer) (cfg *config, done bool, code int) {
	cfg = &config{server: defaultServerLimits()}
	app := kingpin.New(exporterName, "Exports the stock of KartuStok companies to Prometheus, polling their public APIs in the background, each within a request budget.")
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	app.Terminate(func(c int) { done, code = true, c })

	var expires string
	app.Flag("kartustok.url", "Base URL of the company's KartuStok API, https://<subdomain>.kartustok.com/public/v1. Required unless --demo.").
		PlaceHolder("URL").StringVar(&cfg.url)
	app.Flag("kartustok.token-file", "File holding the API token, re-read at every request; default: the "+tokenEnv+" variable.").
		PlaceHolder("FILE").StringVar(&cfg.tokenFile)
	app.Flag("kartustok.token-expires-at", "Token expiry (RFC 3339, or YYYY-MM-DD at 00:00 UTC) when /meta/company does not report it.").
		PlaceHolder("TIME").StringVar(&expires)
	app.Flag("kartustok.timeout", "Timeout of one API request.").Default("10s").DurationVar(&cfg.timeout)
	app.Flag("kartustok.max-body-size", "Largest API answer read; a larger one is refused as invalid.").
		Default("4MiB").BytesVar(&cfg.maxBody)
	app.Flag("kartustok.rate-limit", "Requests the API allows per rate-limit window.").Default("120").IntVar(&cfg.rateLimit)
	app.Flag("kartustok.rate-limit-window", "The API's rate-limit window.").Default("60s").DurationVar(&cfg.window)
	app.Flag("kartustok.budget", "Share of the rate limit the exporter may use, in (0, 1]; the rest is left to other integrations sharing the token and IP.").
		Default("0.8").Float64Var(&cfg.budget)
	app.Flag("sync.health-interval", "Period of the API health check.").Default("30s").DurationVar(&cfg.healthInterval)
	app.Flag("sync.catalog-interval", "Period of the refresh of company metadata, item categories, locators and items.").Default("15m").DurationVar(&cfg.catalogEvery)
	app.Flag("sync.stock-interval", "Wanted period of a stock refresh; default 1m, at most half --sync.max-staleness.").
		Default("1m").IsSetByUser(&cfg.stockSet).DurationVar(&cfg.stockInterval)
	app.Flag("sync.full-stock-interval", "Longest a warehouse goes unread in full; default 15m, at most half --sync.max-staleness.").
		Default("15m").IsSetByUser(&cfg.fullStockSet).DurationVar(&cfg.fullStock)
	app.Flag("sync.flow-interval", "Period of the 30-day flow and the day's movements by type, also read after the company's midnight; 0: off.").
		Default("1h").DurationVar(&cfg.flowInterval)
	app.Flag("sync.max-staleness", "Stock older than this is no longer exported.").Default("30m").DurationVar(&cfg.maxStaleness)
	app.Flag("collector.flow", "Enable the flow collector: kartustok_stock_inflow_quantity and kartustok_stock_outflow_quantity.").
		Default("true").BoolVar(&cfg.collectFlow)
	app.Flag("collector.movements", "Enable the movements collector: kartustok_stock_movements.").
		Default("true").BoolVar(&cfg.collectMovements)
	app.Flag("stock.minimums-file", "YAML file of minimum stock levels, re-read on SIGHUP and POST /-/reload.").
		PlaceHolder("FILE").StringVar(&cfg.minimumsFile)
	app.Flag("kartustok.company", "Value of the company label; default: the first label of the URL's host name, demo for --demo.").
		PlaceHolder("NAME").StringVar(&cfg.company)
	app.Flag("config.file", "YAML file of the companies to export, in place of the single-company flags; re-read on SIGHUP and POST /-/reload.").
		PlaceHolder("FILE").StringVar(&cfg.configFile)
	app.Flag("total-shards", "Replicas the companies of --config.file are divided among, by a stable hash of their names.").
		Default("1").IntVar(&cfg.totalShards)
	app.Flag("shard", "This replica's shard, from 0; default: the ordinal of the pod name (POD_NAME, else the host name).").
		IsSetByUser(&cfg.shardSet).Default("0").IntVar(&cfg.shard)
	app.Flag("storage.path", "Directory to keep what the exporter learned in, for restarts that lose nothing; empty: none.").
		PlaceHolder("DIR").StringVar(&cfg.storagePath)
	app.Flag("config.check", "Check the flags, the web config, the token file and the minimums file as a start would, then exit.").
		Default("false").BoolVar(&cfg.configCheck)
	app.Flag("kartustok.check", "Call each API endpoint once (at most 7 requests), report what works and how to fix the rest, then exit.").
		Default("false").BoolVar(&cfg.apiCheck)
	app.Flag("demo", "Run against an embedded simulated company on loopback instead of a real KartuStok API.").Default("false").BoolVar(&cfg.demo)
	app.Flag("demo.companies", "Simulated companies --demo serves, named demo-1, demo-2, … when more than one.").Default("1").IntVar(&cfg.demoCompanies)
	cfg.web = kingpinflag.AddFlags(app, defaultAddress)
	app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&cfg.telemetryPath)
	app.Flag("web.max-requests", "Most concurrent scrapes, which share the same rendered bytes; more get 503. 0: no limit.").Default("100").IntVar(&cfg.maxRequests)
	app.Flag("web.disable-exporter-metrics", "Exclude metrics about the exporter itself (promhttp_*, process_*, go_*).").Default("false").BoolVar(&cfg.disableExporterMetrics)
	app.Flag("log.level", "Only log messages with the given severity or above. One of: [debug, info, warn, error]").
		Default("info").EnumVar(&cfg.logLevel, "debug", "info", "warn", "error")
	app.Flag("log.format", "Output format of log messages. One of: [logfmt, json]").
		Default("logfmt").EnumVar(&cfg.logFormat, "logfmt", "json")

	if _, err := app.Parse(args); err != nil {
		printError(stderr, fmt.Errorf("%w, try --help", err))
		return nil, true, 2
	}
	if done {
		return nil, true, code
	}
	cfg.deriveIntervals()
	problems := cfg.validate(expires)
	if cfg.configCheck && cfg.apiCheck {
		problems = append(problems, errors.New("--config.check and --kartustok.check exclude each other: the first never calls the API, the second does"))
	}
	if cfg.configCheck {
		return nil, true, checkConfig(cfg, problems, stdout, stderr)
	}
	if len(problems) > 0 {
		for _, p := range problems {
			printError(stderr, p)
		}
		return nil, true, 2
	}
	return cfg, false, 0
}

// The defaults of the stock intervals, unless --sync.max-staleness is
// shorter than twice them.
const (
	defaultStockInterval     = time.Minute
	defaultFullStockInterval = 15 * time.Minute
)

// deriveIntervals gives the stock intervals the user did not set values
// that fit the max staleness they did: at most half of it, so that a warehouse
// is read at least twice before its stock expires. Only an explicit
// contradiction is then an error, so a flag set that was valid stays valid
// when a default changes.
func (c *config) deriveIntervals() {
	half := max(c.maxStaleness/2, time.Second)
	if !c.stockSet {
		c.stockInterval = min(defaultStockInterval, half)
	}
	if !c.fullStockSet {
		c.fullStock = min(defaultFullStockInterval, half)
	}
}

// validate checks what kingpin cannot and fills in derived values. It
// returns every problem, so that --config.check lists them all at once.
func (c *config) validate(expires string) []error {
	var problems []error
	switch {
	case c.configFile != "":
		problems = append(problems, c.validateFileMode(expires)...)
	case c.url == "" && !c.demo:
		problems = append(problems, errors.New("--kartustok.url is required: the company's API, https://<subdomain>.kartustok.com/public/v1 (or run --demo, or list companies in --config.file)"))
	case c.url != "" && !c.demo:
		if _, err := kartustok.New(c.url, noToken{}); err != nil {
			problems = append(problems, err)
		}
	}
	problems = append(problems, c.validateCompanies()...)
	if c.web.WebSystemdSocket == nil || !*c.web.WebSystemdSocket {
		for _, addr := range *c.web.WebListenAddresses {
			if err := checkListenAddress(addr); err != nil {
				problems = append(problems, err)
			}
		}
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"kartustok.timeout", c.timeout},
		{"kartustok.rate-limit-window", c.window},
	} {
		if d.v < time.Second {
			problems = append(problems, fmt.Errorf("--%s must be at least 1s, got %s", d.flag, d.v))
		}
	}
	problems = append(problems, c.engineConfig().Validate()...)
	if c.maxBody < 64<<10 || c.maxBody > 1<<30 {
		problems = append(problems, fmt.Errorf("--kartustok.max-body-size must be between 64KiB and 1GiB, got %s", c.maxBody))
	}
	problems = append(problems, c.budgetProblems()...)
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

// budgetProblems checks the rate limit and the budget.
func (c *config) budgetProblems() []error {
	switch {
	case c.rateLimit < 1:
		return []error{fmt.Errorf("--kartustok.rate-limit must be at least 1, got %d", c.rateLimit)}
	case !(c.budget > 0 && c.budget <= 1):
		return []error{fmt.Errorf("--kartustok.budget must be in (0, 1], got %g", c.budget)}
	case c.budgetRequests() < 1:
		return []error{fmt.Errorf("--kartustok.budget %g of --kartustok.rate-limit %d leaves no request per window", c.budget, c.rateLimit)}
	}
	return nil
}

// validateFileMode refuses, with --config.file, the flags that describe a
// single company: the file names each company's.
func (c *config) validateFileMode(expires string) []error {
	var given []string
	for _, f := range []struct{ flag, value, key string }{
		{"kartustok.url", c.url, "url"},
		{"kartustok.token-file", c.tokenFile, "token_file"},
		{"kartustok.token-expires-at", expires, "token_expires_at"},
		{"stock.minimums-file", c.minimumsFile, "minimums_file"},
		{"kartustok.company", c.company, "name"},
	} {
		if f.value != "" {
			given = append(given, fmt.Sprintf("--%s (the file's %s)", f.flag, f.key))
		}
	}
	var problems []error
	if len(given) > 0 {
		problems = append(problems, fmt.Errorf("--config.file lists the companies, each with its own URL, token, minimums and name; remove %s and give them per company in the file", strings.Join(given, ", ")))
	}
	if c.demo {
		problems = append(problems, errors.New("--demo and --config.file exclude each other: the demo serves simulated companies of its own"))
	}
	return problems
}

// The most simulated companies --demo serves.
const maxDemoCompanies = 100

// validateCompanies checks the company name, the demo's companies and the
// shard, and fills in the defaults of the name and the shard.
func (c *config) validateCompanies() []error {
	var problems []error
	switch {
	case c.configFile != "":
	case c.company != "":
		if !companyfile.ValidName(c.company) {
			problems = append(problems, fmt.Errorf("--kartustok.company %q must match %s: it is the value of the company label", c.company, companyfile.NameRule))
		}
	case c.demo:
		c.company = "demo"
	default:
		c.company = defaultCompany(c.url)
	}
	switch {
	case c.demo && (c.demoCompanies < 1 || c.demoCompanies > maxDemoCompanies):
		problems = append(problems, fmt.Errorf("--demo.companies must be between 1 and %d, got %d", maxDemoCompanies, c.demoCompanies))
	case !c.demo && c.demoCompanies != 1:
		problems = append(problems, errors.New("--demo.companies is for --demo"))
	case c.demoCompanies > 1 && c.company != "demo":
		problems = append(problems, fmt.Errorf("--kartustok.company names the one company of --demo; --demo.companies=%d names its companies demo-1 to demo-%[1]d", c.demoCompanies))
	}
	if c.totalShards < 1 {
		return append(problems, fmt.Errorf("--total-shards must be at least 1, got %d", c.totalShards))
	}
	if c.totalShards > 1 && c.configFile == "" && !c.demo {
		// No shard can mend this, so none is looked for.
		return append(problems, fmt.Errorf("--total-shards=%d divides the companies of --config.file (or --demo's) among replicas; one company cannot be divided", c.totalShards))
	}
	if !c.shardSet && c.totalShards > 1 {
		shard, from, err := shardFromPod()
		if err != nil {
			return append(problems, fmt.Errorf("--total-shards=%d without --shard: %w; set --shard", c.totalShards, err))
		}
		c.shard, c.shardFrom = shard, from
	}
	if err := companyfile.CheckShard(c.shard, c.totalShards); err != nil {
		if c.shardFrom != "" {
			err = fmt.Errorf("%w, %s", err, c.shardFrom)
		}
		problems = append(problems, fmt.Errorf("--shard: %w", err))
	}
	return problems
}

// defaultCompany is the company label of --kartustok.url: the first label
// of its host name, in lower case, or "kartustok" when that is not a valid
// name (an IP address, a label with other characters).
func defaultCompany(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil && net.ParseIP(u.Hostname()) == nil {
		label, _, _ := strings.Cut(u.Hostname(), ".")
		if label = strings.ToLower(label); companyfile.ValidName(label) {
			return label
		}
	}
	return "kartustok"
}

// hostname is os.Hostname, which a test replaces to play a pod.
var hostname = os.Hostname

// shardFromPod is the shard of a StatefulSet's pod: the ordinal at the end
// of its name, from the POD_NAME variable (the downward API) or else the
// host name, which Kubernetes sets to the pod's name.
func shardFromPod() (shard int, from string, err error) {
	name, from := os.Getenv("POD_NAME"), "POD_NAME"
	if name == "" {
		if name, err = hostname(); err != nil {
			return 0, "", fmt.Errorf("no POD_NAME and no host name: %w", err)
		}
		from = "the host name"
	}
	shard, ok := companyfile.ShardFromPodName(name)
	if !ok {
		return 0, "", fmt.Errorf("%s %q does not end in a StatefulSet pod's ordinal (-0, -1, …)", from, name)
	}
	return shard, fmt.Sprintf("the ordinal of %s %q", from, name), nil
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

// printError writes a problem the user must fix as every error line of
// the program starts: "kartustok_exporter: error: ".
func printError(w io.Writer, err error) {
	fmt.Fprintf(w, "%s: error: %v\n", exporterName, err)
}
