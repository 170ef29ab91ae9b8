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

package testkit

// Gathered metrics flattened into a map from series to value, so that tests
// can compare what an exporter serves with what they expect.

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Gather gathers g into "name{label="value",...}" → value, labels sorted by
// name; a histogram's value is its sample count.
func Gather(g prometheus.Gatherer) (map[string]float64, error) {
	mfs, err := g.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather: %w", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			out[key(mf.GetName(), m)] = value(m)
		}
	}
	return out, nil
}

func key(name string, m *dto.Metric) string {
	var ls []string
	for _, lp := range m.GetLabel() {
		ls = append(ls, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
	}
	sort.Strings(ls)
	return name + "{" + strings.Join(ls, ",") + "}"
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return 0
}

// MustGather is Gather for a test: a gathering error fails it.
func MustGather(tb testing.TB, g prometheus.Gatherer) map[string]float64 {
	tb.Helper()
	ms, err := Gather(g)
	if err != nil {
		tb.Fatal(err)
	}
	return ms
}

// Count counts the series of the metric name in ms.
func Count(ms map[string]float64, name string) int {
	n := 0
	for k := range ms {
		if strings.HasPrefix(k, name+"{") {
			n++
		}
	}
	return n
}

// Scrape fetches path from h as a scraper that sends accept and
// acceptEncoding would (either may be empty), checks that it answers 200,
// and returns the answer decompressed as one gzip member, as every client
// reads it, with its headers.
func Scrape(tb testing.TB, h http.Handler, path, accept, acceptEncoding string) (string, http.Header) {
	tb.Helper()
	req := httptest.NewRequestWithContext(tb.Context(), http.MethodGet, path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		tb.Fatalf("%s (%q, %q) = %d: %s", path, accept, acceptEncoding, rec.Code, rec.Body)
	}
	body := io.Reader(rec.Body)
	if rec.Header().Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			tb.Fatal(err)
		}
		zr.Multistream(false)
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		tb.Fatalf("reading %s (%q, %q): %v", path, accept, acceptEncoding, err)
	}
	return string(b), rec.Header()
}
