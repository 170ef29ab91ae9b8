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
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

// APIMetrics counts the requests of a kartustok.Client. It is the client's
// kartustok.Observer and a prometheus.Collector; register it once.
type APIMetrics struct {
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	errors     *prometheus.CounterVec
	budgetWait prometheus.Counter
	rereads    *prometheus.CounterVec
	truncated  *prometheus.CounterVec
	// implausible counts rate-limit headers that could not be true.
	implausible *prometheus.CounterVec
}

var _ kartustok.Observer = (*APIMetrics)(nil)

// engineEndpoints are the endpoints the engine calls; their error series
// exist from the start so that rate() and increase() work from the first
// failure on.
var engineEndpoints = []string{
	kartustok.EndpointHealth,
	kartustok.EndpointCompany,
	kartustok.EndpointItemCategories,
	kartustok.EndpointLocators,
	kartustok.EndpointItems,
	kartustok.EndpointStockSummary,
}

// listEndpoints are the engine's list endpoints, whose rows may be skipped,
// and pagedEndpoints those read in pages, which may disagree.
var (
	listEndpoints  = []string{kartustok.EndpointItemCategories, kartustok.EndpointLocators, kartustok.EndpointItems, kartustok.EndpointStockSummary}
	pagedEndpoints = []string{kartustok.EndpointItems, kartustok.EndpointStockSummary}
)

var errorKinds = []kartustok.ErrorKind{
	kartustok.KindUnauthorized,
	kartustok.KindForbidden,
	kartustok.KindNotFound,
	kartustok.KindRateLimited,
	kartustok.KindServerError,
	kartustok.KindTimeout,
	kartustok.KindNetwork,
	kartustok.KindInvalidResponse,
}

// NewAPIMetrics returns the request metrics, with the error series of the
// engine's endpoints initialised at zero.
func NewAPIMetrics() *APIMetrics {
	m := &APIMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "api", Name: "requests_total",
			Help: "HTTP requests sent to the KartuStok API (retries included), by endpoint path template and HTTP status code, or code \"error\" when no response arrived.",
		}, []string{"endpoint", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "api", Name: "request_duration_seconds",
			Help: "Duration of HTTP requests to the KartuStok API in seconds, from send to the end of the body, by endpoint path template.",
			// A SaaS API answers in tens to hundreds of milliseconds;
			// the top buckets reach the default 10 s timeout.
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"endpoint"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "api", Name: "errors_total",
			Help: "Errors of the KartuStok API by endpoint path template and reason: failed requests (retries included), listings whose pages kept disagreeing (inconsistent_pages), unusable rows (invalid_row).",
		}, []string{"endpoint", "reason"}),
		rereads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "api", Name: "listing_rereads_total",
			Help: "Paginated listings read again from page 1 because their pages disagreed (page numbers, meta.total, repeated or missing rows), by endpoint path template.",
		}, []string{"endpoint"}),
		truncated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "api", Name: "truncated_texts_total",
			Help: "Texts from the API (names, codes, units, descriptions) cut to " + strconv.Itoa(kartustok.MaxLabelBytes) + " bytes because they were longer, by endpoint path template.",
		}, []string{"endpoint"}),
		implausible: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "api", Name: "implausible_headers_total",
			Help: "Rate-limit headers of API answers that could not be true, by header: a pause beyond " + strconv.Itoa(kartustok.PauseWindows) + " rate-limit windows (cut to that), or a limit or count not a number, below 0 or above the limit (ignored).",
		}, []string{"header"}),
		budgetWait: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "api", Name: "budget_wait_seconds_total",
			Help: "Time in seconds requests waited for the exporter's request budget, or for a 429 pause to pass, before they could be sent.",
		}),
	}
	for _, ep := range engineEndpoints {
		for _, k := range errorKinds {
			m.errors.WithLabelValues(ep, string(k))
		}
		m.truncated.WithLabelValues(ep)
	}
	for _, h := range kartustok.RateLimitHeaders {
		m.implausible.WithLabelValues(h)
	}
	for _, ep := range listEndpoints {
		m.errors.WithLabelValues(ep, string(kartustok.KindInvalidRow))
	}
	for _, ep := range pagedEndpoints {
		m.errors.WithLabelValues(ep, string(kartustok.KindInconsistentPages))
		m.rereads.WithLabelValues(ep)
	}
	return m
}

// ObserveListing counts the checks of one list call's data.
func (m *APIMetrics) ObserveListing(r kartustok.ListReport) {
	if r.Rereads > 0 {
		m.rereads.WithLabelValues(r.Endpoint).Add(float64(r.Rereads))
	}
	if r.Failed != "" {
		m.errors.WithLabelValues(r.Endpoint, string(r.Failed)).Inc()
	}
	if r.InvalidRows > 0 {
		m.errors.WithLabelValues(r.Endpoint, string(kartustok.KindInvalidRow)).Add(float64(r.InvalidRows))
	}
	if r.TruncatedLabels > 0 {
		m.truncated.WithLabelValues(r.Endpoint).Add(float64(r.TruncatedLabels))
	}
}

// ObserveRequest counts one request.
func (m *APIMetrics) ObserveRequest(r kartustok.RequestInfo) {
	code := "error"
	if r.Status != 0 {
		code = strconv.Itoa(r.Status)
	}
	m.requests.WithLabelValues(r.Endpoint, code).Inc()
	m.duration.WithLabelValues(r.Endpoint).Observe(r.Duration.Seconds())
	if r.Kind != "" {
		m.errors.WithLabelValues(r.Endpoint, string(r.Kind)).Inc()
	}
	for _, h := range r.Implausible {
		m.implausible.WithLabelValues(h).Inc()
	}
}

// ObserveBudgetWait adds d to the budget wait counter.
func (m *APIMetrics) ObserveBudgetWait(d time.Duration) {
	if d > 0 {
		m.budgetWait.Add(d.Seconds())
	}
}

// Describe implements prometheus.Collector.
func (m *APIMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.requests.Describe(ch)
	m.duration.Describe(ch)
	m.errors.Describe(ch)
	m.budgetWait.Describe(ch)
	m.rereads.Describe(ch)
	m.truncated.Describe(ch)
	m.implausible.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *APIMetrics) Collect(ch chan<- prometheus.Metric) {
	m.requests.Collect(ch)
	m.duration.Collect(ch)
	m.errors.Collect(ch)
	m.budgetWait.Collect(ch)
	m.rereads.Collect(ch)
	m.truncated.Collect(ch)
	m.implausible.Collect(ch)
}
