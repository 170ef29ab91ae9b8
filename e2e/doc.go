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

// Package e2e holds the end-to-end test: simulated companies, one for each
// minimum-stock mode, all served by one run of the real exporter binary
// through a companies file (--config.file), a real Prometheus with the
// shipped alerting rules and a real Alertmanager routing to a webhook
// inside the test, configured from the files in examples/. Alerts are told
// apart and inhibited by their company label, and every dashboard query is
// checked against the running Prometheus for each company in turn.
//
// The test needs Prometheus and Alertmanager binaries; `make e2e` builds
// them from the versions pinned in tools/ and points KARTUSTOK_E2E_TOOLS at
// them. Without that variable the test skips.
package e2e
