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
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/version"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/collector"
	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

func TestParseFlagsRejectsBadStartUp(t *testing.T) {
	base := []string{"--kartustok.url=https://sinarjaya.kartustok.com/public/v1"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing URL", nil, "--kartustok.url is required"},
		{"budget zero", append(base, "--kartustok.budget=0"), "--kartustok.budget must be in (0, 1]"},
		{"budget above one", append(base, "--kartustok.budget=1.2"), "--kartustok.budget must be in (0, 1]"},
		{"budget rounds to nothing", append(base, "--kartustok.rate-limit=1", "--kartustok.budget=0.5"), "leaves no request per window"},
		{"short interval", append(base, "--sync.health-interval=500ms"), "--sync.health-interval must be at least 1s"},
		{"short timeout", append(base, "--kartustok.timeout=0s"), "--kartustok.timeout must be at least 1s"},
		{"bad expiry", append(base, "--kartustok.token-expires-at=next week"), "neither RFC 3339"},
		{"bad level", append(base, "--log.level=verbose"), "enum value must be one of"},
		{"unknown flag", append(base, "--kartustok.token=secret"), "unknown long flag"},
		{"bad telemetry path", append(base, "--web.telemetry-path=/-/metrics"), "--web.telemetry-path"},
		{"full reads too rare", append(base, "--sync.full-stock-interval=30m"), "--sync.full-stock-interval 30m0s must be shorter than --sync.max-staleness 30m0s"},
		{"stock refresh too rare", append(base, "--sync.stock-interval=40m"), "--sync.stock-interval 40m0s must be shorter than --sync.max-staleness 30m0s, or every stock series vanishes for part of each cycle: lower --sync.stock-interval or raise --sync.max-staleness"},
		{"stock refresh as rare as staleness", append(base, "--sync.stock-interval=10m", "--sync.max-staleness=10m", "--sync.full-stock-interval=5m"), "--sync.stock-interval 10m0s must be shorter than --sync.max-staleness 10m0s"},
		{"negative full reads", append(base, "--sync.full-stock-interval=-1m"), "--sync.full-stock-interval must not be negative"},
		{"flow too often", append(base, "--sync.flow-interval=10s"), "--sync.flow-interval must be 0 (off) or at least 1m"},
		{"both checks", append(base, "--config.check", "--kartustok.check"), "exclude each other"},
		{"member domain", []string{"--kartustok.url=https://member.kartustok.com/public/v1"}, "is the member domain"},
		{"not a URL", []string{"--kartustok.url=sinarjaya.kartustok.com"}, "must start with https://"},
		{"listen address without a port", append(base, "--web.listen-address=9472"), `--web.listen-address "9472" is not host:port`},
	} {
		// A flag error exits 2 in every mode, each line of it starting
		// as every error line of the program does.
		for _, mode := range []string{"start", "--config.check", "--kartustok.check"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				args := tc.args
				if mode != "start" && !slices.Contains(args, mode) {
					args = append(slices.Clone(args), mode)
				}
				var stdout, stderr bytes.Buffer
				cfg, done, code := parseFlags(args, &stdout, &stderr)
				require.True(t, done, "accepted")
				assert.Nil(t, cfg)
				assert.Equal(t, 2, code, stderr.String())
				assert.Contains(t, stderr.String(), tc.want)
				for line := range strings.SplitSeq(strings.TrimSuffix(stderr.String(), "\n"), "\n") {
					assert.Regexp(t, `^kartustok_exporter: (error|warning): `, line)
				}
			})
		}
	}
}

func TestParseFlagsDefaults(t *testing.T) {
	var stdout, stderr bytes.Buffer
	cfg, done, _ := parseFlags([]string{"--demo"}, &stdout, &stderr)
	if done {
		t.Fatalf("--demo alone refused: %s", stderr.String())
	}
	if got := (*cfg.web.WebListenAddresses)[0]; got != ":9472" {
		t.Errorf("listen address = %s, want :9472", got)
	}
	for name, got := range map[string]any{
		"timeout": cfg.timeout, "window": cfg.window, "health": cfg.healthInterval,
		"catalog": cfg.catalogEvery, "stock": cfg.stockInterval, "staleness": cfg.maxStaleness,
		"budget requests": cfg.budgetRequests(), "max requests": cfg.maxRequests, "path": cfg.telemetryPath,
		"level": cfg.logLevel, "format": cfg.logFormat,
	} {
		want := map[string]any{
			"timeout": 10 * time.Second, "window": time.Minute, "health": 30 * time.Second,
			"catalog": 15 * time.Minute, "stock": time.Minute, "staleness": 30 * time.Minute,
			"budget requests": 96, "max requests": 100, "path": "/metrics",
			"level": "info", "format": "logfmt",
		}[name]
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

func TestParseExpiry(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2027-01-31":                time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC),
		"2027-01-31T23:59:59+07:00": time.Date(2027, 1, 31, 16, 59, 59, 0, time.UTC),
	} {
		got, err := parseExpiry(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseExpiry(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

func TestVersionFlag(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--version"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(stdout.String()+stderr.String(), "kartustok_exporter, version") {
		t.Errorf("--version printed %q", stdout.String()+stderr.String())
	}
}

// TestStartUpErrors runs the program up to the point where it would serve:
// each case must stop before that with a clear message and exit 1.
func TestStartUpErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty-token")
	if err := os.WriteFile(empty, []byte("  \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "token")
	if err := os.WriteFile(good, []byte("ks_secret_token_value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "no-such-file")
	url := "--kartustok.url=https://sinarjaya.kartustok.com/public/v1"
	for _, tc := range []struct {
		name string
		env  string
		args []string
		want string
	}{
		{"no token", "", []string{url}, "no API token"},
		{"empty env token", "set-empty", []string{url}, "KARTUSTOK_TOKEN is empty"},
		{"missing token file", "", []string{url, "--kartustok.token-file=" + missing}, missing},
		{"empty token file", "", []string{url, "--kartustok.token-file=" + empty}, empty},
		{"missing token file", "", []string{url, "--kartustok.token-file=" + missing}, "create the file holding the API token alone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env == "set-empty" {
				t.Setenv(tokenEnv, "")
			} else {
				t.Setenv(tokenEnv, "x") // so that Unsetenv is undone after the test
				os.Unsetenv(tokenEnv)
			}
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // never serve, even if start-up wrongly succeeds
			args := slices.Concat(tc.args, []string{"--web.listen-address=127.0.0.1:0"})
			if code := runContext(ctx, args, &stdout, &stderr); code != 1 {
				t.Errorf("exit %d, want 1; stderr:\n%s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, stderr.String())
			}
			if strings.Contains(stderr.String(), "ks_secret_token_value") {
				t.Error("the token appears in the output")
			}
		})
	}
}

type fakeReady struct{ ready atomic.Bool }

func (f *fakeReady) Ready() bool { return f.ready.Load() }

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

func TestHandlerEndpoints(t *testing.T) {
	ready := &fakeReady{}
	h, err := newHandler(handlerConfig{telemetryPath: "/metrics", maxRequests: 2, pedantic: true, logger: log.NewNopLogger()}, ready, collector.NewAPIMetrics())
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, h, "/-/healthy"); code != http.StatusOK {
		t.Errorf("/-/healthy = %d", code)
	}
	if code, _ := get(t, h, "/-/ready"); code != http.StatusServiceUnavailable {
		t.Errorf("/-/ready before the first stock refresh = %d, want 503", code)
	}
	ready.ready.Store(true)
	if code, _ := get(t, h, "/-/ready"); code != http.StatusOK {
		t.Errorf("/-/ready after = %d, want 200", code)
	}
	code, body := get(t, h, "/")
	if code != http.StatusOK {
		t.Errorf("/ = %d", code)
	}
	for _, link := range []string{`href="/metrics"`, `href="/-/healthy"`, `href="/-/ready"`} {
		if !strings.Contains(body, link) {
			t.Errorf("landing page lacks %s", link)
		}
	}
	if strings.Contains(body, "debug/pprof") {
		t.Error("landing page links profiling endpoints that are not served")
	}
	if code, _ := get(t, h, "/nothing-here"); code != http.StatusNotFound {
		t.Errorf("/nothing-here = %d, want 404", code)
	}
	_, metrics := get(t, h, "/metrics")
	for _, want := range []string{"kartustok_exporter_build_info{", "go_goroutines ", "process_", "promhttp_metric_handler_requests_total", "kartustok_api_errors_total{"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestHandlerDisableExporterMetrics(t *testing.T) {
	h, err := newHandler(handlerConfig{telemetryPath: "/custom", disableExporterMetrics: true, pedantic: true, logger: log.NewNopLogger()}, &fakeReady{}, collector.NewAPIMetrics())
	if err != nil {
		t.Fatal(err)
	}
	code, metrics := get(t, h, "/custom")
	if code != http.StatusOK {
		t.Fatalf("/custom = %d", code)
	}
	for _, unwanted := range []string{"go_", "process_", "promhttp_"} {
		if strings.Contains(metrics, "\n"+unwanted) {
			t.Errorf("/custom still has %s* metrics", unwanted)
		}
	}
	if !strings.Contains(metrics, "kartustok_exporter_build_info{") {
		t.Error("build info dropped with the exporter metrics")
	}
}

// TestRunDemoInProcess runs the whole program in the test process, so that
// the wiring in serve is exercised under the race detector.
func TestRunDemoInProcess(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	exit, stderr, cancel := start(t, []string{"--demo", "--web.listen-address=" + addr})
	defer cancel()

	base := "http://" + addr
	waitReadyURL(t, base, stderr)
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"kartustok_stock_on_hand{", "kartustok_item_info{", "go_goroutines "} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// The flow refresh follows readiness: within a minute the demo shows
	// flow, movements and items whose days of cover are below their lead
	// time, as KartuStokStockoutPredicted would see them.
	var predicted int
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ms := string(b)
		predicted = demoPredicted(ms)
		return strings.Contains(ms, "kartustok_stock_movements{") && predicted > 0
	}, time.Minute, time.Second, "no flow or predicted stock-out in the demo")
	t.Logf("%d pairs with stock below their lead time's cover", predicted)
	cancel()
	select {
	case code := <-exit:
		if code != 0 {
			t.Errorf("exit %d after cancellation, want 0:\n%s", code, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("did not stop after cancellation")
	}
}

// syncWriter is a buffer the program writes while the test reads it.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// start runs the exporter with args until the returned cancel is called;
// exit gets its exit code, stderr its log.
func start(t *testing.T, args []string) (exit chan int, stderr *syncWriter, cancel context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &syncWriter{}
	exit = make(chan int, 1)
	go func() { exit <- runContext(ctx, args, io.Discard, stderr) }()
	return exit, stderr, cancel
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// mismatched describes one metric and collects another: only a pedantic
// registry checks a collected metric against the described ones.
type mismatched struct{ described, collected *prometheus.Desc }

func (m mismatched) Describe(ch chan<- *prometheus.Desc) { ch <- m.described }
func (m mismatched) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(m.collected, prometheus.GaugeValue, 1)
}

// TestHandlerRegistryIsNotPedanticInProduction: a pedantic registry
// re-checks every metric of every scrape, which costs the production path
// bytes and allocations for nothing; tests keep the checks on.
func TestHandlerRegistryIsNotPedanticInProduction(t *testing.T) {
	c := mismatched{
		described: prometheus.NewDesc("test_described", "Described.", nil, nil),
		collected: prometheus.NewDesc("test_collected", "Collected.", nil, nil),
	}
	for _, pedantic := range []bool{false, true} {
		var logs bytes.Buffer
		h, err := newHandler(handlerConfig{
			telemetryPath: "/metrics", disableExporterMetrics: true, pedantic: pedantic,
			logger: log.NewLogfmtLogger(&logs),
		}, &fakeReady{}, c)
		if err != nil {
			t.Fatal(err)
		}
		_, body := get(t, h, "/metrics")
		checked := strings.Contains(logs.String(), "unregistered descriptor") || !strings.Contains(body, "test_collected 1")
		if checked != pedantic {
			t.Errorf("pedantic=%v: scrape checked the metric against its description: %v\nlogs: %s", pedantic, checked, logs.String())
		}
	}
}

func TestParseFlagsRejectsBadTelemetryPaths(t *testing.T) {
	base := []string{"--kartustok.url=https://sinarjaya.kartustok.com/public/v1"}
	for _, p := range []string{"metrics", "/", "/-/healthy", "/-/ready", "/-/reload", "/metrics/{x}", "/met{rics", "/metrics}", "/a b", "GET /metrics", "/a//b", "/a/../b", "//host/metrics", ""} {
		t.Run(p, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cfg, done, code := parseFlags(append(base, "--web.telemetry-path="+p), &stdout, &stderr)
			if !done || code == 0 || cfg != nil {
				t.Fatalf("accepted %q", p)
			}
			if !strings.Contains(stderr.String(), "--web.telemetry-path") {
				t.Errorf("stderr = %q, want it to name --web.telemetry-path", stderr.String())
			}
		})
	}
	for _, p := range []string{"/metrics", "/custom/metrics", "/metrics/"} {
		var stdout, stderr bytes.Buffer
		cfg, done, _ := parseFlags(append(base, "--web.telemetry-path="+p), &stdout, &stderr)
		if done {
			t.Errorf("refused %q: %s", p, stderr.String())
			continue
		}
		if _, err := newHandler(handlerConfig{telemetryPath: cfg.telemetryPath, logger: log.NewNopLogger()}, &fakeReady{}); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
}

// TestVersionFromReleaseFile checks that a build without -ldflags (as in
// `go test` or `go run .`) reports the release in VERSION, not "".
func TestVersionFromReleaseFile(t *testing.T) {
	want := strings.TrimSpace(releaseVersion)
	if want == "" || version.Version != want {
		t.Fatalf("version.Version = %q, want %q from VERSION", version.Version, want)
	}
}

func TestPlainHTTPOffLoopback(t *testing.T) {
	for url, want := range map[string]bool{
		"https://sinarjaya.kartustok.com/public/v1": false,
		"http://sinarjaya.kartustok.com/public/v1":  true,
		"http://10.0.0.5:8080/public/v1":            true,
		"http://127.0.0.1:41234/public/v1":          false,
		"http://[::1]:41234/public/v1":              false,
		"http://localhost:8080/public/v1":           false,
	} {
		if got := plainHTTPOffLoopback(url); got != want {
			t.Errorf("plainHTTPOffLoopback(%q) = %v, want %v", url, got, want)
		}
	}
}

// goodMinimums and badMinimums are the minimums files the reload tests
// start from; badMinimums has one problem, on line 5.
var (
	goodMinimums = testkit.MustRead("minimums/testdata/reload-good.yml")
	badMinimums  = testkit.MustRead("minimums/testdata/reload-bad.yml")
)

// noDocument and nullDocument are the messages for a minimums file that
// writes no minimums at all.
const (
	noDocument   = `the file holds no YAML document (it is empty or only comments); to clear every minimum on purpose, write an explicit empty document such as "items: []"`
	nullDocument = `the file's YAML document is null (a bare "---", "null" or "~"), which writes no minimums; to clear every minimum on purpose, write an explicit empty document such as "items: []"`
)

// TestStartUpRejectsAnEmptyMinimumsFile: at start-up an empty file stops
// the exporter, like any other invalid file, with the message saying how to
// clear the minimums on purpose.
func TestStartUpRejectsAnEmptyMinimumsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "minimums.yml")
	testkit.WriteFile(t, path, "# nothing yet\n")

	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code := runContext(ctx, []string{"--demo", "--web.listen-address=127.0.0.1:0", "--stock.minimums-file=" + path}, &stdout, &stderr)
	require.Equal(t, 1, code, stderr.String())
	require.Contains(t, stderr.String(), "the file holds no YAML document (it is empty or only comments)")
	require.NotContains(t, stderr.String(), "Demo:", "the demo company started before the file was checked")
}

func do(t *testing.T, h http.Handler, method, path string) (*httptest.ResponseRecorder, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	b, _ := io.ReadAll(rec.Body)
	return rec, string(b)
}

func TestReloadEndpoint(t *testing.T) {
	var fail error
	calls := 0
	h, err := newHandler(handlerConfig{
		telemetryPath: "/metrics", logger: log.NewNopLogger(),
		reload: func() error { calls++; return fail },
	}, &fakeReady{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		rec, _ := do(t, h, m, "/-/reload")
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != http.MethodPost {
			t.Errorf("%s /-/reload = %d, Allow %q; want 405, POST", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
	if calls != 0 {
		t.Fatalf("%d reloads without a POST", calls)
	}
	if rec, body := do(t, h, http.MethodPost, "/-/reload"); rec.Code != http.StatusOK || body != "Reloaded.\n" || calls != 1 {
		t.Errorf("POST = %d %q after %d reloads", rec.Code, body, calls)
	}
	fail = errors.New("m.yml:5: items[0].warehouses[0].minimum: must be a number ≥ 0, got \"lots\"")
	if rec, body := do(t, h, http.MethodPost, "/-/reload"); rec.Code != http.StatusInternalServerError || !strings.Contains(body, fail.Error()) {
		t.Errorf("failed POST = %d %q", rec.Code, body)
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.yml"), filepath.Join(dir, "bad.yml")
	testkit.WriteFile(t, good, goodMinimums)
	testkit.WriteFile(t, bad, badMinimums+"    total_minimum: -1\n")
	empty, null, cleared := filepath.Join(dir, "empty.yml"), filepath.Join(dir, "null.yml"), filepath.Join(dir, "cleared.yml")
	testkit.WriteFile(t, empty, "\n# items:\n#   - code: KS-1\n")
	testkit.WriteFile(t, null, "---\n")
	testkit.WriteFile(t, cleared, "items: []\n")
	token := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(token, []byte("ks_secret_token_value\n"), 0o600))
	url := "--kartustok.url=https://sinarjaya.kartustok.com/public/v1"
	withToken := func(args ...string) []string {
		return append([]string{url, "--kartustok.token-file=" + token}, args...)
	}
	ok := "kartustok_exporter: configuration OK; token file " + token + "; no --web.config.file; "
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		wantOut    string
		wantErrors []string
	}{
		{
			"good file", withToken("--stock.minimums-file=" + good), 0,
			ok + "minimums file " + good + ": categories=1 items=1 warehouse_minimums=1\n", nil,
		},
		{"no file", []string{"--demo"}, 0, "kartustok_exporter: configuration OK; demo company; no --web.config.file; no --stock.minimums-file\n", nil},
		{"bad file", withToken("--stock.minimums-file=" + bad), 1, "", []string{
			bad + ":5: items[0].warehouses[0].minimum: must be a number ≥ 0, got \"lots\"",
			bad + ":6: items[0].total_minimum: must be a number ≥ 0, got -1",
		}},
		{"empty file", withToken("--stock.minimums-file=" + empty), 1, "", []string{
			empty + ": " + noDocument,
		}},
		{"null document", withToken("--stock.minimums-file=" + null), 1, "", []string{
			null + ": " + nullDocument,
		}},
		{
			"minimums cleared on purpose", withToken("--stock.minimums-file=" + cleared), 0,
			ok + "minimums file " + cleared + ": categories=0 items=0 warehouse_minimums=0\n", nil,
		},
		{"missing file", withToken("--stock.minimums-file=" + filepath.Join(dir, "nope.yml")), 1, "", []string{
			"reading minimums file: open " + filepath.Join(dir, "nope.yml") + ": no such file or directory",
		}},
		{"stock refresh too rare", withToken("--sync.stock-interval=40m"), 2, "", []string{
			"--sync.stock-interval 40m0s must be shorter than --sync.max-staleness 30m0s, or every stock series vanishes for part of each cycle: lower --sync.stock-interval or raise --sync.max-staleness",
		}},
		{"flags and file", []string{"--kartustok.url=https://member.kartustok.com", "--kartustok.budget=2", "--sync.stock-interval=1ms", "--stock.minimums-file=" + bad}, 2, "", []string{
			"--sync.stock-interval must be at least 1s, got 1ms",
			"--kartustok.budget must be in (0, 1], got 2",
			"member domain",
			"no API token",
			bad + ":5:",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unsetTokenEnv(t)
			var stdout, stderr bytes.Buffer
			code := run(append(tc.args, "--config.check"), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if stdout.String() != tc.wantOut {
				t.Errorf("stdout = %q, want %q", stdout.String(), tc.wantOut)
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if tc.wantErrors == nil {
				lines = nil
				if stderr.Len() > 0 {
					t.Errorf("stderr: %s", stderr.String())
				}
			}
			if len(lines) < len(tc.wantErrors) {
				t.Fatalf("%d problem lines, want at least %d:\n%s", len(lines), len(tc.wantErrors), stderr.String())
			}
			for _, want := range tc.wantErrors {
				if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, want) }) {
					t.Errorf("no line says %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}

func TestStartUpRejectsAnInvalidMinimumsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "minimums.yml")
	testkit.WriteFile(t, path, badMinimums)
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code := runContext(ctx, []string{"--demo", "--web.listen-address=127.0.0.1:0", "--stock.minimums-file=" + path}, &stdout, &stderr)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if want := path + `:5: items[0].warehouses[0].minimum: must be a number ≥ 0, got \"lots\"`; !strings.Contains(stderr.String(), want) {
		t.Errorf("the log does not say %s:\n%s", want, stderr.String())
	}
	if strings.Contains(stderr.String(), "Demo:") {
		t.Error("the demo company started before the file was checked")
	}
}

// metricsView is what a test reads from one /metrics page: codes by ID and
// the stock series.
type metricsView struct {
	itemCode, activeItems map[string]string // item ID → code
	locatorCode           map[string]string // locator ID → code
	onHand, minimum       map[[2]string]string
	reloadOK              string
}

var (
	itemInfoRE    = regexp.MustCompile(`^kartustok_item_info\{active="(\w+)".*item_code="([^"]*)",item_id="([^"]*)"`)
	locatorInfoRE = regexp.MustCompile(`^kartustok_locator_info\{active="true",company="[^"]*",locator_code="([^"]*)",locator_id="([^"]*)"`)
	stockRE       = regexp.MustCompile(`^kartustok_stock_(on_hand|minimum_quantity)\{company="[^"]*",item_id="([^"]*)",locator_id="([^"]*)"\} (\S+)`)
	reloadOKRE    = regexp.MustCompile(`^kartustok_config_last_reload_successful\{company="[^"]*"\} (\S+)`)
)

func readMetrics(t *testing.T, url string) metricsView {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	v := metricsView{
		itemCode: map[string]string{}, activeItems: map[string]string{}, locatorCode: map[string]string{},
		onHand: map[[2]string]string{}, minimum: map[[2]string]string{},
	}
	for line := range strings.SplitSeq(string(body), "\n") {
		if m := itemInfoRE.FindStringSubmatch(line); m != nil {
			v.itemCode[m[3]] = m[2]
			if m[1] == "true" {
				v.activeItems[m[3]] = m[2]
			}
		} else if m := locatorInfoRE.FindStringSubmatch(line); m != nil {
			v.locatorCode[m[2]] = m[1]
		} else if m := stockRE.FindStringSubmatch(line); m != nil {
			key := [2]string{m[3], m[2]} // locator, item
			if m[1] == "on_hand" {
				v.onHand[key] = m[4]
			} else {
				v.minimum[key] = m[4]
			}
		} else if m := reloadOKRE.FindStringSubmatch(line); m != nil {
			v.reloadOK = m[1]
		}
	}
	return v
}

// startSimulated starts a simulated company without movements and returns
// its URL and a token file.
func startSimulated(t *testing.T) (url, tokenFile string) {
	t.Helper()
	company := kartustoktest.NewCompany(kartustoktest.Config{Locators: 2, Items: 100})
	sim, err := kartustoktest.Start("127.0.0.1:0", company)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	tokenFile = filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(company.AddToken(kartustoktest.TokenSpec{})+"\n"), 0o600))
	return sim.URL, tokenFile
}

// pickPairs finds, in the first locator, an item with a stock row and an
// active item without one.
func pickPairs(t *testing.T, v metricsView) (loc, stocked, missing string) {
	t.Helper()
	for id, code := range v.locatorCode {
		if code == "GDG-01" {
			loc = id
		}
	}
	var ids []string
	for id := range v.activeItems {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		_, has := v.onHand[[2]string{loc, id}]
		switch {
		case has && stocked == "":
			stocked = id
		case !has && missing == "":
			missing = id
		}
	}
	if loc == "" || stocked == "" || missing == "" {
		t.Fatalf("the simulated company lacks the pairs this test needs: locator %q, stocked %q, missing %q", loc, stocked, missing)
	}
	return loc, stocked, missing
}

func post(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMinimumsFileInProcess runs the whole program against a simulated
// company with a minimums file: the file's values replace the API's, a pair
// without a stock row is exported as empty, and reloads while scrapes run
// are race-free and never show a scrape without the pair's minimum.
func TestMinimumsFileInProcess(t *testing.T) {
	apiURL, tokenFile := startSimulated(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "minimums.yml")
	testkit.WriteFile(t, path, "items: []\n") // an explicit empty document sets nothing
	addr := testkit.FreeAddr(t)

	exit, stderr, cancel := start(t, []string{
		"--kartustok.url=" + apiURL, "--kartustok.token-file=" + tokenFile,
		"--web.listen-address=" + addr, "--stock.minimums-file=" + path,
	})
	defer cancel()
	base := "http://" + addr
	waitReadyURL(t, base, stderr)

	before := readMetrics(t, base+"/metrics")
	loc, stocked, missing := pickPairs(t, before)
	if _, ok := before.minimum[[2]string{loc, missing}]; ok {
		t.Fatal("a pair without a stock row has a minimum before the file names it")
	}
	file := func(stockedMin, missingMin int) string {
		return fmt.Sprintf("items:\n  - code: %s\n    total_minimum: 33\n    warehouses:\n      - code: GDG-01\n        minimum: %d\n"+
			"  - code: %s\n    warehouses:\n      - code: GDG-01\n        minimum: %d\n",
			before.itemCode[stocked], stockedMin, before.itemCode[missing], missingMin)
	}
	testkit.WriteFile(t, path, file(1000, 5))
	if code, body := post(t, base+"/-/reload"); code != http.StatusOK {
		t.Fatalf("POST /-/reload = %d %s", code, body)
	}
	after := readMetrics(t, base+"/metrics")
	if got := after.minimum[[2]string{loc, stocked}]; got != "1000" {
		t.Errorf("stocked pair's minimum = %q, want the file's 1000 over the API's %q", got, before.minimum[[2]string{loc, stocked}])
	}
	if got := after.onHand[[2]string{loc, stocked}]; got != before.onHand[[2]string{loc, stocked}] {
		t.Errorf("stocked pair's on hand changed from %s to %s", before.onHand[[2]string{loc, stocked}], got)
	}
	if oh, m := after.onHand[[2]string{loc, missing}], after.minimum[[2]string{loc, missing}]; oh != "0" || m != "5" {
		t.Errorf("pair without a stock row: on hand %q, minimum %q; want 0 and 5", oh, m)
	}
	for key := range after.onHand {
		if _, had := before.onHand[key]; !had && key != [2]string{loc, missing} {
			t.Errorf("a series for %v appeared that the file does not name in a warehouse", key)
		}
	}

	// Reload between two files while scraping: every scrape sees one file
	// or the other, never neither.
	var reloads, scrapes sync.WaitGroup
	stop := make(chan struct{})
	reloads.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := os.WriteFile(path, []byte(file(1000+i%2, 5+i%2)), 0o644); err != nil {
				t.Error(err)
				return
			}
			if code, body := post(t, base+"/-/reload"); code != http.StatusOK {
				t.Errorf("POST /-/reload = %d %s", code, body)
				return
			}
		}
	})
	for range 4 {
		scrapes.Go(func() {
			for range 5 {
				v := readMetrics(t, base+"/metrics")
				if m := v.minimum[[2]string{loc, missing}]; m != "5" && m != "6" {
					t.Errorf("mid-reload scrape: minimum %q", m)
				}
			}
		})
	}
	scrapes.Wait()
	close(stop)
	reloads.Wait()

	cancel()
	if code := <-exit; code != 0 {
		t.Errorf("exit %d:\n%s", code, stderr.String())
	}
}

func waitReadyURL(t *testing.T, base string, logs *syncWriter) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after a minute:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// unsetTokenEnv unsets KARTUSTOK_TOKEN for the test and restores it after.
func unsetTokenEnv(t *testing.T) {
	t.Helper()
	t.Setenv(tokenEnv, "x")
	require.NoError(t, os.Unsetenv(tokenEnv))
}

// webConfigBasicAuth asks for basic auth as dave, password dave123 (a
// bcrypt hash of cost 10, as in exporter-toolkit's own tests).
const webConfigBasicAuth = "basic_auth_users:\n  dave: $2y$10$2UXri9cIDdgeKjBo4Rlpx.U3ZLDV8X1IxKmsfOvhcM5oXQt/mLmXq\n"

// secretToken is the token of the tests that only read token files: it
// must never appear in what the exporter prints.
const secretToken = "ks_secret_token_value"

// writeToken writes a token file with exactly mode perm, whatever the umask.
func writeToken(t *testing.T, path, content string, perm os.FileMode) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	require.NoError(t, os.Chmod(path, perm))
}

// TestConfigCheckReadsWhatAStartReads: --config.check fails on every web
// configuration and token a start would fail on, naming the file, and never
// shows the token.
func TestConfigCheckReadsWhatAStartReads(t *testing.T) {
	dir := t.TempDir()
	token, empty, missingToken := filepath.Join(dir, "token"), filepath.Join(dir, "empty-token"), filepath.Join(dir, "no-token")
	writeToken(t, token, secretToken+"\n", 0o600)
	writeToken(t, empty, " \n", 0o600)
	webOK, webMissing := filepath.Join(dir, "web.yml"), filepath.Join(dir, "no-web.yml")
	testkit.WriteFile(t, webOK, webConfigBasicAuth)
	webUnknown, webBadHash, webNoCert := filepath.Join(dir, "web-unknown.yml"), filepath.Join(dir, "web-bad-hash.yml"), filepath.Join(dir, "web-no-cert.yml")
	testkit.WriteFile(t, webUnknown, "basic_auth_user:\n  dave: dave123\n")
	testkit.WriteFile(t, webBadHash, "basic_auth_users:\n  dave: dave123\n")
	testkit.WriteFile(t, webNoCert, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")
	url := "--kartustok.url=https://sinarjaya.kartustok.com/public/v1"
	withToken := func(args ...string) []string {
		return append([]string{url, "--kartustok.token-file=" + token}, args...)
	}
	for _, tc := range []struct {
		name string
		env  string // KARTUSTOK_TOKEN, unset when empty
		args []string
		code int
		want string // on stdout with code 0, on stderr otherwise
	}{
		{
			"web config", "", withToken("--web.config.file=" + webOK), 0,
			"kartustok_exporter: configuration OK; token file " + token + "; web config file " + webOK + "; no --stock.minimums-file\n",
		},
		{
			"missing web config", "", withToken("--web.config.file=" + webMissing), 1,
			"--web.config.file " + webMissing + ": no such file or directory\n",
		},
		{
			"unknown web config field", "", withToken("--web.config.file=" + webUnknown), 1,
			"--web.config.file " + webUnknown + ": yaml: unmarshal errors:\n  line 1: field basic_auth_user not found",
		},
		{
			"password not hashed", "", withToken("--web.config.file=" + webBadHash), 1,
			"--web.config.file " + webBadHash + ": crypto/bcrypt: ",
		},
		{
			"missing certificate", "", withToken("--web.config.file=" + webNoCert), 1,
			"--web.config.file " + webNoCert + ": ",
		},
		{
			"token from the environment", secretToken,
			[]string{url},
			0,
			"kartustok_exporter: configuration OK; token from KARTUSTOK_TOKEN; no --web.config.file; no --stock.minimums-file\n",
		},
		{"no token", "", []string{url}, 1, "no API token: set --kartustok.token-file"},
		{"missing token file", "", []string{url, "--kartustok.token-file=" + missingToken}, 1, "token file " + missingToken + ": no such file or directory"},
		{"empty token file", "", []string{url, "--kartustok.token-file=" + empty}, 1, "token file " + empty + " is empty"},
		{"token file is a directory", "", []string{url, "--kartustok.token-file=" + dir}, 1, "token file " + dir + ": "},
		{"listen address without a port", "", withToken("--web.listen-address=9472"), 2, `--web.listen-address "9472" is not host:port`},
		{"bad vsock address", "", withToken("--web.listen-address=vsock://:port"), 2, `--web.listen-address "vsock://:port" is not vsock://:port`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unsetTokenEnv(t)
			if tc.env != "" {
				t.Setenv(tokenEnv, tc.env)
			}
			var stdout, stderr bytes.Buffer
			code := run(append(tc.args, "--config.check"), &stdout, &stderr)
			assert.Equal(t, tc.code, code, "stderr:\n%s", stderr.String())
			if tc.code == 0 {
				assert.Equal(t, tc.want, stdout.String())
				assert.Empty(t, stderr.String())
			} else {
				assert.Empty(t, stdout.String())
				assert.Contains(t, stderr.String(), tc.want)
			}
			assert.NotContains(t, stdout.String()+stderr.String(), secretToken)
		})
	}

	t.Run("unreadable token file", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads any file")
		}
		unreadable := filepath.Join(t.TempDir(), "token")
		writeToken(t, unreadable, secretToken+"\n", 0o000)
		var stdout, stderr bytes.Buffer
		require.Equal(t, 1, run([]string{url, "--kartustok.token-file=" + unreadable, "--config.check"}, &stdout, &stderr))
		assert.Contains(t, stderr.String(), "token file "+unreadable+": permission denied")
	})
}

// TestTokenFileModes: a token file other users can read is a warning, at
// start and in --config.check, that names the file and its mode and says
// how to fix it; a file only the exporter's user and group can read is not.
func TestTokenFileModes(t *testing.T) {
	apiURL, _ := startSimulated(t)
	dir := t.TempDir()
	foreignGID := -1
	for gid := 60000; gid < 60100; gid++ {
		if !inGroup(gid) {
			foreignGID = gid
			break
		}
	}
	for _, tc := range []struct {
		name  string
		perm  os.FileMode
		gid   int      // -1 keeps the file's group, the test's own
		warns []string // FILE stands for the file's name
	}{
		{"owner only", 0o600, -1, nil},
		{"owner read only", 0o400, -1, nil},
		{"the exporter's group", 0o640, -1, nil},
		{"everyone", 0o644, -1, []string{"has mode 0644, which lets every user read the token: chmod 0600 FILE if the exporter's user owns it, or else give it the exporter user's group and chmod 0640", "defaultMode: set it to 0440"}},
		{"others only", 0o604, -1, []string{"has mode 0604"}},
		{"another group", 0o640, foreignGID, []string{fmt.Sprintf("has mode 0640 and group %d, which the exporter is not in, so that group's members can read the token: chmod 0600 ", foreignGID)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unsetTokenEnv(t)
			file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			_, tokenFile := startSimulated(t)
			token, err := os.ReadFile(tokenFile)
			require.NoError(t, err)
			writeToken(t, file, string(token), tc.perm)
			if tc.gid != -1 {
				if err := os.Chown(file, -1, tc.gid); err != nil {
					t.Skipf("cannot give the file a group the test is not in: %v", err)
				}
			}
			args := []string{"--kartustok.url=" + apiURL, "--kartustok.token-file=" + file, "--web.listen-address=127.0.0.1:0"}

			var stdout, stderr bytes.Buffer
			require.Equal(t, 0, run(append(args, "--config.check"), &stdout, &stderr), stderr.String())
			assert.True(t, strings.HasPrefix(stdout.String(), "kartustok_exporter: configuration OK; token file "+file+";"), stdout.String())
			if tc.warns == nil {
				assert.Empty(t, stderr.String())
			} else {
				lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
				require.Len(t, lines, 1, stderr.String())
				assert.True(t, strings.HasPrefix(lines[0], "kartustok_exporter: warning: token file "+file+" "), lines[0])
				for _, w := range tc.warns {
					assert.Contains(t, lines[0], strings.ReplaceAll(w, "FILE", file))
				}
			}

			// At start, the same words as a warning in the log.
			stderr.Reset()
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			require.Equal(t, 0, runContext(ctx, args, io.Discard, &stderr), stderr.String())
			warned := regexp.MustCompile(`(?m)^level=warn .*msg="token file ` + regexp.QuoteMeta(file) + ` `).MatchString(stderr.String())
			assert.Equal(t, tc.warns != nil, warned, stderr.String())
			for _, w := range tc.warns {
				assert.Contains(t, stderr.String(), strings.ReplaceAll(w, "FILE", file))
			}
			assert.NotContains(t, stdout.String()+stderr.String(), strings.TrimSpace(string(token)))
		})
	}
}

// TestStartUpStopsBeforePolling: a port in use or a web configuration that
// cannot be served stops start-up before the exporter polls the API or says
// it listens.
func TestStartUpStopsBeforePolling(t *testing.T) {
	company := kartustoktest.NewCompany(kartustoktest.Config{Locators: 1, Items: 10})
	sim, err := kartustoktest.Start("127.0.0.1:0", company)
	require.NoError(t, err)
	t.Cleanup(sim.Close)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	writeToken(t, tokenFile, company.AddToken(kartustoktest.TokenSpec{})+"\n", 0o600)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	busyAddr := busy.Addr().String()
	badWeb, missingWeb := filepath.Join(dir, "web.yml"), filepath.Join(dir, "no-web.yml")
	testkit.WriteFile(t, badWeb, "basic_auth_users:\n  dave: dave123\n")

	base := []string{"--kartustok.url=" + sim.URL, "--kartustok.token-file=" + tokenFile}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{
			"port in use",
			[]string{"--web.listen-address=" + busyAddr},
			"cannot listen on --web.listen-address=" + busyAddr + ": listen tcp " + busyAddr + ": bind: address already in use; another process, perhaps another kartustok_exporter, uses the port",
		},
		{"second port in use", []string{"--web.listen-address=127.0.0.1:0", "--web.listen-address=" + busyAddr}, "address already in use"},
		{"missing web config", []string{"--web.listen-address=127.0.0.1:0", "--web.config.file=" + missingWeb}, "--web.config.file " + missingWeb + ": no such file or directory"},
		{"invalid web config", []string{"--web.listen-address=127.0.0.1:0", "--web.config.file=" + badWeb}, "--web.config.file " + badWeb + ": crypto/bcrypt"},
		{"no socket from systemd", []string{"--web.systemd-socket"}, "systemd passed no listening socket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "no socket from systemd" && runtime.GOOS != "linux" {
				t.Skip("systemd socket activation is Linux only")
			}
			t.Setenv("LISTEN_FDS", "")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // should start-up wrongly succeed
			defer cancel()
			var stderr bytes.Buffer
			require.Equal(t, 1, runContext(ctx, append(base, tc.args...), io.Discard, &stderr), stderr.String())
			assert.Contains(t, stderr.String(), tc.want)
			assert.NotContains(t, stderr.String(), "Polling the KartuStok API")
			assert.NotContains(t, stderr.String(), `msg="Listening on"`)
			assert.Zero(t, sim.Count("", 0), "requests sent to the API")
		})
	}
}

// TestListensOnBoundSocketsWithTheWebConfig: each "Listening on" line names
// a socket that already accepts connections, and the web configuration's
// basic auth guards every listener.
func TestListensOnBoundSocketsWithTheWebConfig(t *testing.T) {
	apiURL, tokenFile := startSimulated(t)
	webConfig := filepath.Join(t.TempDir(), "web.yml")
	testkit.WriteFile(t, webConfig, webConfigBasicAuth)

	exit, stderr, cancel := start(t, []string{
		"--kartustok.url=" + apiURL, "--kartustok.token-file=" + tokenFile,
		"--web.listen-address=127.0.0.1:0", "--web.listen-address=127.0.0.1:0", "--web.config.file=" + webConfig,
	})
	defer cancel()

	seen := map[string]bool{}
	deadline := time.Now().Add(time.Minute)
	for len(seen) < 2 {
		for _, m := range listenRE.FindAllStringSubmatch(stderr.String(), -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				conn, err := net.Dial("tcp", m[1])
				require.NoError(t, err, "logged Listening on %s before the socket accepted connections", m[1])
				conn.Close()
			}
		}
		select {
		case code := <-exit:
			t.Fatalf("exit %d:\n%s", code, stderr.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "not listening on two addresses after a minute:\n%s", stderr.String())
		time.Sleep(time.Millisecond)
	}
	for addr := range seen {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/-/healthy", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, addr)
		req.SetBasicAuth("dave", "dave123")
		resp, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, addr)
	}
	cancel()
	select {
	case code := <-exit:
		assert.Equal(t, 0, code, stderr.String())
	case <-time.After(time.Minute):
		t.Fatal("did not stop after cancellation")
	}
}

// TestKartustokCheck: --kartustok.check reports on the demo company and
// exits 0; with a token file that holds a token the API does
// not know, it exits 1 with the fix, and never prints the token.
func TestKartustokCheck(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, runContext(ctx, []string{"--demo", "--kartustok.check"}, &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "GET /stock/detail")
	assert.Contains(t, stdout.String(), "time zone      \"Asia/Jakarta\"")
	assert.Regexp(t, `(?m)^OK: the exporter can use this token`, stdout.String())

	// A token the API does not know, against a simulated company.
	company := kartustoktest.NewCompany(kartustoktest.Config{Items: 20})
	srv := kartustoktest.NewServer(company)
	defer srv.Close()
	const token = "ks_neverIssuedByThisCompany00000000000000"
	file := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(file, []byte(token), 0o600))
	stdout.Reset()
	stderr.Reset()
	code := runContext(ctx, []string{"--kartustok.check", "--kartustok.url=" + srv.URL, "--kartustok.token-file=" + file}, &stdout, &stderr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout.String(), "401 Unauthorized")
	assert.Contains(t, stdout.String(), "create a new one under API Access")
	assert.NotContains(t, stdout.String()+stderr.String(), token[:12])
}

// demoPredicted counts, in a text exposition, the pairs with stock whose
// days of cover (on hand ÷ 30-day outflow × 30) are below their item's
// lead time, as the recording rule and KartuStokStockoutPredicted do.
func demoPredicted(text string) int {
	onHand, out := map[string]float64{}, map[string]float64{}
	lead := map[string]float64{}
	re := regexp.MustCompile(`^(kartustok_stock_on_hand|kartustok_stock_outflow_quantity|kartustok_item_lead_time_seconds)\{company="[^"]*",item_id="([^"]*)"(?:,locator_id="([^"]*)")?(?:,period="([^"]*)")?\} (\S+)$`)
	for l := range strings.SplitSeq(text, "\n") {
		m := re.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[5], 64)
		if err != nil {
			continue
		}
		switch {
		case m[1] == "kartustok_stock_on_hand":
			onHand[m[2]+"/"+m[3]] = v
		case m[1] == "kartustok_stock_outflow_quantity" && m[4] == "30d":
			out[m[2]+"/"+m[3]] = v
		case m[1] == "kartustok_item_lead_time_seconds":
			lead[m[2]] = v / 86400
		}
	}
	n := 0
	for k, o := range out {
		item, _, _ := strings.Cut(k, "/")
		if h, ok := onHand[k]; ok && o > 0 && h > 0 && 30*h/o < lead[item] {
			n++
		}
	}
	return n
}

// TestConfigCheckWarnsOfAStarvedHealthReserve: a budget too small for the
// health checks' reserve is the warning a start would log, exit 0.
func TestConfigCheckWarnsOfAStarvedHealthReserve(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(file, []byte("ks_token\n"), 0o600))
	base := []string{"--config.check", "--kartustok.url=https://sinarjaya.kartustok.com/public/v1", "--kartustok.token-file=" + file}
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, runContext(context.Background(), append(base, "--kartustok.rate-limit=2", "--kartustok.budget=1"), &stdout, &stderr))
	assert.Contains(t, stderr.String(), "warning: health checks get 1 requests of the budget of 2 per 1m0s, less than their reserve")
	stderr.Reset()
	require.Equal(t, 0, runContext(context.Background(), base, &stdout, &stderr))
	assert.NotContains(t, stderr.String(), "reserve")
}

// TestStockIntervalMustBeShorterThanStaleness: a stock refresh that comes
// no sooner than its series expire leaves them missing for part of every
// cycle, so a start refuses it with exit 2, and --config.check with exit 1,
// naming both flags, their values and the fix.
func TestStockIntervalMustBeShorterThanStaleness(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	writeToken(t, file, secretToken+"\n", 0o600)
	args := []string{
		"--kartustok.url=https://sinarjaya.kartustok.com/public/v1", "--kartustok.token-file=" + file,
		"--web.listen-address=127.0.0.1:0", "--sync.stock-interval=40m",
	}
	const want = "--sync.stock-interval 40m0s must be shorter than --sync.max-staleness 30m0s, or every stock series vanishes for part of each cycle: lower --sync.stock-interval or raise --sync.max-staleness\n"

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // never serve, even if start-up wrongly succeeds
	var stdout, stderr bytes.Buffer
	require.Equal(t, 2, runContext(ctx, args, &stdout, &stderr), stderr.String())
	assert.Equal(t, "kartustok_exporter: error: "+want, stderr.String())

	stdout.Reset()
	stderr.Reset()
	require.Equal(t, 2, runContext(ctx, append(args, "--config.check"), &stdout, &stderr), stderr.String())
	assert.Empty(t, stdout.String())
	assert.Equal(t, "kartustok_exporter: error: "+want, stderr.String())

	// Raising --sync.max-staleness, as the message says, is accepted.
	stdout.Reset()
	stderr.Reset()
	require.Equal(t, 0, runContext(ctx, append(args, "--sync.max-staleness=1h", "--config.check"), &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "configuration OK")
}
