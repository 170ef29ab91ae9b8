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

// Command configparse reads a companies file with the exporter's own
// package config, as --config.file does, and writes on standard output, as
// JSON, what the exporter understood of it: each company with its shard
// among -total-shards, and the shard that each pod named in -pods takes
// from its name. The chart's test builds it in a workspace with the
// exporter's module (tools/helm's go.mod does not require the exporter, so
// that the exporter's dependencies do not raise those Helm is built with).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kartustok/kartustok_exporter/config"
)

type company struct {
	Name           string            `json:"name"`
	URL            string            `json:"url"`
	TokenFile      string            `json:"token_file"`
	MinimumsFile   string            `json:"minimums_file"`
	TokenExpiresAt string            `json:"token_expires_at"` // RFC 3339, "" when not set
	RateLimit      *int              `json:"rate_limit"`
	Budget         *float64          `json:"budget"`
	Durations      map[string]string `json:"durations"` // the file's key → time.Duration.String()
	Shard          int               `json:"shard"`
}

type output struct {
	Companies []company       `json:"companies"`
	PodShards map[string]*int `json:"pod_shards"` // nil: the name has no ordinal
}

func main() {
	total := flag.Int("total-shards", 1, "the number of shards")
	pods := flag.String("pods", "", "pod names, comma-separated")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: configparse [-total-shards N] [-pods a,b] companies.yml")
		os.Exit(2)
	}
	if err := config.CheckShard(0, *total); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	f, err := config.Load(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out := output{PodShards: map[string]*int{}}
	for _, c := range f.Companies {
		pc := company{
			Name:         c.Name,
			URL:          c.URL,
			TokenFile:    c.TokenFile,
			MinimumsFile: c.MinimumsFile,
			RateLimit:    c.RateLimit,
			Budget:       c.Budget,
			Durations:    map[string]string{},
			Shard:        config.ShardOf(c.Name, *total),
		}
		if !c.TokenExpiresAt.IsZero() {
			pc.TokenExpiresAt = c.TokenExpiresAt.Format(time.RFC3339)
		}
		for key, d := range map[string]*time.Duration{
			"rate_limit_window":   c.RateLimitWindow,
			"health_interval":     c.HealthInterval,
			"catalog_interval":    c.CatalogInterval,
			"stock_interval":      c.StockInterval,
			"full_stock_interval": c.FullStockInterval,
			"flow_interval":       c.FlowInterval,
			"max_staleness":       c.MaxStaleness,
		} {
			if d != nil {
				pc.Durations[key] = d.String()
			}
		}
		out.Companies = append(out.Companies, pc)
	}
	if *pods != "" {
		for _, p := range strings.Split(*pods, ",") {
			if i, ok := config.ShardFromPodName(p); ok {
				out.PodShards[p] = &i
			} else {
				out.PodShards[p] = nil
			}
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
