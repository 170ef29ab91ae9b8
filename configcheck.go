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

// --config.check: what a start would check, without binding a port or
// calling the API.

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/prometheus/exporter-toolkit/web"

	companyfile "github.com/kartustok/kartustok_exporter/config"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/minimums"
)

// noToken stands in for the token when --config.check builds a client only
// to check the URL: the client is never used, so nothing is sent.
type noToken struct{}

func (noToken) Token() (string, error) { return "", errors.New("no token in --config.check") }

// checkConfig is --config.check: it checks what a start would, short of
// binding the listeners and calling the API, reports the flag problems
// found so far with those of the files the flags name, and returns the exit
// code: 2 for a flag problem, as a start, else 1 for a file's problem.
// Warnings (a token file other users can read, flags --demo ignores) are
// printed and leave the exit code 0.
func checkConfig(cfg *config, flagProblems []error, stdout, stderr io.Writer) int {
	var (
		warnings []string
		problems []error // of the files the flags name
	)
	if cfg.demo {
		warnings = append(warnings, sharesWarning(cfg)...)
	}
	if err := checkWebConfig(*cfg.web.WebConfigFile); err != nil {
		problems = append(problems, err)
	}

	var summary []string
	if cfg.demo {
		if cfg.demoCompanies == 1 {
			summary = append(summary, "demo company")
		} else {
			summary = append(summary, fmt.Sprintf("%d demo companies", cfg.demoCompanies))
		}
		if cfg.url != "" || cfg.tokenFile != "" {
			warnings = append(warnings, "--demo ignores --kartustok.url and --kartustok.token-file")
		}
	}
	var cfgs []*config
	if cfg.demo {
		cfgs = []*config{cfg} // for the minimums file they share
	} else if cfg.totalShards >= 1 {
		var err error
		cfgs, err = cfg.companyConfigs()
		var fe companyfile.Errors
		switch {
		case errors.As(err, &fe):
			for _, p := range fe {
				problems = append(problems, p)
			}
		case err != nil:
			problems = append(problems, err)
		case cfg.configFile != "":
			noun := "companies"
			if len(cfgs) == 1 {
				noun = "company"
			}
			summary = append(summary, fmt.Sprintf("companies file %s: %d %s in shard %d of %d", cfg.configFile, len(cfgs), noun, cfg.shard, cfg.totalShards))
		}
	}
	for _, cc := range cfgs {
		var s []string
		if cfg.configFile != "" {
			s = append(s, "company "+cc.company)
		}
		warnings = append(warnings, sharesWarning(cc)...)
		// The token is read as a start reads it, only to know that it
		// can be: its value is neither kept nor shown.
		switch _, err := tokenSource(cc); {
		case cfg.demo:
		case err != nil:
			problems = append(problems, err)
		case cc.tokenFile != "":
			s = append(s, "token file "+cc.tokenFile)
			if w := tokenFileWarning(cc.tokenFile); w != "" {
				warnings = append(warnings, w)
			}
		default:
			s = append(s, "token from "+tokenEnv)
		}
		if cc.minimumsFile == "" {
			if cfg.configFile == "" {
				s = append(s, "no --stock.minimums-file")
			}
		} else if set, err := minimums.Load(cc.minimumsFile); err != nil {
			for _, p := range minimums.FileProblems(err) {
				problems = append(problems, errors.New(p))
			}
		} else {
			sum := set.Summary()
			s = append(s, fmt.Sprintf("minimums file %s: categories=%d items=%d warehouse_minimums=%d", cc.minimumsFile, sum.Categories, sum.Items, sum.Warehouses))
		}
		summary = append(summary, strings.Join(s, ", "))
	}
	web := "no --web.config.file"
	if f := *cfg.web.WebConfigFile; f != "" {
		web = "web config file " + f
	}
	switch {
	case cfg.demo:
		// The demo, the web config, the minimums.
		summary = append(summary[:len(summary)-1], web, summary[len(summary)-1])
	case cfg.configFile == "" && len(cfgs) == 1:
		// One company: its token, the web config, its minimums.
		token, mins, _ := strings.Cut(summary[len(summary)-1], ", ")
		summary = append(summary[:len(summary)-1], token, web, mins)
	default:
		summary = append(summary, web)
	}
	if _, off := cfg.collectors(); len(off) > 0 {
		summary = append(summary, "collectors off: "+strings.Join(off, ", "))
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "%s: warning: %s\n", exporterName, w)
	}
	for _, p := range append(flagProblems, problems...) {
		printError(stderr, p)
	}
	switch {
	case len(flagProblems) > 0:
		return 2 // as a start exits on a flag error
	case len(problems) > 0:
		return 1
	}
	fmt.Fprintf(stdout, "%s: configuration OK; %s\n", exporterName, strings.Join(summary, "; "))
	return 0
}

// sharesWarning is what a start warns of cfg's budget's shares, from the
// same client.
func sharesWarning(cfg *config) []string {
	if cfg.budgetRequests() < 1 || cfg.window <= 0 || cfg.healthInterval <= 0 {
		return nil
	}
	c, err := kartustok.New("https://check.invalid/public/v1", noToken{},
		kartustok.WithBudget(cfg.budgetRequests(), cfg.window), kartustok.WithHealthInterval(cfg.healthInterval))
	if err != nil {
		return nil
	}
	reserve, _, cut := c.Shares()
	if !cut {
		return nil
	}
	who := ""
	if cfg.configFile != "" {
		who = "company " + cfg.company + ": "
	}
	return []string{fmt.Sprintf("%shealth checks get %d requests of the budget of %d per %s, less than their reserve: the budget cannot hold one request per check a window plus one and still leave one for catalog and stock",
		who, reserve, cfg.budgetRequests(), cfg.window)}
}

// checkWebConfig loads --web.config.file as the web server will, with its
// certificates and password hashes, so that a start fails on a missing or
// invalid file before it binds a port or polls the API.
func checkWebConfig(file string) error {
	if file == "" {
		return nil
	}
	if err := web.Validate(file); err != nil {
		// A missing or unreadable file: its name is said once.
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == file {
			err = pe.Err
		}
		return fmt.Errorf("--web.config.file %s: %w", file, err)
	}
	return nil
}

// checkListenAddress checks the form of one --web.listen-address; only
// binding it can check the rest.
func checkListenAddress(addr string) error {
	if strings.HasPrefix(addr, "vsock://") {
		_, err := vsockPort(addr)
		return err
	}
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = net.DefaultResolver.LookupPort(context.Background(), "tcp", port)
	}
	if err != nil {
		return fmt.Errorf("--web.listen-address %q is not host:port, :port or vsock://:port: %w", addr, err)
	}
	return nil
}

// vsockPort is the port of a vsock://:port listen address.
func vsockPort(addr string) (uint32, error) {
	u, err := url.Parse(addr)
	var port string
	if err == nil {
		_, port, err = net.SplitHostPort(u.Host)
	}
	var p uint64
	if err == nil {
		p, err = strconv.ParseUint(port, 10, 32)
	}
	if err != nil {
		return 0, fmt.Errorf("--web.listen-address %q is not vsock://:port: %w", addr, err)
	}
	return uint32(p), nil
}
