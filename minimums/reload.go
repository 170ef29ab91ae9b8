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
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kartustok/kartustok_exporter/collector"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/refresh"
)

// maxLoggedWarnings bounds the warnings one check logs, so that a file
// written for another company does not flood the log.
const maxLoggedWarnings = 20

// fileMinimums resolves minimums from one loaded minimums file, falling back
// to the API's values where the file sets none. It is immutable, so a reload
// swaps it whole while scrapes read the previous one.
type fileMinimums struct {
	set *Set
	// pairs is the set's items[].warehouses[] entries by item code,
	// computed once per load rather than once per scrape.
	pairs map[string][]string
}

var _ collector.PairMinimums = (*fileMinimums)(nil)

func newFileMinimums(set *Set) *fileMinimums {
	pairs := map[string][]string{}
	for _, code := range set.ItemCodes() {
		if whs := set.WarehouseCodes(code); len(whs) > 0 {
			pairs[code] = whs
		}
	}
	return &fileMinimums{set: set, pairs: pairs}
}

// StockMinimum implements collector.Minimums. A locator or item the catalog
// does not know has no code to look up, so the API's value stands.
func (f *fileMinimums) StockMinimum(l *kartustok.Locator, it *kartustok.Item, apiValue float64, apiSet bool) (float64, bool) {
	if l == nil || it == nil {
		return apiValue, apiSet
	}
	if v, ok := f.set.Minimum(l.Code, it.Code, string(it.CategoryID), it.CategoryName); ok {
		return v, true
	}
	return apiValue, apiSet
}

// ItemMinimum implements collector.Minimums.
func (f *fileMinimums) ItemMinimum(it *kartustok.Item, apiValue float64, apiSet bool) (float64, bool) {
	if it == nil {
		return apiValue, apiSet
	}
	if v, ok := f.set.TotalMinimum(it.Code, string(it.CategoryID), it.CategoryName); ok {
		return v, true
	}
	return apiValue, apiSet
}

// LeadTime implements collector.LeadTimes.
func (f *fileMinimums) LeadTime(it *kartustok.Item) (float64, bool) {
	if it == nil {
		return 0, false
	}
	return f.set.LeadTime(it.Code, string(it.CategoryID), it.CategoryName)
}

var _ collector.LeadTimes = (*fileMinimums)(nil)

// MinimumPairs implements collector.PairMinimums.
func (f *fileMinimums) MinimumPairs() map[string][]string { return f.pairs }

// Reloader holds the minimums file in force and reloads it on request.
// Reloads are serialised; scrapes read the current file through an atomic
// pointer and never wait for one.
//
// A Reloader is a prometheus.Collector of the reload metrics,
// kartustok_config_last_reload_successful and
// kartustok_config_last_reload_success_timestamp_seconds; register it once.
//
// Every load, at start-up and on Reload, takes the file only once a read
// finds it settled: the same file, size and modification time before and
// after the read, and no modification in the last 150 ms (settleTime); a
// pipe, which cannot be read twice, is taken as it comes. A
// file that has not settled is read again every 25 ms; one that has not
// settled after 2 s (settleTimeout) fails to load, with an error saying to
// write it atomically, and the previous file stays in force. So a reload
// that lands while the file is rewritten in place waits for the writer to
// finish, as long as the writer does not pause for the settle time. A file
// replaced by a rename (a temporary file in the same directory renamed over
// it, or a Kubernetes ConfigMap volume swapping its ..data symlink) is
// complete whenever it is seen: it loads at once when written more than the
// settle time ago, and otherwise as soon as it is that old.
//
// Not guaranteed: an in-place rewrite whose writer pauses longer than the
// settle time partway through can still be read half-written, and so can
// any in-place rewrite on a filesystem that keeps modification times only
// to the second, or whose clock is more than the settle time away from this
// one. Only a rename is safe.
type Reloader struct {
	path   string // empty when no file is configured
	logger log.Logger

	current atomic.Pointer[fileMinimums]

	// reloading serialises reloads. It is held while Load waits for the
	// file to settle, which mu is not, so that CheckCatalog, called from
	// the catalog loop, never waits for a file being written.
	reloading sync.Mutex
	// mu serialises a reload's swap and check with CheckCatalog, and
	// guards the fields below.
	mu sync.Mutex
	// snapshot returns the engine's latest snapshot, to check a reloaded
	// file against the catalog; nil until SetSnapshotFunc is called.
	snapshot func() *refresh.Snapshot
	// checked and warned are the file and warnings last logged, so
	// that the same warnings are not logged after every catalog refresh.
	checked *fileMinimums
	warned  string

	successful  prometheus.Gauge
	successTime prometheus.Gauge
}

var _ prometheus.Collector = (*Reloader)(nil)

// NewReloader loads the file at path (none when empty). An invalid file is
// an error listing every problem (see FileProblems), so that start-up fails
// with all of them; so is a file that holds no YAML document (empty, or
// only comments), which Parse refuses rather than read as "no minimums".
func NewReloader(path string, logger log.Logger) (*Reloader, error) {
	r := &Reloader{
		path:   path,
		logger: logger,
		successful: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kartustok_config_last_reload_successful",
			Help: "Whether the last load of the minimums file (at start-up, on SIGHUP or on POST /-/reload) succeeded (1) or failed, leaving the previous one in force (0); 1 with no file.",
		}),
		successTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kartustok_config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful load of the minimums file; the start time when no file is configured.",
		}),
	}
	if path == "" {
		r.markSuccess()
		return r, nil
	}
	set, err := Load(path)
	if err != nil {
		return nil, err
	}
	r.current.Store(newFileMinimums(set))
	r.markSuccess()
	sum := set.Summary()
	level.Info(logger).Log("msg", "Loaded the minimums file", "file", path,
		"categories", sum.Categories, "items", sum.Items, "warehouse_minimums", sum.Warehouses)
	return r, nil
}

func (r *Reloader) markSuccess() {
	r.successful.Set(1)
	r.successTime.SetToCurrentTime()
}

// Describe implements prometheus.Collector.
func (r *Reloader) Describe(ch chan<- *prometheus.Desc) {
	r.successful.Describe(ch)
	r.successTime.Describe(ch)
}

// Collect implements prometheus.Collector.
func (r *Reloader) Collect(ch chan<- prometheus.Metric) {
	r.successful.Collect(ch)
	r.successTime.Collect(ch)
}

// Minimums returns the minimums in force, nil without a file so that the
// collector exports the API's values untouched. It suits
// collector.WithMinimumsFunc.
func (r *Reloader) Minimums() collector.Minimums {
	if f := r.current.Load(); f != nil {
		return f
	}
	return nil
}

// SetSnapshotFunc makes every successful Reload check the new file against
// the catalog of the snapshot that f returns, typically the engine's
// Snapshot method. The engine is built after the Reloader, which it calls
// back through CheckCatalog, hence a setter.
func (r *Reloader) SetSnapshotFunc(f func() *refresh.Snapshot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snapshot = f
}

// Reload re-reads the file, once it has settled (see Reloader). A file that
// fails to load leaves the previous one in force and sets
// kartustok_config_last_reload_successful to 0; that includes a file that
// does not settle, and a file emptied while being edited, which holds no
// YAML document, so such a file never silently drops every minimum (an
// explicit "items: []" does, on purpose). Each reload logs one line;
// trigger says what asked for it.
func (r *Reloader) Reload(trigger string) error {
	r.reloading.Lock()
	defer r.reloading.Unlock()
	if r.path == "" {
		r.markSuccess()
		level.Info(r.logger).Log("msg", "Reload requested; no --stock.minimums-file is configured, so there is nothing to reload", "trigger", trigger)
		return nil
	}
	set, err := Load(r.path)
	if err != nil {
		r.successful.Set(0)
		level.Error(r.logger).Log("msg", "Reloading the minimums file failed; the previous one stays in force", "file", r.path, "trigger", trigger, "err", err)
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.current.Store(newFileMinimums(set))
	r.markSuccess()
	sum := set.Summary()
	level.Info(r.logger).Log("msg", "Reloaded the minimums file", "file", r.path, "trigger", trigger,
		"categories", sum.Categories, "items", sum.Items, "warehouse_minimums", sum.Warehouses)
	if r.snapshot != nil {
		r.checkLocked(r.snapshot())
	}
	return nil
}

// CheckCatalog logs the file's entries that match nothing in s's catalog;
// the engine calls it after each catalog refresh (collector.Config.OnCatalog).
func (r *Reloader) CheckCatalog(s *refresh.Snapshot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checkLocked(s)
}

// checkLocked logs the warnings of checking the current file against s's
// catalog, unless the same file gave the same warnings last time. Called
// with mu held.
func (r *Reloader) checkLocked(s *refresh.Snapshot) {
	f := r.current.Load()
	if f == nil || s == nil {
		return
	}
	warns := f.set.Check(catalogOf(s))
	lines := make([]string, len(warns))
	for i, w := range warns {
		lines[i] = w.Error()
	}
	key := strings.Join(lines, "\n")
	if f == r.checked && key == r.warned {
		return
	}
	r.checked, r.warned = f, key
	for i, line := range lines {
		if i == maxLoggedWarnings {
			level.Warn(r.logger).Log("msg", fmt.Sprintf("%d more minimums file entries have no effect; run --config.check and compare with the catalog", len(lines)-i), "file", r.path)
			break
		}
		level.Warn(r.logger).Log("msg", "A minimums file entry has no effect", "warning", line)
	}
}

// catalogOf is what the snapshot knows of the catalog, in the form the
// file's check takes: a list not fetched yet stays nil, so the check skips
// it instead of calling every entry unknown.
func catalogOf(s *refresh.Snapshot) Catalog {
	var c Catalog
	if s.ItemsKnown {
		c.ItemCodes = make([]string, len(s.Items))
		for i := range s.Items {
			c.ItemCodes[i] = s.Items[i].Code
		}
	}
	if s.LocatorsKnown {
		c.WarehouseCodes = make([]string, len(s.Locators))
		for i := range s.Locators {
			c.WarehouseCodes[i] = s.Locators[i].Code
		}
	}
	if s.CategoryNames != nil {
		c.Categories = make([]Category, 0, len(s.CategoryNames))
		for id, name := range s.CategoryNames {
			c.Categories = append(c.Categories, Category{ID: string(id), Name: name})
		}
	}
	return c
}

// FileProblems splits an error of Load or NewReloader into one line per
// problem, for --config.check and start-up: a parse lists every problem in
// the file, each as "file:line: path: message", or "file: message" for a
// problem of the whole file such as one that holds no YAML document.
func FileProblems(err error) []string {
	if es, ok := errors.AsType[Errors](err); ok {
		out := make([]string, len(es))
		for i, e := range es {
			out[i] = e.Error()
		}
		return out
	}
	return []string{err.Error()}
}
