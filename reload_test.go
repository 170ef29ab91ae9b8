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
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/collector"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
	"github.com/kartustok/kartustok_exporter/minimums"
)

const goodMinimums = `categories:
  - name: Bahan Baku
    minimum: 20
items:
  - code: KS-1
    minimum: 10
    total_minimum: 40
    warehouses:
      - code: GDG-01
        minimum: 60
`

// badMinimums has one problem, on line 5.
const badMinimums = `items:
  - code: KS-1
    warehouses:
      - code: GDG-01
        minimum: lots
`

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFileMinimums(t *testing.T) {
	set, err := minimums.Parse("m.yml", []byte(goodMinimums))
	if err != nil {
		t.Fatal(err)
	}
	f := newFileMinimums(set)
	gdg1 := &kartustok.Locator{ID: "L1", Code: "GDG-01"}
	gdg2 := &kartustok.Locator{ID: "L2", Code: "GDG-02"}
	ks1 := &kartustok.Item{ID: "i1", Code: "KS-1", CategoryID: "c9", CategoryName: "Lain"}
	raw := &kartustok.Item{ID: "i2", Code: "KS-2", CategoryID: "c1", CategoryName: "Bahan Baku"}
	other := &kartustok.Item{ID: "i3", Code: "KS-3", CategoryID: "c2", CategoryName: "Kemasan"}
	for _, tc := range []struct {
		name    string
		l       *kartustok.Locator
		it      *kartustok.Item
		want    float64
		wantSet bool
	}{
		{"warehouse entry beats the API", gdg1, ks1, 60, true},
		{"item minimum elsewhere", gdg2, ks1, 10, true},
		{"category by name", gdg1, raw, 20, true},
		{"not in the file: the API's", gdg1, other, 7, true},
		{"unknown item: the API's", gdg1, nil, 7, true},
		{"unknown locator: the API's", nil, ks1, 7, true},
	} {
		if v, ok := f.StockMinimum(tc.l, tc.it, 7, true); v != tc.want || ok != tc.wantSet {
			t.Errorf("%s: StockMinimum = %v, %v; want %v, %v", tc.name, v, ok, tc.want, tc.wantSet)
		}
	}
	if v, ok := f.StockMinimum(gdg1, other, 0, false); ok {
		t.Errorf("neither file nor API: %v, %v", v, ok)
	}
	if v, ok := f.ItemMinimum(ks1, 3, true); v != 40 || !ok {
		t.Errorf("ItemMinimum(KS-1) = %v, %v; want the file's 40", v, ok)
	}
	if v, ok := f.ItemMinimum(raw, 3, true); v != 3 || !ok {
		t.Errorf("ItemMinimum(KS-2) = %v, %v; want the API's 3 (the category sets no total)", v, ok)
	}
	if v, ok := f.ItemMinimum(nil, 3, true); v != 3 || !ok {
		t.Errorf("ItemMinimum(nil) = %v, %v", v, ok)
	}
	if got := f.MinimumPairs(); len(got) != 1 || !slices.Equal(got["KS-1"], []string{"GDG-01"}) {
		t.Errorf("MinimumPairs = %v", got)
	}
}

// countLines counts the log lines holding s.
func countLines(logs, s string) int {
	n := 0
	for line := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// newTestReloader loads goodMinimums from a file the test may rewrite.
func newTestReloader(t *testing.T) (r *minimumsReloader, path string, logs *syncWriter) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "minimums.yml")
	writeFile(t, path, goodMinimums)
	logs = &syncWriter{}
	r, err := newMinimumsReloader(path, log.NewLogfmtLogger(logs))
	if err != nil {
		t.Fatal(err)
	}
	return r, path, logs
}

func TestReloaderKeepsThePreviousFileOnAFailedReload(t *testing.T) {
	r, path, logs := newTestReloader(t)
	gdg1 := &kartustok.Locator{Code: "GDG-01"}
	ks1 := &kartustok.Item{Code: "KS-1"}
	minimum := func() float64 {
		v, _ := r.Minimums().StockMinimum(gdg1, ks1, 0, false)
		return v
	}
	state := func() (float64, float64, float64) {
		return testutil.ToFloat64(r.successful), testutil.ToFloat64(r.successTime), minimum()
	}
	ok0, ts0, min0 := state()
	if ok0 != 1 || ts0 == 0 || min0 != 60 {
		t.Fatalf("after start-up: successful=%v timestamp=%v minimum=%v", ok0, ts0, min0)
	}

	writeFile(t, path, badMinimums)
	err := r.Reload("test")
	if err == nil || !strings.Contains(err.Error(), path+":5: items[0].warehouses[0].minimum") {
		t.Fatalf("bad reload: %v", err)
	}
	if ok, ts, m := state(); ok != 0 || ts != ts0 || m != 60 {
		t.Errorf("after a bad reload: successful=%v timestamp=%v minimum=%v; want 0, %v, 60 (the previous file)", ok, ts, m, ts0)
	}
	if n := countLines(logs.String(), "Reloading the minimums file failed"); n != 1 {
		t.Errorf("a failed reload logged %d lines, want 1:\n%s", n, logs.String())
	}

	writeFile(t, path, strings.Replace(goodMinimums, "minimum: 60", "minimum: 75", 1))
	time.Sleep(10 * time.Millisecond) // so the timestamp can move on a coarse clock
	if err := r.Reload("test"); err != nil {
		t.Fatal(err)
	}
	if ok, ts, m := state(); ok != 1 || ts <= ts0 || m != 75 {
		t.Errorf("after a good reload: successful=%v timestamp=%v minimum=%v; want 1, > %v, 75", ok, ts, m, ts0)
	}
	if n := countLines(logs.String(), "Reloaded the minimums file"); n != 1 {
		t.Errorf("a good reload logged %d lines, want 1:\n%s", n, logs.String())
	}
}

// noDocument and nullDocument are the messages for a minimums file that
// writes no minimums at all.
const (
	noDocument   = `the file holds no YAML document (it is empty or only comments); to clear every minimum on purpose, write an explicit empty document such as "items: []"`
	nullDocument = `the file's YAML document is null (a bare "---", "null" or "~"), which writes no minimums; to clear every minimum on purpose, write an explicit empty document such as "items: []"`
)

// TestReloaderKeepsThePreviousFileWhenItIsEmptied: a minimums file emptied
// or half-written while being edited is a failed reload, not a decision to
// drop every minimum, so the previous file stays in force and the reload
// gauge (behind KartuStokConfigReloadFailed) says 0; an explicit empty
// document is that decision, and clears them.
func TestReloaderKeepsThePreviousFileWhenItIsEmptied(t *testing.T) {
	r, path, logs := newTestReloader(t)
	gdg1 := &kartustok.Locator{Code: "GDG-01"}
	ks1 := &kartustok.Item{Code: "KS-1"}
	minimum := func() (float64, bool) {
		return r.Minimums().StockMinimum(gdg1, ks1, 7, true)
	}
	ts0 := testutil.ToFloat64(r.successTime)
	require.Equal(t, 1.0, testutil.ToFloat64(r.successful))

	for _, tc := range []struct{ name, content, want string }{
		{"empty", "", noDocument},
		{"whitespace", "\n  \n\t\n", noDocument},
		{"comments only", "# items:\n#   - code: KS-1\n#     minimum: 10\n", noDocument},
		{"bare ---", "---\n", nullDocument},
		{"null", "null\n", nullDocument},
	} {
		writeFile(t, path, tc.content)
		err := r.Reload("test " + tc.name)
		require.EqualError(t, err, path+": "+tc.want, tc.name)
		require.Equal(t, 0.0, testutil.ToFloat64(r.successful), "%s: kartustok_config_last_reload_successful", tc.name)
		require.Equal(t, ts0, testutil.ToFloat64(r.successTime), "%s: the last success is still the start-up load", tc.name)
		v, ok := minimum()
		require.True(t, ok, tc.name)
		require.Equal(t, 60.0, v, "%s: the previous file's minimum stays in force", tc.name)
	}
	require.Equal(t, 5, countLines(logs.String(), "Reloading the minimums file failed"), logs.String())

	writeFile(t, path, "# Every minimum cleared on purpose.\nitems: []\n")
	time.Sleep(10 * time.Millisecond) // so the timestamp can move on a coarse clock
	require.NoError(t, r.Reload("test"))
	require.Equal(t, 1.0, testutil.ToFloat64(r.successful))
	require.Greater(t, testutil.ToFloat64(r.successTime), ts0)
	require.NotNil(t, r.Minimums(), "a file is configured: the (empty) file is in force")
	v, ok := minimum()
	require.True(t, ok)
	require.Equal(t, 7.0, v, "the minimums are cleared: the API's own applies")
	_, ok = r.Minimums().StockMinimum(gdg1, ks1, 0, false)
	require.False(t, ok, "the minimums are cleared: the file sets none")
}

// TestStartUpRejectsAnEmptyMinimumsFile: at start-up an empty file stops
// the exporter, like any other invalid file, with the message saying how to
// clear the minimums on purpose.
func TestStartUpRejectsAnEmptyMinimumsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "minimums.yml")
	writeFile(t, path, "# nothing yet\n")
	r, err := newMinimumsReloader(path, log.NewNopLogger())
	require.Nil(t, r)
	require.EqualError(t, err, path+": "+noDocument)
	require.Equal(t, []string{path + ": " + noDocument}, fileProblems(err))

	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code := runContext(ctx, []string{"--demo", "--web.listen-address=127.0.0.1:0", "--stock.minimums-file=" + path}, &stdout, &stderr)
	require.Equal(t, 1, code, stderr.String())
	require.Contains(t, stderr.String(), "the file holds no YAML document (it is empty or only comments)")
	require.NotContains(t, stderr.String(), "Demo:", "the demo company started before the file was checked")
}

func TestReloaderWithoutAFile(t *testing.T) {
	r, err := newMinimumsReloader("", log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	if r.Minimums() != nil {
		t.Error("minimums without a file; the API's values should stand untouched")
	}
	if ok, ts := testutil.ToFloat64(r.successful), testutil.ToFloat64(r.successTime); ok != 1 || ts < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("successful=%v timestamp=%v; want 1 and the start time", ok, ts)
	}
	if err := r.Reload("test"); err != nil {
		t.Errorf("reload without a file: %v", err)
	}
}

func TestReloaderLogsCatalogWarningsOnce(t *testing.T) {
	r, _, logs := newTestReloader(t)
	snap := &collector.Snapshot{
		Locators:      []kartustok.Locator{{ID: "L1", Code: "GDG-01"}},
		Items:         []kartustok.Item{{ID: "i1", Code: "ks-1"}},
		LocatorsKnown: true, ItemsKnown: true,
		CategoryNames: map[kartustok.ID]string{"c1": "Bahan Baku"},
	}
	r.snapshot = func() *collector.Snapshot { return snap }
	const warning = `no item with code \"KS-1\" in KartuStok (did you mean \"ks-1\"?)`
	r.CheckCatalog(snap)
	r.CheckCatalog(snap)
	if n := countLines(logs.String(), warning); n != 1 {
		t.Fatalf("two checks of one catalog logged the warning %d times, want 1:\n%s", n, logs.String())
	}
	if err := r.Reload("test"); err != nil {
		t.Fatal(err)
	}
	if n := countLines(logs.String(), warning); n != 2 {
		t.Errorf("a reload did not log the warnings again (%d):\n%s", n, logs.String())
	}
	fixed := *snap
	fixed.Items = []kartustok.Item{{ID: "i1", Code: "KS-1"}}
	r.CheckCatalog(&fixed)
	snap.Items = []kartustok.Item{{ID: "i1", Code: "ks-1"}}
	r.CheckCatalog(snap)
	if n := countLines(logs.String(), warning); n != 3 {
		t.Errorf("a catalog change back to the typo did not log the warning again (%d):\n%s", n, logs.String())
	}
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
	h, err := newHandler(handlerConfig{telemetryPath: "/metrics", logger: log.NewNopLogger(),
		reload: func() error { calls++; return fail }}, &fakeReady{})
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
	writeFile(t, good, goodMinimums)
	writeFile(t, bad, badMinimums+"    total_minimum: -1\n")
	empty, null, cleared := filepath.Join(dir, "empty.yml"), filepath.Join(dir, "null.yml"), filepath.Join(dir, "cleared.yml")
	writeFile(t, empty, "\n# items:\n#   - code: KS-1\n")
	writeFile(t, null, "---\n")
	writeFile(t, cleared, "items: []\n")
	url := "--kartustok.url=https://sinarjaya.kartustok.com/public/v1"
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		wantOut    string
		wantErrors []string
	}{
		{"good file", []string{url, "--stock.minimums-file=" + good}, 0,
			"kartustok_exporter: configuration OK; minimums file " + good + ": categories=1 items=1 warehouse_minimums=1\n", nil},
		{"no file", []string{"--demo"}, 0, "kartustok_exporter: configuration OK; no --stock.minimums-file\n", nil},
		{"bad file", []string{url, "--stock.minimums-file=" + bad}, 1, "", []string{
			bad + ":5: items[0].warehouses[0].minimum: must be a number ≥ 0, got \"lots\"",
			bad + ":6: items[0].total_minimum: must be a number ≥ 0, got -1",
		}},
		{"empty file", []string{url, "--stock.minimums-file=" + empty}, 1, "", []string{
			empty + ": " + noDocument,
		}},
		{"null document", []string{url, "--stock.minimums-file=" + null}, 1, "", []string{
			null + ": " + nullDocument,
		}},
		{"minimums cleared on purpose", []string{url, "--stock.minimums-file=" + cleared}, 0,
			"kartustok_exporter: configuration OK; minimums file " + cleared + ": categories=0 items=0 warehouse_minimums=0\n", nil},
		{"missing file", []string{url, "--stock.minimums-file=" + filepath.Join(dir, "nope.yml")}, 1, "", []string{
			"reading minimums file: open " + filepath.Join(dir, "nope.yml") + ": no such file or directory",
		}},
		{"flags and file", []string{"--kartustok.url=https://member.kartustok.com", "--kartustok.budget=2", "--sync.stock-interval=1ms", "--stock.minimums-file=" + bad}, 1, "", []string{
			"--sync.stock-interval must be at least 1s, got 1ms",
			"--kartustok.budget must be in (0, 1], got 2",
			"member domain",
			bad + ":5:",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
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
	writeFile(t, path, badMinimums)
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
	locatorInfoRE = regexp.MustCompile(`^kartustok_locator_info\{active="true",locator_code="([^"]*)",locator_id="([^"]*)"`)
	stockRE       = regexp.MustCompile(`^kartustok_stock_(on_hand|minimum_quantity)\{item_id="([^"]*)",locator_id="([^"]*)"\} (\S+)`)
	reloadOKRE    = regexp.MustCompile(`^kartustok_config_last_reload_successful (\S+)`)
)

func readMetrics(t *testing.T, url string) metricsView {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	v := metricsView{itemCode: map[string]string{}, activeItems: map[string]string{}, locatorCode: map[string]string{},
		onHand: map[[2]string]string{}, minimum: map[[2]string]string{}}
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
	writeFile(t, tokenFile, company.AddToken(kartustoktest.TokenSpec{})+"\n")
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
	writeFile(t, path, "items: []\n") // an explicit empty document sets nothing
	addr := freeAddr(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncWriter
	exit := make(chan int, 1)
	go func() {
		exit <- runContext(ctx, []string{"--kartustok.url=" + apiURL, "--kartustok.token-file=" + tokenFile,
			"--web.listen-address=" + addr, "--stock.minimums-file=" + path}, io.Discard, &stderr)
	}()
	base := "http://" + addr
	waitReadyURL(t, base, &stderr)

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
	writeFile(t, path, file(1000, 5))
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

func freeAddr(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	return addr
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

func TestReloaderBoundsTheWarningsItLogs(t *testing.T) {
	var b strings.Builder
	b.WriteString("items:\n")
	for i := range maxLoggedWarnings + 5 {
		fmt.Fprintf(&b, "  - code: X-%d\n    minimum: 1\n", i)
	}
	path := filepath.Join(t.TempDir(), "minimums.yml")
	writeFile(t, path, b.String())
	var logs syncWriter
	r, err := newMinimumsReloader(path, log.NewLogfmtLogger(&logs))
	if err != nil {
		t.Fatal(err)
	}
	r.CheckCatalog(&collector.Snapshot{ItemsKnown: true, Items: []kartustok.Item{{ID: "i1", Code: "KS-1"}}})
	if n := countLines(logs.String(), "A minimums file entry has no effect"); n != maxLoggedWarnings {
		t.Errorf("%d warnings logged, want %d", n, maxLoggedWarnings)
	}
	if !strings.Contains(logs.String(), "5 more minimums file entries have no effect") {
		t.Errorf("no count of the rest:\n%s", logs.String())
	}
}
