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
	"fmt"
	"io"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/kartustok/kartustok_exporter/check"
	"github.com/kartustok/kartustok_exporter/kartustok"
)

// apiCheck is --kartustok.check: one call of each endpoint the exporter
// reads, a report on stdout, and the exit code. With --demo it checks the
// demo company.
func apiCheck(ctx context.Context, cfg *config, stdout io.Writer, logger log.Logger) int {
	if cfg.demo {
		d, err := startDemo(log.With(logger, "component", "demo"))
		if err != nil {
			level.Error(logger).Log("msg", "Exiting", "err", fmt.Errorf("starting the demo company: %w", err))
			return 1
		}
		defer d.Close()
		cfg.url, cfg.tokenFile = d.URL, d.TokenFile
	}
	var (
		src  kartustok.TokenSource
		from string
	)
	if cfg.tokenFile != "" {
		src, from = kartustok.TokenFile(cfg.tokenFile), "file "+cfg.tokenFile
		if w := tokenFileWarning(cfg.tokenFile); w != "" {
			level.Warn(logger).Log("msg", w)
		}
	} else {
		src, from = kartustok.TokenEnv(tokenEnv), "the "+tokenEnv+" environment variable"
	}
	ok := check.Run(ctx, check.Config{
		URL: cfg.url, Token: src.Token, TokenFrom: from, TokenExpiresAt: cfg.tokenExpiresAt,
		RateLimit: cfg.rateLimit, Timeout: cfg.timeout, MaxBodyBytes: int64(cfg.maxBody), Out: stdout,
	})
	if !ok {
		return 1
	}
	return 0
}
