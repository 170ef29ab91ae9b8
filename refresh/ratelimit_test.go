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
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
	"github.com/kartustok/kartustok_exporter/refresh"
)

// rewrite429 serves h, and sets the headers of its 429 answers as set
// does, as a server that lies about when to come back would.
func rewrite429(h http.Handler, set func(http.Header)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&headerRewriter{ResponseWriter: w, set: set}, r)
	})
}

type headerRewriter struct {
	http.ResponseWriter
	set     func(http.Header)
	written bool
}

func (w *headerRewriter) WriteHeader(status int) {
	if !w.written && status == http.StatusTooManyRequests {
		w.set(w.Header())
	}
	w.written = true
	w.ResponseWriter.WriteHeader(status)
}

func (w *headerRewriter) Write(b []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// hostileConfig is a time-scaled company: 20 requests per 10 s at the
// server, the exporter allowed 16 of them.
func hostileConfig() refresh.Config {
	return refresh.Config{
		HealthInterval:  2 * time.Second,
		CatalogInterval: 5 * time.Minute,
		StockInterval:   10 * time.Second,
		MaxStaleness:    2 * time.Minute,
		Budget:          16,
		Window:          10 * time.Second,
	}
}

// startHostile runs the exporter against a simulated company whose 429
// answers carry the headers set sets.
func startHostile(t *testing.T, cfg refresh.Config, set func(http.Header)) *simHarness {
	t.Helper()
	company := kartustoktest.NewCompany(kartustoktest.Config{Locators: 3, Items: 60})
	server := kartustoktest.NewHandlerServer(company, kartustoktest.WithRateLimit(20, cfg.Window))
	token := company.AddToken(kartustoktest.TokenSpec{ExpiresAt: time.Now().Add(240 * time.Hour)})
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token), 0o600))
	return runSimHandler(t, company, server, rewrite429(server.Handler(), set), token, tokenFile, cfg, nil)
}

// TestIntegrationAbsurdRetryAfterIsCut: a 429 that asks for a pause of
// decades (Retry-After in seconds or as an HTTP date, or only an
// X-RateLimit-Reset in 2100) pauses the client for at most PauseWindows
// windows, is counted as implausible, and a health check probes the API
// once the pause has passed; kartustok_up stays 1, since a 429 is an
// answer, and stock stays fresh.
func TestIntegrationAbsurdRetryAfterIsCut(t *testing.T) {
	year2100 := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, header string
		set          func(http.Header)
	}{
		{"Retry-After in seconds", "Retry-After", func(h http.Header) { h.Set("Retry-After", "999999999") }},
		{"Retry-After as a date", "Retry-After", func(h http.Header) { h.Set("Retry-After", year2100.Format(http.TimeFormat)) }},
		{"X-RateLimit-Reset alone", "X-RateLimit-Reset", func(h http.Header) {
			h.Del("Retry-After")
			h.Set("X-RateLimit-Reset", strconv.FormatInt(year2100.Unix(), 10))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := hostileConfig()
				h := startHostile(t, cfg, tc.set)
				time.Sleep(time.Minute)
				synctest.Wait()
				require.True(t, h.engine.Ready())

				h.server.SetFault("*", kartustoktest.Fault{RateLimited: true, Times: 1})
				time.Sleep(2 * cfg.HealthInterval)
				synctest.Wait()
				var limited time.Time
				for _, r := range h.server.Requests() {
					if r.Status == http.StatusTooManyRequests {
						limited = r.At
					}
				}
				require.False(t, limited.IsZero(), "no 429 answered")
				ms := h.series()
				assert.Equal(t, 1.0, ms[`kartustok_up{company="sinarjaya"}`], "a 429 is an answer: the API is up")
				assert.Equal(t, 1.0, ms[`kartustok_api_implausible_headers_total{company="sinarjaya",header="`+tc.header+`"}`])

				time.Sleep(kartustok.PauseWindows*cfg.Window + cfg.HealthInterval)
				synctest.Wait()
				var next, health time.Time
				for _, r := range h.server.Requests() {
					if !r.At.After(limited) {
						continue
					}
					if next.IsZero() {
						next = r.At
					}
					if health.IsZero() && r.Endpoint == kartustok.EndpointHealth && r.Status == http.StatusOK {
						health = r.At
					}
				}
				require.False(t, next.IsZero(), "no request after the 429")
				assert.GreaterOrEqual(t, next.Sub(limited), kartustok.PauseWindows*cfg.Window, "the pause is cut to PauseWindows windows, not ended early")
				assert.LessOrEqual(t, next.Sub(limited), kartustok.PauseWindows*cfg.Window+time.Second, "the pause is cut to PauseWindows windows and its jitter")
				assert.False(t, health.IsZero(), "no health check answered after the pause")
				assert.LessOrEqual(t, health.Sub(limited), kartustok.PauseWindows*cfg.Window+cfg.HealthInterval+time.Second)

				time.Sleep(cfg.MaxStaleness)
				synctest.Wait()
				ms = h.series()
				assert.Equal(t, 1.0, ms[`kartustok_up{company="sinarjaya"}`])
				h.assertMatchesCompany(ms)
				assert.Less(t, time.Since(time.Unix(int64(ms[`kartustok_sync_last_success_timestamp_seconds{company="sinarjaya",resource="stock"}`]), 0)), 2*cfg.StockInterval)
			})
		})
	}
}

// TestIntegrationThrottleStormShowsAsStale: a server that answers every
// request 429 with an absurd Retry-After for longer than the max
// staleness is probed every PauseWindows windows; the metrics say what
// the alerts need: kartustok_up 1 (the API answers, it throttles), 429s
// counted, and stock whose last success is older than the max staleness
// and is no longer exported, never exported as if fresh.
func TestIntegrationThrottleStormShowsAsStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := hostileConfig()
		h := startHostile(t, cfg, func(h http.Header) { h.Set("Retry-After", "999999999") })
		time.Sleep(time.Minute)
		synctest.Wait()
		require.True(t, h.engine.Ready())
		before := h.series()
		require.Positive(t, testkit.Count(before, "kartustok_stock_on_hand"))

		stormStart := time.Now()
		h.server.SetFault("*", kartustoktest.Fault{RateLimited: true})
		time.Sleep(cfg.MaxStaleness + 2*cfg.StockInterval)
		synctest.Wait()
		ms := h.series()
		assert.Equal(t, 1.0, ms[`kartustok_up{company="sinarjaya"}`], "a 429 is an answer: the API is up")
		assert.Zero(t, testkit.Count(ms, "kartustok_stock_on_hand"), "stock older than the max staleness is not exported")
		last := time.Unix(int64(ms[`kartustok_sync_last_success_timestamp_seconds{company="sinarjaya",resource="stock"}`]), 0)
		assert.Greater(t, time.Since(last), cfg.MaxStaleness, "the stock's last success shows its age")
		assert.Positive(t, ms[`kartustok_api_errors_total{company="sinarjaya",endpoint="/health",reason="rate_limited"}`])

		// Probed at least once every PauseWindows windows, never more
		// often than the pauses allow.
		var sends []time.Time
		for _, r := range h.server.Requests() {
			if r.At.After(stormStart) {
				sends = append(sends, r.At)
			}
		}
		require.NotEmpty(t, sends)
		for i := 1; i < len(sends); i++ {
			gap := sends[i].Sub(sends[i-1])
			assert.GreaterOrEqual(t, gap, kartustok.PauseWindows*cfg.Window, "a request during a pause")
			assert.LessOrEqual(t, gap, kartustok.PauseWindows*cfg.Window+cfg.HealthInterval+time.Second, "no probe for too long")
		}

		h.server.ClearFaults()
		time.Sleep(kartustok.PauseWindows*cfg.Window + cfg.StockInterval + cfg.Window)
		synctest.Wait()
		h.assertMatchesCompany(h.series())
	})
}
