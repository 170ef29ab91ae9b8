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

// The companies a process serves: the flags' one company, or those of
// --config.file in this shard.

package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	companyfile "github.com/kartustok/kartustok_exporter/config"
)

// companyConfigs returns the configuration of every company this process
// serves, each a copy of the flags' with the company's own values: the
// flags' company, or with --config.file the file's companies of this
// shard, where the flags fill in what the file leaves out. A problem of
// the file is a companyfile.Errors that locates each one; when only
// companies' values are wrong, this shard's companies come with it, so
// that --config.check can check their token and minimums files too.
func (c *config) companyConfigs() ([]*config, error) {
	if c.configFile == "" {
		cc := *c
		return []*config{&cc}, nil
	}
	f, err := companyfile.Load(c.configFile)
	if err != nil {
		return nil, err
	}
	var (
		out  []*config
		errs companyfile.Errors
	)
	// Every company is checked, whatever its shard, so that every
	// replica refuses the same file.
	for _, fc := range f.Companies {
		cc := c.withCompany(fc)
		for _, p := range cc.companyProblems() {
			errs = append(errs, &companyfile.Error{File: c.configFile, Line: fc.Line, Path: fmt.Sprintf("companies[%d]", fc.Index), Msg: p.Error()})
		}
		if companyfile.ShardOf(fc.Name, c.totalShards) == c.shard {
			out = append(out, cc)
		}
	}
	if len(errs) > 0 {
		return out, errs
	}
	return out, nil
}

// withCompany is a copy of c for the file's company fc.
func (c *config) withCompany(fc companyfile.Company) *config {
	cc := *c
	cc.company, cc.url, cc.tokenFile, cc.minimumsFile, cc.tokenExpiresAt = fc.Name, fc.URL, fc.TokenFile, fc.MinimumsFile, fc.TokenExpiresAt
	cc.tokenOrigin = fmt.Sprintf("the token_file of company %s in %s", fc.Name, c.configFile)
	set := func(dst, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setD := func(dst, v *time.Duration) bool {
		if v != nil {
			*dst = *v
		}
		return v != nil
	}
	set(&cc.rateLimit, fc.RateLimit)
	setD(&cc.window, fc.RateLimitWindow)
	if fc.Budget != nil {
		cc.budget = *fc.Budget
	}
	setD(&cc.healthInterval, fc.HealthInterval)
	setD(&cc.catalogEvery, fc.CatalogInterval)
	setD(&cc.flowInterval, fc.FlowInterval)
	setD(&cc.maxStaleness, fc.MaxStaleness)
	cc.stockSet = setD(&cc.stockInterval, fc.StockInterval) || c.stockSet
	cc.fullStockSet = setD(&cc.fullStock, fc.FullStockInterval) || c.fullStockSet
	cc.deriveIntervals()
	return &cc
}

// fileKeys names, for a problem of a company of the file, the key of the
// file beside the flag it overrides.
var fileKeys = strings.NewReplacer(
	"--kartustok.rate-limit-window", "rate_limit_window (--kartustok.rate-limit-window)",
	"--kartustok.rate-limit", "rate_limit (--kartustok.rate-limit)",
	"--kartustok.budget", "budget (--kartustok.budget)",
	"--sync.health-interval", "health_interval (--sync.health-interval)",
	"--sync.catalog-interval", "catalog_interval (--sync.catalog-interval)",
	"--sync.stock-interval", "stock_interval (--sync.stock-interval)",
	"--sync.full-stock-interval", "full_stock_interval (--sync.full-stock-interval)",
	"--sync.flow-interval", "flow_interval (--sync.flow-interval)",
	"--sync.max-staleness", "max_staleness (--sync.max-staleness)",
)

// companyProblems checks what the file's values and the flags' make
// together: the intervals and the budget, as the flags are checked.
func (c *config) companyProblems() []error {
	var problems []error
	for _, p := range append(c.engineConfig().Validate(), c.budgetProblems()...) {
		problems = append(problems, errors.New(fileKeys.Replace(p.Error())))
	}
	return problems
}
