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

package refresh

import (
	"context"
	"errors"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

func (e *Engine) healthLoop(ctx context.Context) {
	logger := log.With(e.logger, "resource", ResourceHealth.String())
	first := true
	for {
		start := time.Now()
		h, err := e.api.Health(ctx)
		if ctx.Err() != nil {
			return
		}
		// A check that could not read the token sent nothing: kartustok_up
		// keeps saying what the API last answered. A 429 is an answer: the
		// API is up and throttling, which kartustok_api_errors_total
		// counts; another client spending the shared budget must not make
		// the API look down.
		noToken := errors.Is(err, kartustok.ErrNoToken)
		e.update(func(s *Snapshot) {
			if !noToken {
				s.HealthKnown, s.Up = true, err == nil || kartustok.KindOf(err) == kartustok.KindRateLimited
			}
			e.applyCall(s, kartustok.EndpointHealth, err)
			if err == nil {
				e.applyHealthTime(s, h.Time)
			}
			finish(s, ResourceHealth, start, err)
		})
		if err != nil && !noToken {
			level.Error(logger).Log("msg", "Health check failed", "err", err)
		}
		if first {
			first = false
			close(e.healthTried)
		}
		if !sleepUntil(ctx, start.Add(e.cfg.HealthInterval)) {
			return
		}
	}
}
