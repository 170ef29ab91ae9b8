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
	_ "embed"
	"strings"

	"github.com/prometheus/common/version"
)

// releaseVersion is the release this tree is, from the VERSION file.
//
//go:embed VERSION
var releaseVersion string

func init() {
	// `make build` and the Docker image stamp the version with -ldflags;
	// `go run .` and `go install` do not, and should still say which
	// release they run (in --version, the start-up log, build_info and the
	// API client's User-Agent) rather than an empty string.
	if version.Version == "" {
		version.Version = strings.TrimSpace(releaseVersion)
	}
}
