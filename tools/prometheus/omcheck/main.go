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

// Command omcheck parses an OpenMetrics exposition on standard input with
// the parser Prometheus scrapes it with, and exits 1 at the first error:
// the strict check the exporter's /metrics must pass in OpenMetrics.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
)

func main() {
	b, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "omcheck:", err)
		os.Exit(1)
	}
	p := textparse.NewOpenMetricsParser(b, labels.NewSymbolTable())
	samples, families := 0, 0
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "omcheck:", err)
			os.Exit(1)
		}
		switch e {
		case textparse.EntrySeries:
			samples++
		case textparse.EntryType:
			families++
		}
	}
	fmt.Printf("omcheck: %d families, %d samples: OK\n", families, samples)
}
