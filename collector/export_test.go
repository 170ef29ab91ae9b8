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

package collector

import "github.com/prometheus/client_golang/prometheus"

// RenderedDescs returns the Descs of the families a Renderer serves, for
// the tests of package collector_test.
func RenderedDescs() []*prometheus.Desc {
	out := make([]*prometheus.Desc, len(renderedFamilies))
	for i, f := range renderedFamilies {
		out[i] = f.desc
	}
	return out
}
