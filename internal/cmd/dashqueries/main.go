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

// Command dashqueries writes every PromQL query of the Grafana dashboards
// in a directory to standard output, as a JSON array of
// dashboards.QueryInfo: the query as written, where it is, and what each
// Grafana variable it references stands for. dashcheck
// (tools/prometheus/dashcheck) checks that PromQL with Prometheus' parser:
//
//	go run ./internal/cmd/dashqueries dashboards > queries.json
//	tools/bin/dashcheck -metrics collector/testdata/metrics.golden -queries queries.json
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/kartustok/kartustok_exporter/dashboards"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run writes the queries of the dashboards in the directory args names and
// returns the exit code. It writes nothing unless it has every query.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: dashqueries dir")
		return 2
	}
	qs, err := dashboards.Extract(args[0])
	if err != nil {
		fmt.Fprintln(stderr, "dashqueries:", err)
		return 1
	}
	data, err := json.MarshalIndent(qs, "", "  ")
	if err != nil {
		fmt.Fprintln(stderr, "dashqueries:", err)
		return 1
	}
	if _, err := stdout.Write(append(data, '\n')); err != nil {
		fmt.Fprintln(stderr, "dashqueries:", err)
		return 1
	}
	return 0
}
