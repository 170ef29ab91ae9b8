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
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/refresh"
)

// TestCollectorsOffLeaveTheirFamiliesOut: a snapshot that says a
// collector is off is rendered without that collector's families, HELP
// and TYPE included, whatever flow it holds (the day's in and out come
// with every stock read, and a saved state may hold more), and with every
// other series as it is with every collector on.
func TestCollectorsOffLeaveTheirFamiliesOut(t *testing.T) {
	now := time.Now()
	scrape := func(off refresh.Collectors) (map[string]float64, string) {
		s := richSnapshot(now)
		s.Off = off
		src := &swapSource{}
		src.snap.Store(s)
		h := NewHandler(prometheus.NewRegistry(), Renderers(NewRenderer(src, nil, testCompany)), HandlerOpts{})
		body, _ := testkit.Scrape(t, h, "/metrics", "", "")
		return testkit.MustGather(t, served(t, h)), body
	}
	family := func(k string) string {
		name, _, _ := strings.Cut(k, "{")
		return name
	}
	all, _ := scrape(refresh.Collectors{})
	flow := []string{"kartustok_stock_inflow_quantity", "kartustok_stock_outflow_quantity"}
	movements := []string{"kartustok_stock_movements"}
	for _, f := range append(append([]string{}, flow...), movements...) {
		require.Positive(t, testkit.Count(all, f), "%s with every collector on", f)
	}
	for _, tc := range []struct {
		name string
		off  refresh.Collectors
		gone []string
	}{
		{"no flow", refresh.Collectors{Flow: true}, flow},
		{"no movements", refresh.Collectors{Movements: true}, movements},
		{"neither", refresh.Collectors{Flow: true, Movements: true}, append(append([]string{}, flow...), movements...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, body := scrape(tc.off)
			want := map[string]float64{}
			for k, v := range all {
				if !slices.Contains(tc.gone, family(k)) {
					want[k] = v
				}
			}
			assert.Equal(t, want, got)
			for _, f := range tc.gone {
				assert.NotContains(t, body, "# HELP "+f+" ", "HELP of %s", f)
				assert.NotContains(t, body, "# TYPE "+f+" ", "TYPE of %s", f)
			}
		})
	}
}
