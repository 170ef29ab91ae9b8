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
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/kartustok/kartustok_exporter/collector"
	companyfile "github.com/kartustok/kartustok_exporter/config"
	"github.com/kartustok/kartustok_exporter/kartustok"
)

// fleet is the companies this process serves, each with a data path of
// its own: its own client and budget, engine and renderer. A company's
// trouble stays in its own loops, so it never delays another's refresh or
// a scrape. On a reload the fleet adds, replaces and removes companies,
// leaving the others untouched. Scrapes read the current list without a
// lock.
type fleet struct {
	ctx      context.Context // the companies run until it is done
	logger   log.Logger
	pedantic bool
	// clientOpts are extra client options per company, for tests.
	clientOpts func(cfg *config) []kartustok.Option

	fileMetrics *configFileMetrics

	// mu serialises changes of the list, and guards running: whether
	// the companies poll, which they do from run on.
	mu      sync.Mutex
	running bool
	list    atomic.Pointer[[]*company] // sorted by name
}

func newFleet(ctx context.Context, logger log.Logger, pedantic bool) *fleet {
	f := &fleet{ctx: ctx, logger: logger, pedantic: pedantic, fileMetrics: newConfigFileMetrics()}
	f.list.Store(&[]*company{})
	return f
}

// load reads the companies the flags describe, with their tokens and
// minimums files, and builds their data paths, which poll nothing until
// run. An error says what to fix; each problem of the companies file is
// logged on its own line.
func (f *fleet) load(cfg *config) error {
	cfgs, err := cfg.companyConfigs()
	if err == nil {
		_, err = f.apply(cfgs)
	}
	if err != nil {
		f.fileMetrics.set(false)
		if fe, ok := errors.AsType[companyfile.Errors](err); ok {
			for _, p := range fe {
				level.Error(f.logger).Log("msg", "Invalid companies file", "problem", p)
			}
			return fmt.Errorf("cannot load --config.file %s", cfg.configFile)
		}
		return err
	}
	f.fileMetrics.set(true)
	return nil
}

// run starts every company's polling, and that of every company a reload
// adds from now on.
func (f *fleet) run() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running = true
	for _, c := range f.companies() {
		c.start(f.ctx)
	}
}

// reload re-reads --config.file, if any, and applies it, then the minimums
// files of the companies it kept. A companies file that fails changes
// nothing; a minimums file that fails leaves its previous version in force.
func (f *fleet) reload(cfg *config, trigger string) error {
	if cfg.configFile == "" {
		return f.reloadMinimums(f.companies(), trigger)
	}
	cfgs, err := cfg.companyConfigs()
	var kept []*company
	if err == nil {
		kept, err = f.apply(cfgs)
	}
	if err != nil {
		f.fileMetrics.set(false)
		level.Error(f.logger).Log("msg", "Reloading the companies file failed; the companies stay as they were", "file", cfg.configFile, "trigger", trigger, "err", err)
		return err
	}
	f.fileMetrics.set(true)
	level.Info(f.logger).Log("msg", "Reloaded the companies file", "file", cfg.configFile, "trigger", trigger, "companies", len(f.companies()))
	return f.reloadMinimums(kept, trigger)
}

// companies returns the companies served now, sorted by name.
func (f *fleet) companies() []*company { return *f.list.Load() }

// apply makes the fleet serve exactly cfgs (one configuration per company,
// unique names). A company whose configuration is unchanged keeps running
// untouched; a new or changed one is prepared first, its token and
// minimums file read, so that a company that cannot start changes nothing
// and the error says why; then the removed and changed companies stop
// (saving their state) and the new ones start.
func (f *fleet) apply(cfgs []*config) (kept []*company, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := map[string]*company{}
	for _, c := range f.companies() {
		old[c.name] = c
	}
	var (
		keep, stop []*company
		start      []*prepared
		errs       []error
	)
	wanted := map[string]bool{}
	for _, cfg := range cfgs {
		wanted[cfg.company] = true
		if c := old[cfg.company]; c != nil && sameCompany(c.cfg, cfg) {
			keep = append(keep, c)
			continue
		}
		p, err := prepare(cfg, f.companyLogger(cfg.company))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		start = append(start, p)
		if c := old[cfg.company]; c != nil {
			stop = append(stop, c)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, c := range old {
		if !wanted[c.name] {
			stop = append(stop, c)
		}
	}
	// Scrapes stop seeing the stopped companies before they stop, and a
	// replaced company saves its state before its successor reads it.
	byName := func(a, b *company) int { return strings.Compare(a.name, b.name) }
	slices.SortFunc(keep, byName)
	f.list.Store(&keep)
	var wg sync.WaitGroup
	for _, c := range stop {
		wg.Go(c.halt)
	}
	wg.Wait()
	for _, c := range stop {
		if !wanted[c.name] {
			level.Info(f.logger).Log("msg", "Stopped serving a company", "company", c.name)
		}
	}
	// What a configuration can get wrong, prepare has refused; an error
	// here is the exporter's own.
	next := keep
	for _, p := range start {
		var opts []kartustok.Option
		if f.clientOpts != nil {
			opts = f.clientOpts(p.cfg)
		}
		c, err := newCompany(p, f.companyLogger(p.cfg.company), f.pedantic, opts...)
		if err != nil {
			errs = append(errs, fmt.Errorf("company %s: %w", p.cfg.company, err))
			continue
		}
		if f.running {
			c.start(f.ctx)
		}
		next = append(next, c)
		level.Info(f.logger).Log("msg", "Serving a company", "company", c.name, "url", c.cfg.url)
	}
	next = slices.Clone(next)
	slices.SortFunc(next, byName)
	f.list.Store(&next)
	return keep, errors.Join(errs...)
}

// sameCompany reports whether two configurations of a company would run
// the same data path, so that a reload leaves it alone.
func sameCompany(a, b *config) bool {
	return a.company == b.company && a.url == b.url && a.tokenFile == b.tokenFile &&
		a.minimumsFile == b.minimumsFile && a.tokenExpiresAt.Equal(b.tokenExpiresAt) &&
		a.rateLimit == b.rateLimit && a.window == b.window && a.budget == b.budget &&
		a.healthInterval == b.healthInterval && a.catalogEvery == b.catalogEvery &&
		a.stockInterval == b.stockInterval && a.fullStock == b.fullStock &&
		a.flowInterval == b.flowInterval && a.maxStaleness == b.maxStaleness &&
		a.collectFlow == b.collectFlow && a.collectMovements == b.collectMovements
}

func (f *fleet) companyLogger(name string) log.Logger { return log.With(f.logger, "company", name) }

// reloadMinimums re-reads the minimums file of every company. A file that
// fails leaves its previous version in force.
func (f *fleet) reloadMinimums(cs []*company, trigger string) error {
	var errs []error
	for _, c := range cs {
		if err := c.reloader.Reload(trigger); err != nil {
			errs = append(errs, fmt.Errorf("company %s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

// halt stops every company, each saving its state.
func (f *fleet) halt() {
	f.mu.Lock()
	defer f.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range f.companies() {
		wg.Go(c.halt)
	}
	wg.Wait()
}

// Gather gathers the live metrics of every company.
func (f *fleet) Gather() ([]*dto.MetricFamily, error) {
	cs := f.companies()
	gs := make(prometheus.Gatherers, len(cs))
	for i, c := range cs {
		gs[i] = c.reg
	}
	return gs.Gather()
}

// renderers returns the renderers of the companies, sorted by company.
func (f *fleet) renderers() []*collector.Renderer {
	cs := f.companies()
	rs := make([]*collector.Renderer, len(cs))
	for i, c := range cs {
		rs[i] = c.renderer
	}
	return rs
}

// Ready reports whether every company is settled: ready, or in a definite
// state its metrics report (a refused token, an unreachable API). A shard
// with no company is ready.
func (f *fleet) Ready() bool { return len(f.waiting()) == 0 }

// waiting lists the companies that are not settled yet.
func (f *fleet) waiting() []string {
	var names []string
	for _, c := range f.companies() {
		if !c.engine.Settled() {
			names = append(names, c.name)
		}
	}
	return names
}

// NotReady says why the fleet is not ready.
func (f *fleet) NotReady() string {
	names := f.waiting()
	const most = 10
	more := ""
	if len(names) > most {
		more = fmt.Sprintf(" and %d more", len(names)-most)
		names = names[:most]
	}
	return fmt.Sprintf("Not ready: waiting for the first complete stock refresh, or a failure the metrics report, of %s%s.", strings.Join(names, ", "), more)
}

// collectors are the fleet's own metrics, of the process rather than of a
// company: the companies file's reloads, and the shard.
func (f *fleet) collectors(cfg *config) []prometheus.Collector {
	shard := func(name, help string, v int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return float64(v) })
	}
	cs := []prometheus.Collector{
		shard("kartustok_exporter_shard_ordinal", "This replica's shard of the companies (--shard), from 0.", cfg.shard),
		shard("kartustok_exporter_total_shards", "Replicas the companies are divided among (--total-shards).", cfg.totalShards),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "kartustok_exporter_companies",
			Help: "Companies this replica serves.",
		}, func() float64 { return float64(len(f.companies())) }),
	}
	if cfg.configFile != "" {
		cs = append(cs, f.fileMetrics)
	}
	return cs
}

// configFileMetrics are the metrics of --config.file's reloads.
type configFileMetrics struct {
	successful, successTime prometheus.Gauge
}

func newConfigFileMetrics() *configFileMetrics {
	return &configFileMetrics{
		successful: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kartustok_config_file_last_reload_successful",
			Help: "Whether the last load of --config.file (at start-up, on SIGHUP or on POST /-/reload) succeeded (1) or failed and left the companies as they were (0).",
		}),
		successTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kartustok_config_file_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful load of --config.file.",
		}),
	}
}

func (m *configFileMetrics) set(ok bool) {
	if !ok {
		m.successful.Set(0)
		return
	}
	m.successful.Set(1)
	m.successTime.Set(float64(time.Now().UnixNano()) / 1e9)
}

func (m *configFileMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.successful.Describe(ch)
	m.successTime.Describe(ch)
}

func (m *configFileMetrics) Collect(ch chan<- prometheus.Metric) {
	m.successful.Collect(ch)
	m.successTime.Collect(ch)
}
