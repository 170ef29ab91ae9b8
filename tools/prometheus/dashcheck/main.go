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

// Command dashcheck checks the PromQL of Grafana dashboards with the parser
// Prometheus evaluates it with. Every panel query and label_values variable
// query is parsed once its Grafana variables are replaced by placeholders,
// and every series selector in it is checked against the rules the
// exporter's dashboards follow (see checker.check). It prints one line per
// problem, naming the dashboard file, the panel and the query, and exits 1
// if there is any, 2 if the queries or the exposition cannot be read.
//
// The queries are those the exporter's command internal/cmd/dashqueries
// extracts from the dashboards (see queries.go), in a file or, with
// -queries -, on standard input:
//
//	go run ./internal/cmd/dashqueries dashboards > queries.json
//	dashcheck [-metrics exposition.txt] -queries queries.json
//
// With -metrics, queries may only select series that the exposition (such
// as the exporter's golden /metrics page) declares with # TYPE, besides up.
// With -selector, every series selector must carry its matchers, as the
// monitoring mixin's kartustokSelector puts them into every query:
//
//	dashcheck -selector 'job="kartustok"' -queries queries.json
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run checks the queries args name and returns the exit code: 0 when they
// pass, 1 when there are problems, 2 when they cannot be checked.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dashcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	metrics := fs.String("metrics", "", "a text exposition `file` listing the metrics queries may select")
	queries := fs.String("queries", "", "the `file` of queries internal/cmd/dashqueries wrote, - for standard input")
	selector := fs.String("selector", "", "`matchers`, comma-separated, that every series selector must carry")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: dashcheck [-metrics file] [-selector matchers] -queries file|-")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *queries == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	c, err := newChecker(*metrics)
	if err != nil {
		fmt.Fprintln(stderr, "dashcheck:", err)
		return 2
	}
	if *selector != "" {
		if err := c.requireSelector(*selector); err != nil {
			fmt.Fprintln(stderr, "dashcheck:", err)
			return 2
		}
	}
	qs, err := readQueries(*queries, stdin)
	if err != nil {
		fmt.Fprintln(stderr, "dashcheck:", err)
		return 2
	}
	for i := range qs {
		c.check(&qs[i])
	}
	for _, f := range c.findings {
		fmt.Fprintln(stderr, f)
	}
	switch n := len(c.findings); n {
	case 0:
	case 1:
		fmt.Fprintln(stderr, "dashcheck: 1 problem")
		return 1
	default:
		fmt.Fprintf(stderr, "dashcheck: %d problems\n", n)
		return 1
	}
	fmt.Fprintf(stdout, "dashcheck: %d dashboards, %d queries, %d selectors: OK\n", c.dashboards, c.queries, c.selectors)
	return 0
}
