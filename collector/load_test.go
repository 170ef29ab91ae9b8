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

package collector

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/require"
)

// loadSeries is the company size of the load test: 110,000 stock series.
const loadSeries = 110_000

// TestScrapeLoadServe is the server side of TestScrapeLoad, run by it in a
// process of its own so that its memory is measured alone.
func TestScrapeLoadServe(t *testing.T) {
	side := os.Getenv("KARTUSTOK_LOAD_SERVE")
	if side == "" {
		t.Skip("run by TestScrapeLoad")
	}
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(20) // as main does unless GOGC is set
	}
	h := loadHandler(side)
	serve(h, true) // render, as the first scrape after a start does
	if os.Getenv("KARTUSTOK_LOAD_FREE") != "" {
		// The strictest rest: every free page returned to the OS.
		debug.FreeOSMemory()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	fmt.Println("LISTENING", ln.Addr().String())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it
	_ = srv.Close()
}

// loadHandler builds the handler of one side of the load test over a
// snapshot of loadSeries series. Only the project's sides keep the snapshot:
// the baseline's is garbage once loadHandler returns.
func loadHandler(side string) http.Handler {
	s := benchSnapshot(loadSeries)
	switch side {
	case "project-bare":
		// As main wires it with --web.disable-exporter-metrics.
		src := &swapSource{}
		src.snap.Store(s)
		reg := prometheus.NewRegistry()
		companyOf(reg).MustRegister(NewCollector(src), NewAPIMetrics())
		return NewHandler(reg, Renderers(NewRenderer(src, nil, testCompany)), HandlerOpts{MaxRequestsInFlight: 100})
	case "project":
		// As main wires it: the live families gathered every scrape and
		// compressed when they change, the process's and the runtime's
		// gathered at most once a second, promhttp's own counters around
		// it.
		src := &swapSource{}
		src.snap.Store(s)
		reg := prometheus.NewRegistry()
		companyOf(reg).MustRegister(NewCollector(src), NewAPIMetrics())
		exporterReg := prometheus.NewRegistry()
		exporterReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		return promhttp.InstrumentMetricHandler(exporterReg, NewHandler(reg, Renderers(NewRenderer(src, nil, testCompany)), HandlerOpts{
			MaxRequestsInFlight: 100, Volatile: exporterReg, VolatileMaxAge: time.Second,
		}))
	default:
		// The baseline holds only its GaugeVecs, as an exporter built on
		// them would.
		bh := baselineHandler(s)
		reg := prometheus.NewRegistry()
		return promhttp.InstrumentMetricHandler(reg, bh)
	}
}

// rssOf reads a process's resident set size in bytes.
func rssOf(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestScrapeLoad measures each side (the project's handler as main wires
// it, with and without the exporter's own Go and process metrics, and
// GaugeVecs through promhttp) with 110,000 stock series in a process of its own,
// under 1, 8 and 50 scrapers scraping back to back for a while, as
// Prometheus does (OpenMetrics or text, gzip): failed scrapes, latency and
// the server process's peak RSS against its RSS at rest. It asserts
// nothing and reports the figures for BENCHMARKS.md; run it with
//
//	KARTUSTOK_MEASURE=1 go test -run TestScrapeLoad -v -timeout 30m ./collector
func TestScrapeLoad(t *testing.T) {
	if os.Getenv("KARTUSTOK_MEASURE") == "" {
		t.Skip("set KARTUSTOK_MEASURE=1")
	}
	d := 30 * time.Second
	if v := os.Getenv("KARTUSTOK_LOAD_SECONDS"); v != "" {
		n, _ := strconv.Atoi(v)
		d = time.Duration(n) * time.Second
	}
	for _, side := range []string{"project", "project-bare", "gaugevec"} {
		for _, scrapers := range []int{1, 8, 50} {
			t.Run(fmt.Sprintf("%s/%d", side, scrapers), func(t *testing.T) {
				loadOne(t, side, scrapers, d)
			})
		}
	}
}

func loadOne(t *testing.T, side string, scrapers int, d time.Duration) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestScrapeLoadServe$", "-test.timeout=30m")
	cmd.Env = append(os.Environ(), "KARTUSTOK_LOAD_SERVE="+side)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	var addr string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "LISTENING "); ok {
			addr = a
			break
		}
	}
	require.NotEmpty(t, addr)
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	// At rest: the idle process as ps shows it, a few seconds after the
	// first scrape rendered the snapshot.
	time.Sleep(5 * time.Second)
	rest := rssOf(cmd.Process.Pid)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: scrapers, DisableCompression: true}, Timeout: 2 * time.Minute}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failed    int
		peak      = rest
		wg        sync.WaitGroup
	)
	wg.Go(func() {
		for ctx.Err() == nil {
			if r := rssOf(cmd.Process.Pid); r > 0 {
				mu.Lock()
				peak = max(peak, r)
				mu.Unlock()
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	for range scrapers {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
				req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.1")
				req.Header.Set("Accept-Encoding", "gzip")
				start := time.Now()
				resp, err := client.Do(req)
				ok := err == nil && resp.StatusCode == http.StatusOK
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					ok = ok && err == nil
				}
				mu.Lock()
				if ok {
					latencies = append(latencies, time.Since(start))
				} else if ctx.Err() == nil {
					failed++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}
	t.Logf("LOAD %s, %d scrapers, %s: %d scrapes, %d failed; latency p50 %s, p99 %s, max %s; RSS at rest %.1f MiB, peak %.1f MiB (%.2f×)",
		side, scrapers, d, len(latencies), failed, pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond),
		float64(rest)/(1<<20), float64(peak)/(1<<20), float64(peak)/float64(rest))
}
