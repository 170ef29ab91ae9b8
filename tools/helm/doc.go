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

// Package helm pins the Helm release that checks the chart in
// deploy/helm/kartustok-exporter (its go.mod's tool directive), and tests the
// chart's manifests: every document `helm template` renders for the value
// sets in the chart's ci/ directory is decoded strictly into the Kubernetes
// and Prometheus Operator API types, the pod's security settings and the
// volume of its state are asserted (for the Deployment of one pod and the
// StatefulSet of shards alike), the companies file the chart writes is read
// with the exporter's own package config (testdata/configparse, built in a
// Go workspace with the exporter's module, which this module does not
// require) and checked against the values, the mounted tokens and the
// shards, and the chart's copies of the alerting rules and dashboards are
// proven identical to the repository's.
//
// The tests need the helm binary built from this module: set KARTUSTOK_HELM
// to its path (`make helm` does). Without it they skip.
package helm
