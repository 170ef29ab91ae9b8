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

package refresh_test

import (
	"fmt"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
	"github.com/kartustok/kartustok_exporter/refresh"
)

// The families of the two collectors, and the other families derived from
// the snapshot, which no switch touches.
var (
	flowFamilies      = []string{"kartustok_stock_inflow_quantity", "kartustok_stock_outflow_quantity"}
	movementsFamilies = []string{"kartustok_stock_movements"}
	otherRendered     = []string{
		"kartustok_company_info", "kartustok_item_info", "kartustok_item_lead_time_seconds",
		"kartustok_item_minimum_quantity", "kartustok_locator_info", "kartustok_stock_minimum_quantity",
		"kartustok_stock_on_hand",
	}
)

// requestKinds counts the stock requests of log by kind: 30-day reads of
// /stock/summary (the flow's), counts of /stock/detail by transaction type
// (the movements'), and counts of all types (stock's change detection).
type requestKinds struct{ thirtyDays, typedCounts, stockCounts int }

func kindsOf(log []kartustoktest.LoggedRequest) requestKinds {
	var k requestKinds
	for _, r := range log {
		q, err := url.ParseQuery(r.Query)
		if err != nil {
			continue
		}
		switch {
		case r.Endpoint == kartustok.EndpointStockSummary && q.Get("date_from") != q.Get("date_to"):
			k.thirtyDays++
		case r.Endpoint == kartustok.EndpointStockDetail && q.Has("transaction_type"):
			k.typedCounts++
		case r.Endpoint == kartustok.EndpointStockDetail:
			k.stockCounts++
		}
	}
	return k
}

// familyOf is the family of a series "name{labels}".
func familyOf(key string) string {
	name, _, _ := strings.Cut(key, "{")
	return name
}

// families returns the families ms has series of.
func families(ms map[string]float64) map[string]bool {
	out := map[string]bool{}
	for k := range ms {
		out[familyOf(k)] = true
	}
	return out
}

// collectorRun is what a run of two hours against the simulated company
// showed: its last scrape, as series and as text, and its request log.
type collectorRun struct {
	series map[string]float64
	text   string
	kinds  requestKinds
}

// runCollectors runs the exporter's data path with the collectors off
// turned off against a company with the day's documents posted before the
// start, for two hours: two flow refreshes and the full stock reads due
// every full stock interval, some of them 30-day reads while the flow is
// read.
func runCollectors(t *testing.T, off refresh.Collectors) collectorRun {
	t.Helper()
	var run collectorRun
	synctest.Test(t, func(t *testing.T) {
		cfg := flowConfig()
		cfg.Off = off
		company := kartustoktest.NewCompany(kartustoktest.Config{Seed: 7, Locators: 3, Items: 80})
		company.Step(60)
		h := startSimCompany(t, company, cfg, nil)
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		require.True(t, h.engine.Ready())
		run = collectorRun{series: h.series(), text: h.scrape(), kinds: kindsOf(h.server.Requests())}
		h.assertMatchesCompany(run.series)
	})
	return run
}

// TestIntegrationCollectorSwitches: a collector that is off sends none of
// its requests (none in the simulated API's log) and exports none of its
// series, not even a HELP line, while every other family is what it is
// with every collector on, value for value. The flow refresh's planned
// requests are those of the collectors left on, and with neither left
// there is no flow refresh at all. Stock's own movement counts, which
// spare unchanged warehouses their reads, are sent whatever the switches.
func TestIntegrationCollectorSwitches(t *testing.T) {
	all := runCollectors(t, refresh.Collectors{})
	require.Positive(t, all.kinds.thirtyDays, "with every collector on, 30-day reads")
	require.Positive(t, all.kinds.typedCounts, "with every collector on, counts by type")
	for _, f := range append(append([]string{}, flowFamilies...), movementsFamilies...) {
		require.True(t, families(all.series)[f], "with every collector on, %s", f)
	}
	// Both periods of the flow, with every collector on.
	for _, p := range []string{"today", "30d"} {
		require.Contains(t, all.text, fmt.Sprintf(`period=%q`, p))
	}
	const planned = `kartustok_sync_planned_requests{company="sinarjaya",resource="flow"}`
	// The company's 3 warehouses are all active: a count per type each.
	typedCounts := float64(3 * len(kartustok.TransactionTypes))
	require.Greater(t, all.series[planned], typedCounts, "the flow plan: 30-day pages and counts by type")

	for _, tc := range []struct {
		name string
		off  refresh.Collectors
		// gone are the families the switches leave out.
		gone []string
	}{
		{"no flow", refresh.Collectors{Flow: true}, flowFamilies},
		{"no movements", refresh.Collectors{Movements: true}, movementsFamilies},
		{"neither", refresh.Collectors{Flow: true, Movements: true}, append(append([]string{}, flowFamilies...), movementsFamilies...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := runCollectors(t, tc.off)
			if tc.off.Flow {
				assert.Zero(t, got.kinds.thirtyDays, "30-day reads of /stock/summary without the flow collector")
			} else {
				assert.Positive(t, got.kinds.thirtyDays)
			}
			if tc.off.Movements {
				assert.Zero(t, got.kinds.typedCounts, "counts by transaction type without the movements collector")
			} else {
				assert.Positive(t, got.kinds.typedCounts)
			}
			assert.Positive(t, got.kinds.stockCounts, "stock's counts of all types spare unchanged warehouses whatever the switches")

			have := families(got.series)
			for _, f := range tc.gone {
				assert.False(t, have[f], "%s exported", f)
				assert.NotContains(t, got.text, "# HELP "+f+" ", "HELP of %s", f)
				assert.NotContains(t, got.text, "# TYPE "+f+" ", "TYPE of %s", f)
			}
			// The rest is unchanged: every family there is with every
			// collector on, but for those gone; the derived ones value
			// for value.
			want := families(all.series)
			for _, f := range tc.gone {
				delete(want, f)
			}
			assert.Equal(t, slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(have)))
			kept := otherRendered
			if !tc.off.Flow {
				kept = append(slices.Clone(kept), flowFamilies...)
			}
			if !tc.off.Movements {
				kept = append(slices.Clone(kept), movementsFamilies...)
			}
			for k, v := range all.series {
				if slices.Contains(kept, familyOf(k)) {
					if assert.Contains(t, got.series, k) {
						assert.Equal(t, v, got.series[k], k)
					}
				}
			}
			for k := range got.series {
				if slices.Contains(kept, familyOf(k)) {
					assert.Contains(t, all.series, k, "a series that is not there with every collector on")
				}
			}

			// The plan counts what is collected: a count per type and
			// warehouse for the movements, the 30-day pages for the flow.
			switch {
			case tc.off.Flow && tc.off.Movements:
				for k := range got.series {
					assert.NotContains(t, k, `resource="flow"`, "a flow refresh with neither collector")
				}
			case tc.off.Flow:
				assert.Equal(t, typedCounts, got.series[planned])
			case tc.off.Movements:
				assert.Equal(t, all.series[planned]-typedCounts, got.series[planned])
			}
		})
	}
}

// TestIntegrationCollectorsOffAfterARestart: a state saved while every
// collector was on brings none of the flow's series, nor the flow
// refresh's bookkeeping, back into a process started with both collectors
// off, from its first scrape on, and the engine keeps none of that flow to
// save again.
func TestIntegrationCollectorsOffAfterARestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := flowConfig()
		cfg.StatePath = filepath.Join(t.TempDir(), "sinarjaya.state")
		r := newRestartable(t, kartustoktest.Config{Locators: 3, Items: 80})
		r.company.Step(40)
		first := r.start(t, cfg)
		time.Sleep(20 * time.Minute)
		synctest.Wait()
		before := first.series()
		first.stop()
		for _, f := range append(append([]string{}, flowFamilies...), movementsFamilies...) {
			require.True(t, families(before)[f], "%s before the restart", f)
		}

		r.server.ResetLog()
		cfg.Off = refresh.Collectors{Flow: true, Movements: true}
		second := r.start(t, cfg)
		check := func(when string) {
			t.Helper()
			ms := second.series()
			require.Positive(t, ms[`kartustok_state_loaded{company="sinarjaya"}`], "started from the state")
			for k := range ms {
				switch {
				case slices.Contains(flowFamilies, familyOf(k)), slices.Contains(movementsFamilies, familyOf(k)):
					t.Errorf("%s: %s exported", when, k)
				case strings.Contains(k, `resource="flow"`):
					t.Errorf("%s: %s: a flow refresh with neither collector", when, k)
				}
			}
		}
		check("at once")
		assert.Empty(t, second.engine.Snapshot().Flow, "the saved flow is kept in memory, and saved again")
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		check("two hours on")
		k := kindsOf(r.server.Requests())
		assert.Zero(t, k.thirtyDays)
		assert.Zero(t, k.typedCounts)
	})
}
