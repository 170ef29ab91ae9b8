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

package refresh

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPlanPredictsWhatTheSchedulerLeavesStock(t *testing.T) {
	in := planInput{
		Budget: 96, Window: time.Minute, HealthReserve: 3, CatalogCap: 46,
		CatalogInterval: 15 * time.Minute, StockInterval: time.Minute,
		CatalogRequests: 33, StockRequests: 500,
	}
	p := makePlan(in)
	assert.InDelta(t, 33.0/15, p.CatalogPerWindow, 1e-9)
	assert.False(t, p.CatalogStretched)
	assert.InDelta(t, 96-3-33.0/15, p.StockPerWindow, 1e-9, "budget − health reserve − the catalog's part")
	assert.True(t, p.Stretched)
	assert.InDelta(t, (500/p.StockPerWindow*60)*float64(time.Second), float64(p.Needed), float64(time.Millisecond))

	// A catalog asked for more often than its cap allows is stretched,
	// and takes no more than its cap from stock.
	in.CatalogInterval = 5 * time.Second
	p = makePlan(in)
	assert.True(t, p.CatalogStretched)
	assert.Equal(t, 46.0, p.CatalogPerWindow)
	assert.Equal(t, 96.0-3-46, p.StockPerWindow)
}

func TestPlanDoesNotOverflowOnAbsurdConfigurations(t *testing.T) {
	p := makePlan(planInput{
		Budget: 5, Window: 24 * time.Hour,
		CatalogInterval: 24 * time.Hour, StockInterval: time.Hour, StockRequests: 400_000,
	})
	if p.Needed <= 0 || !p.Stretched || p.Cycle < time.Hour {
		t.Errorf("plan %+v: want a stretched cycle, not an overflowed one", p)
	}
}
