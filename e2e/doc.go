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

// Package e2e holds the end-to-end test: the simulated company, the real
// exporter binary, a real Prometheus with the shipped alerting rules and a
// real Alertmanager routing to a webhook inside the test, configured from
// the files in examples/, with every dashboard query checked against the
// running Prometheus.
//
// The test needs Prometheus and Alertmanager binaries; `make e2e` builds
// them from the versions pinned in tools/ and points KARTUSTOK_E2E_TOOLS at
// them. Without that variable the test skips.
package e2e
