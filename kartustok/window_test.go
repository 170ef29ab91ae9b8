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

package kartustok

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWindowStateCarriesOver: a client started from its predecessor's
// window state after a clean shutdown counts the predecessor's sends of
// the last window, so it sends at once what the budget leaves and no more;
// after a kill (an incomplete state) it starts as cautiously as a client
// that knows nothing; a pause still in force carries over either way, cut
// to PauseWindows windows.
func TestWindowStateCarriesOver(t *testing.T) {
	const budget = 10
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, `{"status":"success","data":{"status":"ok"}}`)
	})
	t.Run("clean shutdown", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			first, _ := newBubbleClient(t, ok, WithBudget(budget, time.Minute))
			for range 6 {
				_, err := first.Health(t.Context())
				require.NoError(t, err)
			}
			ws := first.WindowState()
			require.Len(t, ws.Sends, 6)
			time.Sleep(10 * time.Second)

			next, _ := newBubbleClient(t, ok, WithBudget(budget, time.Minute), WithCautiousStart(true), WithWindowState(ws, true))
			start := time.Now()
			var at []time.Duration
			for range 5 {
				_, err := next.Health(t.Context())
				require.NoError(t, err)
				at = append(at, time.Since(start))
			}
			for _, d := range at[:4] {
				assert.Less(t, d, 5*time.Second, "what the budget leaves goes out without the cautious spreading")
			}
			assert.GreaterOrEqual(t, at[4], 50*time.Second, "the fifth waits until the predecessor's first send left the window")
		})
	})
	t.Run("killed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			for _, seed := range []Option{
				WithWindowState(WindowState{Sends: []time.Time{time.Now().Add(-time.Second)}}, false),
				WithBudget(budget, time.Minute), // none
			} {
				c, _ := newBubbleClient(t, ok, WithBudget(budget, time.Minute), WithCautiousStart(true), seed)
				start := time.Now()
				for range 3 {
					_, err := c.Health(t.Context())
					require.NoError(t, err)
				}
				assert.GreaterOrEqual(t, time.Since(start), 2*time.Minute/budget, "a start after a kill spreads the first window")
			}
		})
	})
	t.Run("pause", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ws := WindowState{PausedUntil: time.Now().Add(24 * time.Hour)}
			c, _ := newBubbleClient(t, ok, WithBudget(budget, time.Minute), WithWindowState(ws, false))
			start := time.Now()
			_, err := c.Health(t.Context())
			require.NoError(t, err)
			assert.Equal(t, PauseWindows*time.Minute, time.Since(start), "a pause carried over is cut to PauseWindows windows")
		})
	})
}
