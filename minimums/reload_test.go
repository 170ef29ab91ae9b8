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

package minimums

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/refresh"
)

// goodMinimums and badMinimums are the minimums files the reload tests
// start from; badMinimums has one problem, on line 5.
var (
	goodMinimums = testkit.MustRead("testdata/reload-good.yml")
	badMinimums  = testkit.MustRead("testdata/reload-bad.yml")
)

func TestFileMinimums(t *testing.T) {
	set, err := Parse("m.yml", []byte(goodMinimums))
	require.NoError(t, err)
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
		v, ok := f.StockMinimum(tc.l, tc.it, 7, true)
		assert.Equal(t, tc.want, v, "%s: StockMinimum", tc.name)
		assert.Equal(t, tc.wantSet, ok, "%s: StockMinimum set", tc.name)
	}
	v, ok := f.StockMinimum(gdg1, other, 0, false)
	assert.False(t, ok, "neither file nor API: %v", v)

	v, ok = f.ItemMinimum(ks1, 3, true)
	assert.True(t, ok)
	assert.Equal(t, 40.0, v, "ItemMinimum(KS-1): the file's 40")
	v, ok = f.ItemMinimum(raw, 3, true)
	assert.True(t, ok)
	assert.Equal(t, 3.0, v, "ItemMinimum(KS-2): the API's 3 (the category sets no total)")
	v, ok = f.ItemMinimum(nil, 3, true)
	assert.True(t, ok)
	assert.Equal(t, 3.0, v, "ItemMinimum(nil)")

	assert.Equal(t, map[string][]string{"KS-1": {"GDG-01"}}, f.MinimumPairs())
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
func newTestReloader(t *testing.T) (r *Reloader, path string, logs *bytes.Buffer) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "minimums.yml")
	testkit.WriteFile(t, path, goodMinimums)
	logs = &bytes.Buffer{}
	r, err := NewReloader(path, log.NewLogfmtLogger(logs))
	require.NoError(t, err)
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
	ts0 := testutil.ToFloat64(r.successTime)
	require.Equal(t, 1.0, testutil.ToFloat64(r.successful), "after start-up")
	require.NotZero(t, ts0, "after start-up: the timestamp")
	require.Equal(t, 60.0, minimum(), "after start-up")

	testkit.WriteFile(t, path, badMinimums)
	err := r.Reload("test")
	require.Error(t, err)
	require.Contains(t, err.Error(), path+":5: items[0].warehouses[0].minimum")
	assert.Equal(t, 0.0, testutil.ToFloat64(r.successful), "after a bad reload")
	assert.Equal(t, ts0, testutil.ToFloat64(r.successTime), "after a bad reload: the last success is still the start-up load")
	assert.Equal(t, 60.0, minimum(), "after a bad reload: the previous file")
	assert.Equal(t, 1, countLines(logs.String(), "Reloading the minimums file failed"), "a failed reload logs one line:\n%s", logs.String())

	testkit.WriteFile(t, path, strings.Replace(goodMinimums, "minimum: 60", "minimum: 75", 1))
	time.Sleep(10 * time.Millisecond) // so the timestamp can move on a coarse clock
	require.NoError(t, r.Reload("test"))
	assert.Equal(t, 1.0, testutil.ToFloat64(r.successful), "after a good reload")
	assert.Greater(t, testutil.ToFloat64(r.successTime), ts0, "after a good reload")
	assert.Equal(t, 75.0, minimum(), "after a good reload")
	assert.Equal(t, 1, countLines(logs.String(), "Reloaded the minimums file"), "a good reload logs one line:\n%s", logs.String())
}

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
		{"empty", "", wantNoDocument},
		{"whitespace", "\n  \n\t\n", wantNoDocument},
		{"comments only", "# items:\n#   - code: KS-1\n#     minimum: 10\n", wantNoDocument},
		{"bare ---", "---\n", wantNullDocument},
		{"null", "null\n", wantNullDocument},
	} {
		testkit.WriteFile(t, path, tc.content)
		err := r.Reload("test " + tc.name)
		require.EqualError(t, err, path+": "+tc.want, tc.name)
		require.Equal(t, 0.0, testutil.ToFloat64(r.successful), "%s: kartustok_config_last_reload_successful", tc.name)
		require.Equal(t, ts0, testutil.ToFloat64(r.successTime), "%s: the last success is still the start-up load", tc.name)
		v, ok := minimum()
		require.True(t, ok, tc.name)
		require.Equal(t, 60.0, v, "%s: the previous file's minimum stays in force", tc.name)
	}
	require.Equal(t, 5, countLines(logs.String(), "Reloading the minimums file failed"), logs.String())

	testkit.WriteFile(t, path, "# Every minimum cleared on purpose.\nitems: []\n")
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

// TestNewReloaderRejectsAnEmptyFile: at start-up an empty file is an error,
// like any other invalid file, with the message saying how to clear the
// minimums on purpose. (That it stops the exporter is tested in package
// main.)
func TestNewReloaderRejectsAnEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "minimums.yml")
	testkit.WriteFile(t, path, "# nothing yet\n")
	r, err := NewReloader(path, log.NewNopLogger())
	require.Nil(t, r)
	require.EqualError(t, err, path+": "+wantNoDocument)
	require.Equal(t, []string{path + ": " + wantNoDocument}, FileProblems(err))
}

// TestFileProblems: every problem of a parse is a line of its own; any
// other error is one line.
func TestFileProblems(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yml")
	testkit.WriteFile(t, bad, badMinimums+"    total_minimum: -1\n")
	_, err := NewReloader(bad, log.NewNopLogger())
	require.Error(t, err)
	require.Equal(t, []string{
		bad + `:5: items[0].warehouses[0].minimum: must be a number ≥ 0, got "lots"`,
		bad + ":6: items[0].total_minimum: must be a number ≥ 0, got -1",
	}, FileProblems(err))

	missing := filepath.Join(dir, "nope.yml")
	_, err = NewReloader(missing, log.NewNopLogger())
	require.Error(t, err)
	require.Equal(t, []string{"reading minimums file: open " + missing + ": no such file or directory"}, FileProblems(err))
}

func TestReloaderWithoutAFile(t *testing.T) {
	r, err := NewReloader("", log.NewNopLogger())
	require.NoError(t, err)
	assert.Nil(t, r.Minimums(), "minimums without a file; the API's values should stand untouched")
	assert.Equal(t, 1.0, testutil.ToFloat64(r.successful))
	assert.GreaterOrEqual(t, testutil.ToFloat64(r.successTime), float64(time.Now().Add(-time.Minute).Unix()), "the start time")
	assert.NoError(t, r.Reload("test"), "reload without a file")
}

// TestReloaderMetrics: the Reloader is the collector of its two gauges,
// with the names and help texts docs/metrics.md, the alerts and the golden
// /metrics page rely on.
func TestReloaderMetrics(t *testing.T) {
	r, path, _ := newTestReloader(t)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(r))
	n, err := testutil.GatherAndCount(reg)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	const help = `# HELP kartustok_config_last_reload_successful Whether the last load of the minimums file (at start-up, on SIGHUP or on POST /-/reload) succeeded (1) or failed, leaving the previous one in force (0); 1 with no file.
# TYPE kartustok_config_last_reload_successful gauge
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(help+"kartustok_config_last_reload_successful 1\n"), "kartustok_config_last_reload_successful"))

	testkit.WriteFile(t, path, badMinimums)
	require.Error(t, r.Reload("test"))
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(help+"kartustok_config_last_reload_successful 0\n"), "kartustok_config_last_reload_successful"))

	mfs, err := reg.Gather()
	require.NoError(t, err)
	require.Len(t, mfs, 2)
	assert.Equal(t, "kartustok_config_last_reload_success_timestamp_seconds", mfs[0].GetName())
	assert.Equal(t, "Unix time of the last successful load of the minimums file; the start time when no file is configured.", mfs[0].GetHelp())
}

func TestReloaderLogsCatalogWarningsOnce(t *testing.T) {
	r, _, logs := newTestReloader(t)
	snap := &refresh.Snapshot{
		Locators:      []kartustok.Locator{{ID: "L1", Code: "GDG-01"}},
		Items:         []kartustok.Item{{ID: "i1", Code: "ks-1"}},
		LocatorsKnown: true, ItemsKnown: true,
		CategoryNames: map[kartustok.ID]string{"c1": "Bahan Baku"},
	}
	r.SetSnapshotFunc(func() *refresh.Snapshot { return snap })
	const warning = `no item with code \"KS-1\" in KartuStok (did you mean \"ks-1\"?)`
	r.CheckCatalog(snap)
	r.CheckCatalog(snap)
	require.Equal(t, 1, countLines(logs.String(), warning), "two checks of one catalog log the warning once:\n%s", logs.String())
	require.NoError(t, r.Reload("test"))
	assert.Equal(t, 2, countLines(logs.String(), warning), "a reload logs the warnings again:\n%s", logs.String())
	fixed := *snap
	fixed.Items = []kartustok.Item{{ID: "i1", Code: "KS-1"}}
	r.CheckCatalog(&fixed)
	snap.Items = []kartustok.Item{{ID: "i1", Code: "ks-1"}}
	r.CheckCatalog(snap)
	assert.Equal(t, 3, countLines(logs.String(), warning), "a catalog change back to the typo logs the warning again:\n%s", logs.String())
}

func TestReloaderBoundsTheWarningsItLogs(t *testing.T) {
	var b strings.Builder
	b.WriteString("items:\n")
	for i := range maxLoggedWarnings + 5 {
		fmt.Fprintf(&b, "  - code: X-%d\n    minimum: 1\n", i)
	}
	path := filepath.Join(t.TempDir(), "minimums.yml")
	testkit.WriteFile(t, path, b.String())
	var logs bytes.Buffer
	r, err := NewReloader(path, log.NewLogfmtLogger(&logs))
	require.NoError(t, err)
	r.CheckCatalog(&refresh.Snapshot{ItemsKnown: true, Items: []kartustok.Item{{ID: "i1", Code: "KS-1"}}})
	assert.Equal(t, maxLoggedWarnings, countLines(logs.String(), "A minimums file entry has no effect"))
	assert.Contains(t, logs.String(), "5 more minimums file entries have no effect", "no count of the rest")
}
