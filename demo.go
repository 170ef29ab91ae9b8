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
	"os"
	"path/filepath"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	companyfile "github.com/kartustok/kartustok_exporter/config"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

// The demo company: big enough to look real on a dashboard, small enough
// that its first stock refresh fits one rate-limit window.
const (
	demoLocators     = 4
	demoItems        = 250
	demoBelowMinimum = 0.08
	// demoHistoryPerPair documents over the last 30 days a warehouse
	// and item, give every item that moves a 30-day outflow, so
	// that days of cover and predicted stock-outs show from the first flow
	// refresh, a few seconds after start.
	demoHistoryPerPair = 25
	demoStepEvery      = 3 * time.Second
	demoStepDocs       = 5
	demoTokenLife      = 10 * 24 * time.Hour
	demoLogLimit       = 10000
)

// demo is a simulated company served on loopback, with its token in a
// private file. The exporter then runs its production path against it.
type demo struct {
	URL       string
	TokenFile string
	server    *kartustoktest.Server
	dir       string
	stop      context.CancelFunc
	done      chan struct{}
}

// demos are the demo's companies.
type demos []*demo

// Close stops every company.
func (ds demos) Close() {
	for _, d := range ds {
		d.Close()
	}
}

// demoNames are the names of the demo's n companies: one alone, or
// demo-1 to demo-n.
func demoNames(one string, n int) []string {
	if n == 1 {
		return []string{one}
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("demo-%d", i+1)
	}
	return names
}

// startDemos starts the simulated companies of cfg's shard and returns
// their configurations: one named by --kartustok.company, or
// --demo.companies named demo-1, demo-2, …. Each has data of its own, and
// one more warehouse than the one before.
func startDemos(cfg *config, logger log.Logger) (demos, []*config, error) {
	var (
		ds   demos
		cfgs []*config
	)
	for i, name := range demoNames(cfg.company, cfg.demoCompanies) {
		if companyfile.ShardOf(name, cfg.totalShards) != cfg.shard {
			continue
		}
		d, err := startDemo(log.With(logger, "company", name), int64(i+1), demoLocators+i)
		if err != nil {
			ds.Close()
			return nil, nil, err
		}
		ds = append(ds, d)
		cc := *cfg
		cc.company, cc.url, cc.tokenFile = name, d.URL, d.TokenFile
		cfgs = append(cfgs, &cc)
	}
	return ds, cfgs, nil
}

// startDemo starts a simulated company and its movements.
func startDemo(logger log.Logger, seed int64, locators int) (*demo, error) {
	company := kartustoktest.NewCompany(kartustoktest.Config{
		Seed:         seed,
		Locators:     locators,
		Items:        demoItems,
		BelowMinimum: demoBelowMinimum,
		HistoryDocs:  locators * demoItems * demoHistoryPerPair,
		// The API also reports the item master's minimums, as a real
		// company that once used Union mode does; the company is in
		// per_warehouse mode, so the exporter shows only the per-warehouse
		// ones, which is what the demo should demonstrate.
		EmitAllMinimums: true,
	})
	token := company.AddToken(kartustoktest.TokenSpec{Name: "Prometheus (demo)", ExpiresAt: time.Now().Add(demoTokenLife)})

	dir, err := os.MkdirTemp("", "kartustok-demo-") // mode 0700
	if err != nil {
		return nil, err
	}
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// The simulator logs every request for tests; a demo left running for
	// days keeps only the most recent ones.
	server, err := kartustoktest.Start("127.0.0.1:0", company, kartustoktest.WithLogLimit(demoLogLimit))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// The company keeps posting documents so that balances change between
	// refreshes and some items cross their minimums.
	ctx, stop := context.WithCancel(context.Background())
	d := &demo{URL: server.URL, TokenFile: tokenFile, server: server, dir: dir, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		company.Run(ctx, demoStepEvery, demoStepDocs)
	}()
	level.Info(logger).Log("msg", "Demo: serving a simulated KartuStok company; nothing leaves this machine",
		"url", server.URL, "token_file", tokenFile, "locators", locators, "items", demoItems,
		"token_expires_in", demoTokenLife, "movements", fmt.Sprintf("%d documents every %s", demoStepDocs, demoStepEvery))
	return d, nil
}

// Close stops the company and removes its token.
func (d *demo) Close() {
	d.stop()
	<-d.done
	d.server.Close()
	os.RemoveAll(d.dir)
}
