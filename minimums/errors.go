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

package minimums

import "github.com/kartustok/kartustok_exporter/internal/yamlfile"

// maxErrors bounds how many problems one parse reports.
const maxErrors = yamlfile.MaxErrors

// Error is one problem in a minimums file, located the way an editor jumps
// to it: "minimums.yml:7: items[0].warehouses[1].minimum: must be a number ≥
// 0, got "abc"".
type Error = yamlfile.Error

// Errors lists every problem a parse found, in file order. Parse returns it
// so that one run of --config.check shows everything to fix; errors.As with
// a *Error target finds the first problem.
type Errors = yamlfile.Errors
