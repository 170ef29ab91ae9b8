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

import "github.com/kartustok/kartustok_exporter/kartustok"

// Collectors names the optional families, each a collector a user can turn
// off (--no-collector.NAME, as node_exporter's switches). A field that is
// set turns its collector off: the engine sends none of its requests, and
// its families are not exported. The zero value collects everything.
type Collectors struct {
	// Flow is kartustok_stock_inflow_quantity and
	// kartustok_stock_outflow_quantity, of both periods. Off, no 30-day
	// /stock/summary read is sent, by the flow refresh or for a due full
	// stock read, and the day's in and out that every stock read brings
	// along are not exported.
	Flow bool
	// Movements is kartustok_stock_movements. Off, the flow refresh asks
	// no /stock/detail count by transaction type. The stock refresh's
	// count of a locator's movements of all types, which spares the reads
	// of unchanged locators (FullStockInterval), is stock's own and stays.
	Movements bool
}

// readsFlow reports whether the 30-day flow is read: the flow refresh
// runs and the flow collector is on.
func (c Config) readsFlow() bool { return c.FlowInterval > 0 && !c.Off.Flow }

// countsTypes reports whether the flow refresh counts each locator's
// movements of the day by transaction type: it runs and the movements
// collector is on.
func (c Config) countsTypes() bool { return c.FlowInterval > 0 && !c.Off.Movements }

// FlowRefresh reports whether the flow refresh runs: it has an interval
// and something to read, the 30-day flow or the movements by type.
func (c Config) FlowRefresh() bool { return c.readsFlow() || c.countsTypes() }

// flowRequests is what one flow refresh of a locator costs whose 30-day
// read takes pages.
func (c Config) flowRequests(pages int) int {
	n := 0
	if c.readsFlow() {
		n += pages
	}
	if c.countsTypes() {
		n += len(kartustok.TransactionTypes)
	}
	return n
}

// collected is the flow a saved state holds, less what this engine does
// not collect: a state saved while a collector was on must not bring its
// families back after a restart that turned it off.
func (c Config) collected(flow map[kartustok.ID]*LocatorFlow) map[kartustok.ID]*LocatorFlow {
	switch {
	case !c.FlowRefresh():
		return nil
	case c.readsFlow() && c.countsTypes():
		return flow
	}
	out := make(map[kartustok.ID]*LocatorFlow, len(flow))
	for id, lf := range flow {
		kept := &LocatorFlow{}
		if c.readsFlow() {
			kept.Period = lf.Period
		}
		if c.countsTypes() {
			kept.Movements = lf.Movements
		}
		if kept.Period != nil || kept.Movements != nil {
			out[id] = kept
		}
	}
	return out
}
