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
	"errors"
	"fmt"
	"io"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/kartustok/kartustok_exporter/check"
	companyfile "github.com/kartustok/kartustok_exporter/config"
	"github.com/kartustok/kartustok_exporter/kartustok"
)

// apiCheck is --kartustok.check: one call of each endpoint the exporter
// reads, for every company of this shard in turn, a report on stdout, and
// the exit code: 1 when any company fails. With --demo it checks the demo's
// companies; with --config.file, each under a heading that names it, and a
// file that cannot be loaded exits 1, as a start and --config.check do.
func apiCheck(ctx context.Context, cfg *config, stdout, stderr io.Writer, logger log.Logger) int {
	var cfgs []*config
	if cfg.demo {
		ds, dcfgs, err := startDemos(cfg, log.With(logger, "component", "demo"))
		if err != nil {
			level.Error(logger).Log("msg", "Exiting", "err", fmt.Errorf("starting the demo companies: %w", err))
			return 1
		}
		defer ds.Close()
		cfgs = dcfgs
	} else {
		var err error
		if cfgs, err = cfg.companyConfigs(); err != nil {
			// A problem of the companies file, as --config.check and a
			// start report it (exit 1, not a flag error), one line each.
			if fe, ok := errors.AsType[companyfile.Errors](err); ok {
				for _, p := range fe {
					printError(stderr, p)
				}
			} else {
				printError(stderr, err)
			}
			return 1
		}
	}
	if len(cfgs) == 0 {
		from := cfg.configFile
		if cfg.demo {
			from = "--demo"
		}
		fmt.Fprintf(stdout, "No company of %s is in shard %d of %d: nothing to check.\n", from, cfg.shard, cfg.totalShards)
		return 0
	}
	// The companies of a file are named even when this shard holds one.
	named := len(cfgs) > 1 || cfg.configFile != ""
	failed := 0
	for i, cc := range cfgs {
		if named {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			fmt.Fprintf(stdout, "Company %s (%d of %d)\n", cc.company, i+1, len(cfgs))
		}
		if !checkCompany(ctx, cc, stdout, logger) {
			failed++
		}
	}
	if named {
		fmt.Fprintf(stdout, "\n%d of %d companies pass.\n", len(cfgs)-failed, len(cfgs))
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// checkCompany checks one company.
func checkCompany(ctx context.Context, cfg *config, stdout io.Writer, logger log.Logger) bool {
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
	return check.Run(ctx, check.Config{
		URL: cfg.url, Token: src.Token, TokenFrom: from, TokenExpiresAt: cfg.tokenExpiresAt,
		RateLimit: cfg.rateLimit, Timeout: cfg.timeout, MaxBodyBytes: int64(cfg.maxBody), Out: stdout,
	})
}
