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
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"hash/crc32"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/refresh"
)

// swapSource is a Source whose snapshot a test replaces.
type swapSource struct {
	snap atomic.Pointer[refresh.Snapshot]
}

func (s *swapSource) Snapshot() *refresh.Snapshot { return s.snap.Load() }
func (s *swapSource) MaxStaleness() time.Duration { return testkit.EngineConfig().MaxStaleness }
func (s *swapSource) FlowMaxAge() time.Duration {
	return testkit.EngineConfig().FlowInterval + testkit.EngineConfig().MaxStaleness
}

func (s *swapSource) Budget() (int, time.Duration) {
	return testkit.EngineConfig().Budget, testkit.EngineConfig().Window
}

// richSnapshot is fixedSnapshot with what the rendered families must get
// right: a stale locator, carried entries fresh and expired, pairs with a
// minimum of their own and no row.
func richSnapshot(now time.Time) *refresh.Snapshot {
	s := pairSnapshot(now)
	s.Locators = append(s.Locators, kartustok.Locator{ID: "L4", Code: "GDG-04", Name: `Gudang "4"`, Active: true})
	s.Stock["L4"] = &refresh.LocatorStock{
		Fetched: now.Add(-time.Minute),
		Rows:    []refresh.StockEntry{{ItemID: "i1", OnHand: 3.25, Minimum: 1, HasMinimum: true}},
		Carried: []refresh.CarriedEntry{
			{StockEntry: refresh.StockEntry{ItemID: "i3", OnHand: 7}, Fetched: now.Add(-10 * time.Minute)},
			{StockEntry: refresh.StockEntry{ItemID: "i2", OnHand: 9}, Fetched: now.Add(-time.Hour)}, // too old
		},
		Skipped: []kartustok.ID{"i3", "i2"},
	}
	addFlow(s, now)
	return s
}

// addFlow gives s the company's day and flow: L4's stock and flow are of
// the day, and so is the carried i3; L1's stock is of the day before, its
// 30-day read too old and its movements the day before's, so none of
// those are exported.
func addFlow(s *refresh.Snapshot, now time.Time) {
	today, yesterday := companyDay(s, now), companyDay(s, now.AddDate(0, 0, -1))
	l4 := *s.Stock["L4"]
	l4.Day = today
	l4.Rows = []refresh.StockEntry{{ItemID: "i1", OnHand: 3.25, Minimum: 1, HasMinimum: true, In: 4, Out: 1.5, HasFlow: true}}
	l4.Carried = slices.Clone(l4.Carried)
	l4.Carried[0].Day, l4.Carried[0].In, l4.Carried[0].Out, l4.Carried[0].HasFlow = today, 2, 0, true
	s.Stock["L4"] = &l4
	l1 := *s.Stock["L1"]
	l1.Day = yesterday
	l1.Rows = slices.Clone(l1.Rows)
	for i := range l1.Rows {
		l1.Rows[i].In, l1.Rows[i].HasFlow = 9, true
	}
	s.Stock["L1"] = &l1
	s.Flow = map[kartustok.ID]*refresh.LocatorFlow{
		"L4": {
			Period:    &refresh.FlowPeriod{From: companyDay(s, now.AddDate(0, 0, -29)), To: today, Fetched: now.Add(-20 * time.Minute), Rows: []refresh.FlowEntry{{ItemID: "i1", In: 120, Out: 90}, {ItemID: "i3", In: 0, Out: 30}}},
			Movements: &refresh.MovementCounts{Day: today, Fetched: now.Add(-20 * time.Minute), ByType: [4]int{3, 5, 0, 1}},
		},
		"L1": {
			Period:    &refresh.FlowPeriod{From: companyDay(s, now.AddDate(0, 0, -30)), To: yesterday, Fetched: now.Add(-2 * time.Hour), Rows: []refresh.FlowEntry{{ItemID: "i1", In: 1, Out: 1}}},
			Movements: &refresh.MovementCounts{Day: yesterday, Fetched: now.Add(-20 * time.Minute), ByType: [4]int{1, 1, 1, 1}},
		},
	}
}

// TestFlowSeries: the day's flow only while its rows are of the company's
// day, the 30 days' while the read is fresh, the movements only of the
// day; and the day's figures vanish when the day ends.
func TestFlowSeries(t *testing.T) {
	now := time.Now()
	src := &swapSource{}
	s := richSnapshot(now)
	src.snap.Store(s)
	flowOf := func(ms map[string]float64) map[string]float64 {
		out := map[string]float64{}
		for k, v := range ms {
			if strings.HasPrefix(k, "kartustok_stock_inflow") || strings.HasPrefix(k, "kartustok_stock_outflow") || strings.HasPrefix(k, "kartustok_stock_movements") {
				out[k] = v
			}
		}
		return out
	}
	r := NewRenderer(src, nil, testCompany)
	h := NewHandler(prometheus.NewRegistry(), Renderers(r), HandlerOpts{})
	assert.Equal(t, map[string]float64{
		`kartustok_stock_inflow_quantity{company="sinarjaya",item_id="i1",locator_id="L4",period="today"}`:  4,
		`kartustok_stock_outflow_quantity{company="sinarjaya",item_id="i1",locator_id="L4",period="today"}`: 1.5,
		`kartustok_stock_inflow_quantity{company="sinarjaya",item_id="i3",locator_id="L4",period="today"}`:  2,
		`kartustok_stock_outflow_quantity{company="sinarjaya",item_id="i3",locator_id="L4",period="today"}`: 0,
		`kartustok_stock_inflow_quantity{company="sinarjaya",item_id="i1",locator_id="L4",period="30d"}`:    120,
		`kartustok_stock_outflow_quantity{company="sinarjaya",item_id="i1",locator_id="L4",period="30d"}`:   90,
		`kartustok_stock_inflow_quantity{company="sinarjaya",item_id="i3",locator_id="L4",period="30d"}`:    0,
		`kartustok_stock_outflow_quantity{company="sinarjaya",item_id="i3",locator_id="L4",period="30d"}`:   30,
		`kartustok_stock_movements{company="sinarjaya",locator_id="L4",transaction_type="receipt"}`:         3,
		`kartustok_stock_movements{company="sinarjaya",locator_id="L4",transaction_type="issue"}`:           5,
		`kartustok_stock_movements{company="sinarjaya",locator_id="L4",transaction_type="move"}`:            0,
		`kartustok_stock_movements{company="sinarjaya",locator_id="L4",transaction_type="adjustment"}`:      1,
	}, flowOf(testkit.MustGather(t, served(t, h))))
	body, hdr := scrapeHandler(t, h, "application/openmetrics-text;version=1.0.0", "gzip")
	require.Len(t, flowOf(parseExposition(t, body, expfmt.ResponseFormat(hdr))), 12, "in OpenMetrics too")

	// The 30 days' read expires after the flow interval and the max
	// staleness, without a new snapshot.
	later := now.Add(testkit.EngineConfig().FlowInterval + testkit.EngineConfig().MaxStaleness)
	assert.Empty(t, r.frame(later)[famInflow], "expired 30-day flow still rendered")
}

// TestFlowOfTheDayEndsAtTheCompanysMidnight: at the company's midnight,
// in its own time zone, the day's flow and movements vanish from the
// rendered blocks without a new snapshot (no refresh may run: a refused
// token, say), and the 30 days and the stock stay.
func TestFlowOfTheDayEndsAtTheCompanysMidnight(t *testing.T) {
	jakarta, err := time.LoadLocation("Asia/Jakarta")
	require.NoError(t, err)
	before := time.Date(2026, 12, 1, 16, 50, 0, 0, time.UTC) // 23:50 in Jakarta
	after := before.Add(15 * time.Minute)                    // 00:05 on 2 December there
	s := fixedSnapshot(before.Add(-time.Minute))
	s.Location = jakarta
	ls := *s.Stock["L1"]
	ls.Day = "2026-12-01"
	ls.Rows = []refresh.StockEntry{{ItemID: "i1", OnHand: 12.5, In: 3, Out: 1, HasFlow: true}}
	s.Stock = map[kartustok.ID]*refresh.LocatorStock{"L1": &ls}
	s.Flow = map[kartustok.ID]*refresh.LocatorFlow{"L1": {
		Period:    &refresh.FlowPeriod{From: "2026-11-02", To: "2026-12-01", Fetched: before.Add(-time.Minute), Rows: []refresh.FlowEntry{{ItemID: "i1", In: 30, Out: 60}}},
		Movements: &refresh.MovementCounts{Day: "2026-12-01", Fetched: before.Add(-time.Minute), ByType: [4]int{1, 2, 0, 0}},
	}}
	src := &swapSource{}
	src.snap.Store(s)
	r := NewRenderer(src, nil, testCompany)
	text := func(blocks []*block) string {
		var b strings.Builder
		for _, bl := range blocks {
			b.Write(bl.text)
		}
		return b.String()
	}
	f := r.frame(before)
	assert.Contains(t, text(f[famInflow]), `period="today"`)
	assert.Contains(t, text(f[famInflow]), `period="30d"`)
	assert.NotEmpty(t, text(f[famMovements]))

	f = r.frame(after)
	assert.NotContains(t, text(f[famInflow]), `period="today"`, "the day before's flow shown as today's")
	assert.NotContains(t, text(f[famOutflow]), `period="today"`)
	assert.Contains(t, text(f[famInflow]), `period="30d"`, "the 30 days stay until the flow refresh")
	assert.Empty(t, text(f[famMovements]), "the day before's movements shown as today's")
	assert.Contains(t, text(f[famOnHand]), `item_id="i1"`, "the stock stays")
}

// scrapeHandler fetches h as a scraper that sends accept and
// acceptEncoding, and returns the answer decompressed and its headers.
func scrapeHandler(t *testing.T, h http.Handler, accept, acceptEncoding string) (string, http.Header) {
	t.Helper()
	return testkit.Scrape(t, h, "/metrics", accept, acceptEncoding)
}

// parseExposition parses text or OpenMetrics into series → value.
func parseExposition(t *testing.T, body string, format expfmt.Format) map[string]float64 {
	t.Helper()
	var fams []*dto.MetricFamily
	if format.FormatType() == expfmt.TypeOpenMetrics {
		// expfmt decodes no OpenMetrics; its samples read as text once
		// the comments, which differ only in how counters are named,
		// are left out.
		var b strings.Builder
		for _, l := range strings.SplitAfter(body, "\n") {
			if !strings.HasPrefix(l, "#") {
				b.WriteString(l)
			}
		}
		body, format = b.String(), expfmt.NewFormat(expfmt.TypeTextPlain)
	}
	dec := expfmt.NewDecoder(strings.NewReader(body), format)
	for {
		var mf dto.MetricFamily
		err := dec.Decode(&mf)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		fams = append(fams, &mf)
	}
	ms := testkit.MustGather(t, prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return fams, nil }))
	// A histogram reads back as untyped samples without HELP and TYPE;
	// compare only what both sides hold as plain samples.
	for k := range ms {
		if strings.Contains(k, "_bucket{") || strings.Contains(k, "_sum{") || strings.Contains(k, "_count{") {
			delete(ms, k)
		}
	}
	return ms
}

// TestHandlerRendersOnceAndSharesTheBytes: scrapes of one snapshot reuse
// the same blocks; a new locator stock, minimums or catalog renders only
// what it changed; a carried entry that expires is dropped without a new
// snapshot.
func TestHandlerRendersOnceAndSharesTheBytes(t *testing.T) {
	now := time.Now()
	src := &swapSource{}
	s := richSnapshot(now)
	src.snap.Store(s)
	r := NewRenderer(src, nil, testCompany)
	f1 := r.frame(now)
	f2 := r.frame(now.Add(time.Second))
	require.NotEmpty(t, f1[famOnHand])
	for k := range f1 {
		require.Len(t, f2[k], len(f1[k]))
		for i := range f1[k] {
			assert.Same(t, f1[k][i], f2[k][i], "family %d block %d rendered again", k, i)
		}
	}
	// L1's stock changes: only its blocks are new.
	s2 := *s
	s2.Stock = map[kartustok.ID]*refresh.LocatorStock{}
	maps.Copy(s2.Stock, s.Stock)
	s2.Stock["L1"] = &refresh.LocatorStock{Fetched: now, Rows: []refresh.StockEntry{{ItemID: "i1", OnHand: 99}}}
	src.snap.Store(&s2)
	f3 := r.frame(now.Add(2 * time.Second))
	assert.Same(t, f1[famItemInfo][0], f3[famItemInfo][0], "the catalog is not rendered again")
	assert.NotSame(t, f1[famOnHand][0], f3[famOnHand][0], "L1 is")
	assert.Same(t, f1[famOnHand][len(f1[famOnHand])-1], f3[famOnHand][len(f3[famOnHand])-1], "L4 is not")
	// The carried entry of L4 (fetched 10 min ago) expires 20 min later.
	f4 := r.frame(now.Add(21 * time.Minute))
	last := f4[famOnHand][len(f4[famOnHand])-1]
	assert.NotContains(t, string(last.text), `item_id="i3",locator_id="L4"`)
}

// TestGzipStreamOfRenderedBlocks: blocks compressed apart, strung with
// text compressed now, make one gzip member with the right CRC and size.
func TestGzipStreamOfRenderedBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 20 {
		var want bytes.Buffer
		var out bytes.Buffer
		g := newGzipExposition(&out)
		for range 1 + rng.IntN(8) {
			n := rng.IntN(5000)
			text := make([]byte, n)
			for i := range text {
				text[i] = "abc\n{}=\" 0123456789"[rng.IntN(19)]
			}
			if rng.IntN(2) == 0 {
				g.text(text)
			} else {
				g.block(newBlock([]line{{text: text}}))
			}
			want.Write(text)
		}
		require.NoError(t, g.close())
		zr, err := gzip.NewReader(&out)
		require.NoError(t, err, "trial %d", trial)
		zr.Multistream(false)
		got, err := io.ReadAll(zr) // checks the CRC and size
		require.NoError(t, err, "trial %d", trial)
		assert.Equal(t, want.Bytes(), got, "trial %d", trial)
	}
}

func TestCRC32Shift(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		a := make([]byte, rng.IntN(3000))
		b := make([]byte, rng.IntN(3000))
		for i := range a {
			a[i] = byte(rng.Uint32())
		}
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		want := crc32.ChecksumIEEE(append(append([]byte{}, a...), b...))
		shift := crc32Shift(int64(len(b)))
		assert.Equal(t, want, gf2Times(&shift, crc32.ChecksumIEEE(a))^crc32.ChecksumIEEE(b))
	}
}

// TestHandlerLimitsConcurrentScrapes: --web.max-requests answers 503 past
// the limit, and scrapes running at once while the snapshot changes are
// each whole and consistent (run with -race).
func TestHandlerLimitsConcurrentScrapes(t *testing.T) {
	now := time.Now()
	src := &swapSource{}
	src.snap.Store(richSnapshot(now))
	block := make(chan struct{})
	slow := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { <-block; return nil, nil })
	h := NewHandler(slow, Renderers(NewRenderer(src, nil, testCompany)), HandlerOpts{MaxRequestsInFlight: 1})
	done := make(chan struct{})
	go func() {
		defer close(done)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	}()
	time.Sleep(50 * time.Millisecond)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	close(block)
	<-done

	h = NewHandler(prometheus.NewRegistry(), Renderers(NewRenderer(src, nil, testCompany)), HandlerOpts{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 20 {
				if i == 0 {
					s := richSnapshot(now)
					s.Stock["L1"] = &refresh.LocatorStock{Fetched: now, Rows: []refresh.StockEntry{{ItemID: "i1", OnHand: float64(j)}}}
					src.snap.Store(s)
					continue
				}
				enc := ""
				if j%2 == 0 {
					enc = "gzip"
				}
				body, hdr := scrapeHandler(t, h, "", enc)
				got := parseExposition(t, body, expfmt.ResponseFormat(hdr))
				assert.Contains(t, got, `kartustok_stock_on_hand{company="sinarjaya",item_id="i1",locator_id="L1"}`)
			}
		})
	}
	wg.Wait()
}

// TestHandlerThroughPromhttpInstrumentation: promhttp's own metrics count
// the scrapes of the handler.
func TestHandlerThroughPromhttpInstrumentation(t *testing.T) {
	src := &swapSource{}
	src.snap.Store(richSnapshot(time.Now()))
	reg := prometheus.NewRegistry()
	h := promhttp.InstrumentMetricHandler(reg, NewHandler(reg, Renderers(NewRenderer(src, nil, testCompany)), HandlerOpts{}))
	for range 3 {
		scrapeHandler(t, h, "", "gzip")
	}
	body, hdr := scrapeHandler(t, h, "", "")
	got := parseExposition(t, body, expfmt.ResponseFormat(hdr))
	assert.Equal(t, 3.0, got[`promhttp_metric_handler_requests_total{code="200"}`])
}

// TestHandlerCompressesOnlyChangedLiveFamilies: the live families are
// gathered on every scrape, and each is compressed again only when its
// encoding changed; the volatile ones are gathered at most once per
// VolatileMaxAge.
func TestHandlerCompressesOnlyChangedLiveFamilies(t *testing.T) {
	var liveGathers, volatileGathers atomic.Int32
	var changing atomic.Int64
	changing.Store(1)
	gauge := func(name string, v func() float64) *dto.MetricFamily {
		typ := dto.MetricType_GAUGE
		value := v()
		return &dto.MetricFamily{Name: &name, Help: &name, Type: &typ, Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: &value}}}}
	}
	live := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		liveGathers.Add(1)
		return []*dto.MetricFamily{
			gauge("a_changing", func() float64 { return float64(changing.Load()) }),
			gauge("b_steady", func() float64 { return 7 }),
		}, nil
	})
	volatile := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		return []*dto.MetricFamily{gauge("z_volatile", func() float64 { return float64(volatileGathers.Add(1)) })}, nil
	})
	h := NewHandler(live, nil, HandlerOpts{Volatile: volatile, VolatileMaxAge: time.Hour})
	blocks := func() map[string]*block {
		hh := h.(*handler)
		hh.liveMu.Lock()
		defer hh.liveMu.Unlock()
		return maps.Clone(hh.liveBlks[0])
	}
	body, _ := scrapeHandler(t, h, "", "gzip")
	first := blocks()
	for range 2 {
		body, _ = scrapeHandler(t, h, "", "gzip")
		assert.Equal(t, first, blocks(), "an unchanged family compressed again")
	}
	assert.Contains(t, body, "a_changing 1\n")
	assert.Contains(t, body, "z_volatile 1\n")
	assert.Equal(t, int32(3), liveGathers.Load(), "the live families are gathered on every scrape")

	changing.Store(2)
	body, _ = scrapeHandler(t, h, "", "")
	assert.Contains(t, body, "a_changing 2\n", "a change is served at the next scrape")
	assert.Contains(t, body, "b_steady 7\n")
	assert.Contains(t, body, "z_volatile 1\n", "the volatile families are younger than their max age")
	now := blocks()
	assert.NotSame(t, first["a_changing"], now["a_changing"])
	assert.Same(t, first["b_steady"], now["b_steady"], "only the family that changed is compressed again")
	assert.Equal(t, int32(1), volatileGathers.Load())

	h = NewHandler(live, nil, HandlerOpts{Volatile: volatile})
	scrapeHandler(t, h, "", "")
	scrapeHandler(t, h, "", "")
	assert.Equal(t, int32(3), volatileGathers.Load(), "without a max age, every scrape gathers")
}

// TestLiveFamiliesNeverStale: a live family is served as it is at the
// scrape whatever it is made of, with no list of its inputs to keep: here
// the rate limit changes while the snapshot and the request metrics stay
// as they were.
func TestLiveFamiliesNeverStale(t *testing.T) {
	src := &swapSource{}
	src.snap.Store(fixedSnapshot(time.Now()))
	rl := &swapRateLimit{}
	rl.status.Store(&kartustok.RateLimitStatus{Known: true, Limit: 120, Remaining: 77})
	api := NewAPIMetrics()
	reg := prometheus.NewPedanticRegistry()
	companyOf(reg).MustRegister(NewCollector(src, WithRateLimit(rl)), api)
	h := NewHandler(reg, Renderers(NewRenderer(src, nil, testCompany)), HandlerOpts{})
	remaining := func(enc string) float64 {
		body, hdr := scrapeHandler(t, h, "", enc)
		return parseExposition(t, body, expfmt.ResponseFormat(hdr))[`kartustok_api_rate_limit_remaining{company="sinarjaya"}`]
	}
	for _, enc := range []string{"", "gzip"} {
		require.InDelta(t, 77.0, remaining(enc), 0)
		rl.status.Store(&kartustok.RateLimitStatus{Known: true, Limit: 120, Remaining: 12})
		assert.InDelta(t, 12.0, remaining(enc), 0, "a stale rate limit served, encoding %q", enc)
		rl.status.Store(&kartustok.RateLimitStatus{Known: true, Limit: 120, Remaining: 77})
	}
}

// swapRateLimit is a RateLimitReporter whose status a test replaces.
type swapRateLimit struct {
	status atomic.Pointer[kartustok.RateLimitStatus]
}

func (s *swapRateLimit) RateLimit() kartustok.RateLimitStatus { return *s.status.Load() }

// TestRendererRunsInTheBackground: a new snapshot is rendered by Run
// before any scrape asks for it.
func TestRendererRunsInTheBackground(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		src := &swapSource{}
		src.snap.Store(richSnapshot(now))
		r := NewRenderer(src, nil, testCompany)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { r.Run(ctx, time.Second); close(done) }()
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		s := richSnapshot(now)
		s.Stock["L1"] = &refresh.LocatorStock{Fetched: now, Rows: []refresh.StockEntry{{ItemID: "i1", OnHand: 42}}}
		src.snap.Store(s)
		time.Sleep(time.Second)
		synctest.Wait()
		r.mu.Lock()
		sb := r.stock["L1"]
		r.mu.Unlock()
		require.NotNil(t, sb)
		assert.Same(t, s.Stock["L1"], sb.key.ls, "rendered before any scrape")
		assert.Contains(t, string(sb.onHand.text), `item_id="i1",locator_id="L1"} 42`)
		cancel()
		<-done
	})
}

// TestRendererRendersTheNewDayInTheBackground: at the company's midnight
// the day's figures end without a new snapshot; the blocks of the new day
// are rendered in the background, not by the first scrape after it.
func TestRendererRendersTheNewDayInTheBackground(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		s := fixedSnapshot(now)
		s.Location = time.FixedZone("a minute before midnight", -60)
		src := &swapSource{}
		src.snap.Store(s)
		r := NewRenderer(src, nil, testCompany)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { r.Run(ctx, time.Second); close(done) }()
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		dayOf := func() string {
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.stock["L1"].day
		}
		before := dayOf()
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, companyDay(s, time.Now()), dayOf(), "the new day rendered before any scrape")
		assert.NotEqual(t, before, dayOf())
		cancel()
		<-done
	})
}
