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
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	companyfile "github.com/kartustok/kartustok_exporter/config"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

// What BenchmarkCompanies does with each exporter it starts.
const (
	// companiesRest is how long the exporter rests, polling nothing,
	// between its last request to the API and the reading of its memory.
	// Read every 2 s over a 30 s rest, the RSS did not change.
	companiesRest = 3 * time.Second
	// companiesScrapes is the burst of scrapes that must cost the API
	// nothing: half plain, half gzip, one at a time.
	companiesScrapes = 20
	// companiesLocators is the warehouses of a simulated company.
	companiesLocators = 2
)

// BenchmarkCompanies measures what a company costs the process that
// serves it: the real binary serves a companies file of n simulated
// companies of 2 warehouses × items items each, every one with its own API
// on loopback and its own token file. An iteration starts the exporter and
// times its start until /-/ready answers 200 (every company's stock read
// once). It waits until every company has also read its items and its flow
// and the API has heard nothing for a second, scrapes it 4 times and lets
// it rest for companiesRest. Then it reads the resident set (VmRSS, and
// RssAnon without the pages of the binary) and the exporter's own Go
// metrics, counts the series of each company on /metrics (all of them:
// the rendered ones and the live ones gathered at every scrape), and times
// a burst of scrapes, in wall time and in the exporter's CPU time; the
// burst must send no request to any API.
//
// companies=0 is the baseline: the same binary and flags with a file whose
// only company is in another shard, so that the process serves none. The
// other sizes report, beside their own figures, their RSS and heap above
// the median of the baseline's samples of the same run, per company, when
// the run measured the baseline.
//
// The intervals are long (an hour) so that nothing polls while the
// exporter rests or is scraped; flow and the catalogue are read once, as
// at any start. Each iteration is a whole start, so run it with
// -benchtime=1x:
//
//	go test -run '^$' -bench BenchmarkCompanies -benchtime=1x -count=5 -timeout=30m .
func BenchmarkCompanies(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc/<pid>/status")
	}
	if v, ok := os.LookupEnv("GOGC"); ok {
		b.Logf("GOGC=%s from the environment overrides the exporter's default of %d", v, defaultGCPercent)
	}
	bin := buildBinary(b)
	for _, items := range []int{10, 100} {
		b.Run(fmt.Sprintf("items=%d", items), func(b *testing.B) {
			for _, n := range []int{0, 1, 10, 100} {
				if items != 10 && n == 0 {
					continue // the baseline has no company to size
				}
				b.Run(fmt.Sprintf("companies=%d", n), func(b *testing.B) {
					benchCompanies(b, bin, n, items)
				})
			}
		})
	}
}

// companiesBaseline holds the baseline's samples of this run: RSS, its
// anonymous part and the heap in use of an exporter that serves no company.
var companiesBaseline struct {
	mu               sync.Mutex
	rss, anon, heaps []float64
}

// companiesSample is what one start of the exporter measured.
type companiesSample struct {
	startup   time.Duration // from the process's start to /-/ready 200
	rss       float64       // VmRSS at rest, bytes
	anon      float64       // RssAnon at rest, bytes
	heapInuse float64       // go_memstats_heap_inuse_bytes, on the first scrape after the rest
	goroutine float64       // go_goroutines at rest
	series    int           // series with a company label, all companies
	stock     int           // kartustok_stock_on_hand series, all companies
	other     int           // series without a company label
	requests  int           // API requests during the burst of scrapes
	scrape    time.Duration // mean time of a scrape of the burst, read to its end
	scrapeCPU time.Duration // mean CPU time the exporter spent per scrape of the burst
	allocated float64       // bytes the exporter allocated per scrape of the burst
	bytes     int           // size of a plain scrape
}

func benchCompanies(b *testing.B, bin string, n, items int) {
	dir := b.TempDir()
	sims, file := startCompanies(b, dir, n, items)
	var sum companiesSample
	iters := 0
	for b.Loop() {
		s := runCompanies(b, bin, file, n, sims)
		sum.startup += s.startup
		sum.rss += s.rss
		sum.anon += s.anon
		sum.heapInuse += s.heapInuse
		sum.goroutine += s.goroutine
		sum.series += s.series
		sum.stock += s.stock
		sum.other += s.other
		sum.requests += s.requests
		sum.scrape += s.scrape
		sum.scrapeCPU += s.scrapeCPU
		sum.allocated += s.allocated
		sum.bytes += s.bytes
		iters++
	}
	f := float64(iters)
	const mib = 1 << 20
	b.ReportMetric(sum.startup.Seconds()/f, "s/startup")
	b.ReportMetric(sum.rss/f/mib, "RSS-MiB")
	b.ReportMetric(sum.anon/f/mib, "anon-MiB")
	b.ReportMetric(sum.heapInuse/f/mib, "heap-inuse-MiB")
	b.ReportMetric(sum.goroutine/f, "goroutines")
	b.ReportMetric(float64(sum.other)/f, "process-series")
	b.ReportMetric(float64(sum.requests)/f, "API-requests/burst")
	b.ReportMetric(float64(sum.scrape.Microseconds())/f/1000, "ms/scrape")
	b.ReportMetric(float64(sum.scrapeCPU.Microseconds())/f/1000, "cpu-ms/scrape")
	b.ReportMetric(sum.allocated/f/mib, "alloc-MiB/scrape")
	b.ReportMetric(float64(sum.bytes)/f/1024, "KiB/scrape")
	if n == 0 {
		companiesBaseline.mu.Lock()
		companiesBaseline.rss = append(companiesBaseline.rss, sum.rss/f)
		companiesBaseline.anon = append(companiesBaseline.anon, sum.anon/f)
		companiesBaseline.heaps = append(companiesBaseline.heaps, sum.heapInuse/f)
		companiesBaseline.mu.Unlock()
	}
	if n > 0 {
		nf := f * float64(n)
		b.ReportMetric(float64(sum.series)/nf, "series/company")
		b.ReportMetric(float64(sum.stock)/nf, "stock-series/company")
		companiesBaseline.mu.Lock()
		rss, anon, heap := median(companiesBaseline.rss), median(companiesBaseline.anon), median(companiesBaseline.heaps)
		companiesBaseline.mu.Unlock()
		if rss > 0 {
			b.ReportMetric((sum.rss/f-rss)/float64(n)/mib, "RSS-MiB/company")
			b.ReportMetric((sum.anon/f-anon)/float64(n)/mib, "anon-MiB/company")
			b.ReportMetric((sum.heapInuse/f-heap)/float64(n)/mib, "heap-MiB/company")
		}
	}
	// Ns/op is a whole start with its rest: it says nothing, and is
	// left out.
	b.ReportMetric(0, "ns/op")
}

// median is the median of xs, 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// startCompanies starts n simulated companies, each serving its API on a
// loopback port of its own, and writes their token files and the companies
// file in dir. With n = 0 the file names one company that is not in shard
// 0 of 2, the shard runCompanies then serves.
func startCompanies(b testing.TB, dir string, n, items int) ([]*kartustoktest.Server, string) {
	b.Helper()
	var (
		sims  []*kartustoktest.Server
		lines strings.Builder
	)
	lines.WriteString("companies:\n")
	entry := func(name, url, token string) {
		tokenFile := filepath.Join(dir, name+".token")
		require.NoError(b, os.WriteFile(tokenFile, []byte(token+"\n"), 0o600))
		fmt.Fprintf(&lines, "  - name: %s\n    url: %s\n    token_file: %s\n", name, url, filepath.Base(tokenFile))
	}
	for i := range n {
		name := fmt.Sprintf("c%03d", i+1)
		c := kartustoktest.NewCompany(kartustoktest.Config{Seed: int64(i + 1), Subdomain: name, Locators: companiesLocators, Items: items})
		sim, err := kartustoktest.Start("127.0.0.1:0", c)
		require.NoError(b, err)
		b.Cleanup(sim.Close)
		sims = append(sims, sim)
		entry(name, sim.URL, c.AddToken(kartustoktest.TokenSpec{}))
	}
	if n == 0 {
		name := "elsewhere"
		for i := 0; companyfile.ShardOf(name, 2) == 0; i++ {
			name = fmt.Sprintf("elsewhere-%d", i)
		}
		entry(name, "http://127.0.0.1:1/public/v1", "ks_unused")
	}
	file := filepath.Join(dir, "companies.yml")
	require.NoError(b, os.WriteFile(file, []byte(lines.String()), 0o600))
	return sims, file
}

// runCompanies starts the exporter on file, measures it and stops it.
func runCompanies(b *testing.B, bin, file string, n int, sims []*kartustoktest.Server) companiesSample {
	b.Helper()
	var s companiesSample
	args := []string{
		"--config.file=" + file, "--web.listen-address=127.0.0.1:0",
		"--sync.health-interval=1h", "--sync.catalog-interval=1h", "--sync.stock-interval=1h",
		"--sync.full-stock-interval=1h", "--sync.flow-interval=1h", "--sync.max-staleness=2h",
	}
	if n == 0 {
		args = append(args, "--total-shards=2", "--shard=0")
	}
	started := time.Now()
	p := startProc(b, bin, []string{"KARTUSTOK_TOKEN="}, args...)
	defer func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	}()
	base := p.baseURL()
	for {
		code, _ := httpGet(b, base+"/-/ready")
		if code == http.StatusOK {
			break
		}
		if time.Since(started) > 5*time.Minute {
			b.Fatalf("not ready after 5 minutes:\n%s", p.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.startup = time.Since(started)

	// Ready is every warehouse's stock; the items and the flow follow.
	// Every company must be up and have read both before the rest.
	for {
		_, body := httpGet(b, base+"/metrics")
		m := parseSeries(body)
		if m.count("kartustok_up", "1") == n &&
			m.count(`kartustok_sync_last_success_timestamp_seconds{resource="items"}`, "") == n &&
			m.count(`kartustok_sync_last_success_timestamp_seconds{resource="flow"}`, "") == n {
			break
		}
		if time.Since(started) > 10*time.Minute {
			b.Fatalf("the companies never read their items and flow:\n%s", p.output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for last := -1; ; {
		now := apiRequests(sims)
		if now == last {
			break
		}
		last = now
		time.Sleep(time.Second)
	}
	// Every exporter, the baseline's too, has served a few scrapes in
	// both encodings before its memory is read, as one that Prometheus
	// scrapes has.
	for i := range 4 {
		scrape(b, base+"/metrics", i%2 == 1)
	}
	time.Sleep(companiesRest)

	rss, anon := rssOf(b, p.cmd.Process.Pid)
	s.rss, s.anon = float64(rss), float64(anon)
	_, body := httpGet(b, base+"/metrics")
	m := parseSeries(body)
	s.heapInuse = m.value("go_memstats_heap_inuse_bytes")
	s.goroutine = m.value("go_goroutines")
	s.series, s.stock, s.other = m.companySeries, m.count("kartustok_stock_on_hand", ""), m.processSeries

	before, cpu := apiRequests(sims), cpuTime(b, p.cmd.Process.Pid)
	var took time.Duration
	for i := range companiesScrapes {
		t0 := time.Now()
		size := scrape(b, base+"/metrics", i%2 == 1)
		took += time.Since(t0)
		if i%2 == 0 {
			s.bytes = size
		}
	}
	s.scrape = took / companiesScrapes
	s.scrapeCPU = (cpuTime(b, p.cmd.Process.Pid) - cpu) / companiesScrapes
	s.requests = apiRequests(sims) - before
	// The Go metrics are gathered at most once a second, after a
	// scrape's live families: between the page read above and the one
	// below, the burst and one more scrape allocated.
	time.Sleep(volatileMaxAge + 100*time.Millisecond)
	_, after := httpGet(b, base+"/metrics")
	s.allocated = (parseSeries(after).value("go_memstats_alloc_bytes_total") - m.value("go_memstats_alloc_bytes_total")) / (companiesScrapes + 1)
	if s.requests != 0 {
		b.Errorf("%d scrapes sent %d requests to the API, want 0", companiesScrapes, s.requests)
	}
	return s
}

// apiRequests is the requests every simulated API has served.
func apiRequests(sims []*kartustoktest.Server) int {
	total := 0
	for _, s := range sims {
		total += s.Count("", 0)
	}
	return total
}

// scrape reads url to its end, with gzip or without, and returns the size
// of the exposition.
func scrape(b *testing.B, url string, gz bool) int {
	b.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(b, err)
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	if gz {
		// Set by hand, the transport leaves the answer compressed.
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(b, err)
	defer resp.Body.Close()
	require.Equal(b, http.StatusOK, resp.StatusCode)
	var r io.Reader = resp.Body
	if gz {
		zr, err := gzip.NewReader(resp.Body)
		require.NoError(b, err)
		r = zr
	}
	size, err := io.Copy(io.Discard, r)
	require.NoError(b, err)
	return int(size)
}

// rssOf reads the resident set of the process pid from
// /proc/<pid>/status, in bytes: all of it (VmRSS), and its anonymous part
// (RssAnon), the memory the process itself wrote, without the pages of
// its binary and other files it has read.
func rssOf(b *testing.B, pid int) (rss, anon uint64) {
	b.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(b, err)
	defer f.Close()
	kib := func(v string) uint64 {
		n, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		require.NoError(b, err)
		return n << 10
	}
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			rss = kib(v)
			found++
		} else if v, ok := strings.CutPrefix(sc.Text(), "RssAnon:"); ok {
			anon = kib(v)
			found++
		}
	}
	if found != 2 {
		b.Fatalf("no VmRSS or RssAnon in /proc/%d/status", pid)
	}
	return rss, anon
}

// cpuTime is the CPU time the threads of the process pid have spent, from
// /proc/<pid>/task/*/schedstat: unlike the wall time of a scrape, it
// hardly depends on what else the machine runs.
func cpuTime(b *testing.B, pid int) time.Duration {
	b.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	require.NoError(b, err)
	require.NotEmpty(b, tasks)
	var total time.Duration
	for _, t := range tasks {
		data, err := os.ReadFile(t)
		if err != nil {
			continue // the thread ended
		}
		ns, _, _ := strings.Cut(string(data), " ")
		v, err := strconv.ParseInt(ns, 10, 64)
		require.NoError(b, err, t)
		total += time.Duration(v)
	}
	return total
}

// seriesPage is one /metrics page: every sample by its series.
type seriesPage struct {
	lines []string
	// companySeries and processSeries count the series with a company
	// label and those without.
	companySeries, processSeries int
}

func parseSeries(body string) seriesPage {
	var p seriesPage
	for line := range strings.SplitSeq(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p.lines = append(p.lines, line)
		if strings.Contains(line, `company="`) {
			p.companySeries++
		} else {
			p.processSeries++
		}
	}
	return p
}

// count counts the series of the family name, with value when not "".
// A name may hold one label, name{label="value"}, which the series must
// carry as well.
func (p seriesPage) count(name, value string) int {
	label := ""
	if i := strings.IndexByte(name, '{'); i >= 0 {
		name, label = name[:i], strings.TrimSuffix(name[i+1:], "}")
	}
	n := 0
	for _, l := range p.lines {
		i := strings.LastIndexByte(l, ' ')
		series, v := l[:i], l[i+1:]
		if !strings.HasPrefix(series, name+"{") || label != "" && !strings.Contains(series, label) {
			continue
		}
		if value == "" || v == value {
			n++
		}
	}
	return n
}

// value is the value of the series name, without labels.
func (p seriesPage) value(name string) float64 {
	for _, l := range p.lines {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return f
			}
		}
	}
	return 0
}
