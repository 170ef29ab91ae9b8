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

// Package grafana checks the dashboards in dashboards/ against Grafana's
// schema, as the Grafana Foundation SDK
// (github.com/grafana/grafana-foundation-sdk/go, pinned in go.mod) types it:
// every dashboard is decoded strictly into the SDK's dashboard types, so a
// field Grafana does not know, anywhere, or a panel type, or a query of a
// data source type, it has no schema for, fails the test.
//
// The SDK's strict decoding leaves a few parts of a panel unchecked, and the
// test checks those itself with the SDK's own types: the field config
// outside a panel's custom options, the custom options of a panel type that
// has none, the properties of field overrides, the panel type itself (a type
// the SDK does not know has its options decoded as anything) and the query
// type of each target. It tolerates one kind of error only, at the places
// schemaDefaults lists: a field the SDK requires although Grafana supplies
// it when a dashboard leaves it out.
//
// Run by `make dashboards`, beside the PromQL checks of tools/prometheus.
package grafana
