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
	"net/http"
	"testing"

	"github.com/go-kit/log"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

// newTestExporter wires the companies cfg describes and the web endpoints
// as serve does, with pedantic scrapes and the client options opts gives
// each company (a transport to a simulated company). Nothing polls until
// the fleet runs.
func newTestExporter(t *testing.T, ctx context.Context, cfg *config, opts func(*config) []kartustok.Option) (*fleet, http.Handler) {
	t.Helper()
	fl := newFleet(ctx, log.NewNopLogger(), true)
	fl.clientOpts = opts
	require.NoError(t, fl.load(cfg))
	_, off := cfg.collectors()
	h, err := newHandler(handlerConfig{
		telemetryPath:          cfg.telemetryPath,
		maxRequests:            cfg.maxRequests,
		disableExporterMetrics: cfg.disableExporterMetrics,
		logger:                 log.NewNopLogger(),
		reload:                 func() error { return fl.reload(cfg, "POST /-/reload") },
		live:                   fl,
		renderers:              fl.renderers,
		collectorsOff:          off,
		pedantic:               true,
	}, fl, fl.collectors(cfg)...)
	require.NoError(t, err)
	return fl, h
}
