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

// Package collector exposes a cached picture of one KartuStok company to
// Prometheus. Every metric family has one producer:
//
//   - a Renderer serves the families derived from the latest
//     refresh.Snapshot's catalog and stock, which grow with the company
//     (derived.go says what they hold), from bytes rendered once per
//     change;
//   - a Collector exports the snapshot's small live families: health,
//     token, rate limit, budget and the refresh bookkeeping;
//   - APIMetrics counts the client's requests.
//
// NewHandler serves them as one exposition. Nothing here calls the API, so
// any number of scrapes costs the API nothing.
package collector

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/refresh"
)

const namespace = "kartustok"

// cached ends the HELP of every metric read from the snapshot, because a
// caching exporter should say so.
const cached = " Cached; refreshed in the background."

// descSpec is what a Desc was built from, which a Desc does not tell.
type descSpec struct {
	help   string
	labels []string
}

// descSpecs holds the spec of every Desc newDesc built.
var descSpecs = map[*prometheus.Desc]descSpec{}

func newDesc(subsystem, name, help string, labels ...string) *prometheus.Desc {
	d := prometheus.NewDesc(prometheus.BuildFQName(namespace, subsystem, name), help, labels, nil)
	descSpecs[d] = descSpec{help: help, labels: labels}
	return d
}

// The live families: they change with every refresh and cost nothing to
// build.
var (
	upDesc = newDesc("", "up",
		"Whether the last health check (GET /health) got an answer: 1 for 200, or 429 while the API throttles; 0 for no answer, an error status or an unreadable answer."+cached)
	tokenLoadedDesc = newDesc("token", "loaded",
		"Whether the last attempt to read the API token (the token file or KARTUSTOK_TOKEN) succeeded (1) or not (0); while 0, no request is sent."+cached)
	tokenValidDesc = newDesc("token", "valid",
		"Whether the API accepts the token: 0 after a 401 (invalid, inactive, expired or revoked token), 1 after an accepted call."+cached)
	tokenScopeDesc = newDesc("token", "scope_granted",
		"Whether the token has the scope (1) or the API refused a call needing it (0), from the last such call or the scope list of /meta/company; absent until known."+cached,
		"scope")
	tokenExpiryDesc = newDesc("token", "expiry_timestamp_seconds",
		"Unix time at which the API token expires, from /meta/company, else the configured expiry (--kartustok.token-expires-at or token_expires_at); absent when unknown."+cached)
	rateLimitRemainingDesc = newDesc("api", "rate_limit_remaining",
		"Requests left in the API's rate-limit window, from the X-RateLimit-Remaining header of the last response that carried a plausible one (0 to X-RateLimit-Limit).")
	budgetDesc = newDesc("api", "request_budget",
		"Requests per rate-limit window the exporter allows itself (the rate limit times the budget, by flag or in the companies file).")
	syncLastSuccessDesc = newDesc("sync", "last_success_timestamp_seconds",
		"Unix time at which the last successful refresh of the resource ended; absent until the first success.",
		"resource")
	syncDurationDesc = newDesc("sync", "duration_seconds",
		"Duration in seconds of the last refresh of the resource, successful or not.",
		"resource")
	syncErrorsDesc = newDesc("sync", "errors_total",
		"Failed refreshes of the resource; for stock, failed locator fetches.",
		"resource")
	syncPlannedDesc = newDesc("sync", "planned_requests",
		"Requests one full refresh of the resource needs, from the page counts of the last refresh.",
		"resource")
	syncSkippedDesc = newDesc("sync", "skipped_total",
		"Refreshes of the resource left out because nothing changed: for stock, locator reads skipped because the locator's count of the day's movements had not changed.",
		"resource")
	stateLoadedDesc = newDesc("state", "loaded",
		"Whether the exporter started from the state it saved in --storage.path (1) or cold (0).")
	stateLastSaveDesc = newDesc("state", "last_save_timestamp_seconds",
		"Unix time of the last successful save of the state file in --storage.path; absent until the first.")
	stateSaveErrorsDesc = newDesc("state", "save_errors_total",
		"Saves of the state file in --storage.path that failed; exporting goes on from memory.")
	stateBytesDesc = newDesc("state", "bytes",
		"Size in bytes of the state file the last successful save wrote.")
	syncCycleDesc = newDesc("sync", "cycle_seconds",
		"Seconds between the starts of the resource's last two complete refresh cycles; until two have run, the interval (for stock, the period the budget plan predicts).",
		"resource")
)

// Option configures a Collector.
type Option func(*Collector)

// WithRateLimit makes the collector export what r last saw of the API's
// rate limit.
func WithRateLimit(r RateLimitReporter) Option { return func(c *Collector) { c.rateLimit = r } }

// Source is where a Collector and a Renderer read the latest snapshot: a
// refresh.Engine.
type Source interface {
	// Snapshot returns the latest snapshot without blocking or calling
	// the API.
	Snapshot() *refresh.Snapshot
	// MaxStaleness is how long stock is exported after its last success.
	MaxStaleness() time.Duration
	// FlowMaxAge is how long a flow read is exported.
	FlowMaxAge() time.Duration
	// Budget is the requests per window the client allows itself.
	Budget() (requests int, window time.Duration)
}

var _ Source = (*refresh.Engine)(nil)

// RateLimitReporter reports what the API last said of its rate limit.
// *kartustok.Client implements it; reading it never sends a request.
type RateLimitReporter interface {
	RateLimit() kartustok.RateLimitStatus
}

var _ RateLimitReporter = (*kartustok.Client)(nil)

// Collector exports the live families of a Source's latest Snapshot: the
// API's health, the token, the rate limit and the request budget, and the
// bookkeeping of every refresh. Collect reads one immutable snapshot and
// never calls the API, so concurrent scrapes are safe and cost nothing
// upstream.
type Collector struct {
	engine    Source
	rateLimit RateLimitReporter
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a collector of e's snapshots.
func NewCollector(e Source, opts ...Option) *Collector {
	c := &Collector{engine: e}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		upDesc, tokenLoadedDesc, tokenValidDesc, tokenScopeDesc, tokenExpiryDesc,
		rateLimitRemainingDesc, budgetDesc,
		syncLastSuccessDesc, syncDurationDesc, syncErrorsDesc, syncPlannedDesc, syncCycleDesc, syncSkippedDesc,
		stateLoadedDesc, stateLastSaveDesc, stateSaveErrorsDesc, stateBytesDesc,
	} {
		ch <- d
	}
}

// emit sends one metric. Label values come straight from the API; should
// one ever be unusable (invalid UTF-8 cannot come out of encoding/json, but
// the check is cheap), the scrape reports an error for that series instead
// of the process panicking.
func emit(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	ch <- m
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.engine.Snapshot()
	gauge := prometheus.GaugeValue
	if s.HealthKnown {
		emit(ch, upDesc, gauge, boolValue(s.Up))
	}
	if s.TokenLoadKnown {
		emit(ch, tokenLoadedDesc, gauge, boolValue(s.TokenLoaded))
	}
	if s.TokenKnown {
		emit(ch, tokenValidDesc, gauge, boolValue(s.TokenValid))
	}
	for scope, granted := range s.Scopes {
		emit(ch, tokenScopeDesc, gauge, boolValue(granted), scope)
	}
	if !s.TokenExpiry.IsZero() {
		emit(ch, tokenExpiryDesc, gauge, float64(s.TokenExpiry.Unix()))
	}
	if c.rateLimit != nil {
		if rl := c.rateLimit.RateLimit(); rl.Known {
			emit(ch, rateLimitRemainingDesc, gauge, float64(rl.Remaining))
		}
	}
	budget, _ := c.engine.Budget()
	emit(ch, budgetDesc, gauge, float64(budget))

	for r := range refresh.NumResources {
		st := &s.Sync[r]
		if st.Cycle == 0 && st.LastSuccess.IsZero() && st.Errors == 0 {
			continue // not refreshed at all (flow when it is off)
		}
		name := r.String()
		if !st.LastSuccess.IsZero() {
			emit(ch, syncLastSuccessDesc, gauge, float64(st.LastSuccess.UnixNano())/1e9, name)
		}
		emit(ch, syncDurationDesc, gauge, st.LastDuration.Seconds(), name)
		emit(ch, syncErrorsDesc, prometheus.CounterValue, float64(st.Errors), name)
		emit(ch, syncPlannedDesc, gauge, float64(st.PlannedRequests), name)
		emit(ch, syncCycleDesc, gauge, st.Cycle.Seconds(), name)
		if r == refresh.ResourceStock {
			emit(ch, syncSkippedDesc, prometheus.CounterValue, float64(st.Skipped), name)
		}
	}
	if st := &s.State; st.Enabled {
		emit(ch, stateLoadedDesc, gauge, boolValue(st.Loaded))
		emit(ch, stateSaveErrorsDesc, prometheus.CounterValue, float64(st.SaveErrors))
		if !st.LastSave.IsZero() {
			emit(ch, stateLastSaveDesc, gauge, float64(st.LastSave.UnixNano())/1e9)
			emit(ch, stateBytesDesc, gauge, float64(st.Bytes))
		}
	}
}
