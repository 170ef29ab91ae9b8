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

package kartustok

// Options only tests set: the exporter always runs with the defaults.

// WithHealthReserve keeps n requests of every window for Health calls:
// other calls wait while fewer than n+1 sends remain, so paging of stock or
// items can never delay a health check for a whole window. It overrides
// the reserve WithHealthInterval computes. Default 0.
func WithHealthReserve(n int) Option { return func(c *Client) { c.reserve, c.reserveSet = n, true } }

// WithMaxPages sets the hard cap on pages of one paginated call (default
// DefaultMaxPages).
func WithMaxPages(n int) Option { return func(c *Client) { c.maxPages = n } }
