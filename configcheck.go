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
	if cfg.budgetRequests() >= 1 && cfg.window > 0 && cfg.healthInterval > 0 {
		// What a start warns of the budget's shares, from the same client.
		c, err := kartustok.New("https://check.invalid/public/v1", noToken{},
			kartustok.WithBudget(cfg.budgetRequests(), cfg.window), kartustok.WithHealthInterval(cfg.healthInterval))
		if err == nil {
			if reserve, _, cut := c.Shares(); cut {
				warnings = append(warnings, fmt.Sprintf("health checks get %d requests of the budget of %d per %s, less than their reserve: the budget cannot hold one request per check a window plus one and still leave one for catalog and stock",
					reserve, cfg.budgetRequests(), cfg.window))
			}
		}
	}
	if err := checkWebConfig(*cfg.web.WebConfigFile); err != nil {
		problems = append(problems, err)
	}

	var summary []string
	switch {
	case cfg.demo:
		summary = append(summary, "demo company")
		if cfg.url != "" || cfg.tokenFile != "" {
			warnings = append(warnings, "--demo ignores --kartustok.url and --kartustok.token-file")
		}
	case cfg.tokenFile != "":
		summary = append(summary, "token file "+cfg.tokenFile)
	default:
		summary = append(summary, "token from "+tokenEnv)
	}
	if !cfg.demo {
		// The token is read as a start reads it, only to know that it
		// can be: its value is neither kept nor shown.
		if _, err := tokenSource(cfg); err != nil {
			problems = append(problems, err)
		} else if cfg.tokenFile != "" {
			if w := tokenFileWarning(cfg.tokenFile); w != "" {
				warnings = append(warnings, w)
			}
		}
	}
	if f := *cfg.web.WebConfigFile; f != "" {
		summary = append(summary, "web config file "+f)
	} else {
		summary = append(summary, "no --web.config.file")
	}

	if cfg.minimumsFile != "" {
		set, err := minimums.Load(cfg.minimumsFile)
		if err != nil {
			for _, p := range minimums.FileProblems(err) {
				problems = append(problems, errors.New(p))
			}
		} else {
			sum := set.Summary()
			summary = append(summary, fmt.Sprintf("minimums file %s: categories=%d items=%d warehouse_minimums=%d", cfg.minimumsFile, sum.Categories, sum.Items, sum.Warehouses))
		}
	} else {
		summary = append(summary, "no --stock.minimums-file")
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
