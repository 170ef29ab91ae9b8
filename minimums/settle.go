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

import "github.com/kartustok/kartustok_exporter/internal/settle"

// A minimums file rewritten in place is half-written for as long as the
// writer takes, and a prefix cut at a line boundary is often a valid
// minimums file with fewer entries. So a load reads the file only once it
// has settled; see Reloader for what that guarantees.
const (
	settleTime    = settle.Time
	settleTimeout = settle.Timeout
	settlePoll    = settle.Poll
)

func readSettled(path string) ([]byte, error) { return settle.Read(path) }
