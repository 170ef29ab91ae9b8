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

package refresh_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

// fakeAPI is an in-memory API whose answers tests change while the engine
// runs. Each call is logged with the fake clock's time and its cost in
// requests (its pages, at least one).
type fakeAPI struct {
	mu         sync.Mutex
	company    kartustok.Company
	categories []kartustok.Category
	locators   []kartustok.Locator
	items      []kartustok.Item
	itemPages  int
	stock      map[kartustok.ID][]kartustok.StockRow
	stockPages map[kartustok.ID]int
	// errs makes calls to an endpoint fail; locErrs makes one locator's
	// stock fail.
	errs    map[string]error
	locErrs map[kartustok.ID]error
	// hook, when set, runs inside StockSummary before it answers.
	hook  func(kartustok.StockSummaryFilter)
	calls []fakeCall
	// moves is each locator's movement count (StockMovementCount).
	moves map[kartustok.ID]int
	// healthZone, when set, is the zone of the time /health reports.
	healthZone *time.Location
}

type fakeCall struct {
	At       time.Time
	Endpoint string
	Requests int
	Filter   kartustok.StockSummaryFilter
}

// newFakeAPI returns a company with n active locators of m items each, all
// balances equal to 10, and one inactive locator.
func newFakeAPI(locators, items int) *fakeAPI {
	f := &fakeAPI{
		company:    kartustok.Company{ID: "c1", Name: "PT Uji", Subdomain: "uji", Timezone: "Asia/Jakarta", MinimumStockMode: kartustok.MinimumStockPerWarehouse},
		categories: []kartustok.Category{{ID: "cat1", Name: "Bahan Baku", Active: true}},
		itemPages:  1,
		stock:      map[kartustok.ID][]kartustok.StockRow{},
		stockPages: map[kartustok.ID]int{},
		errs:       map[string]error{},
		locErrs:    map[kartustok.ID]error{},
	}
	for j := range items {
		f.items = append(f.items, kartustok.Item{ID: kartustok.ID(fmt.Sprintf("i%d", j)), Code: fmt.Sprintf("KS-%05d", j), Name: fmt.Sprintf("Item %d", j), CategoryID: "cat1", UOM: "pcs", Active: true})
	}
	for i := range locators {
		id := kartustok.ID(fmt.Sprintf("L%d", i))
		f.locators = append(f.locators, kartustok.Locator{ID: id, Code: fmt.Sprintf("GDG-%02d", i), Name: fmt.Sprintf("Gudang %d", i), Active: true})
		f.setBalances(id, 10, 1)
	}
	f.locators = append(f.locators, kartustok.Locator{ID: "Lx", Code: "OLD", Name: "Gudang Lama", Active: false})
	return f
}

// setBalances sets every item's balance in a locator to v, served in pages.
func (f *fakeAPI) setBalances(loc kartustok.ID, v float64, pages int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rows := make([]kartustok.StockRow, 0, len(f.items))
	for _, it := range f.items {
		rows = append(rows, kartustok.StockRow{LocatorID: loc, ItemID: it.ID, EndingQty: kartustok.Quantity(v)})
	}
	f.stock[loc], f.stockPages[loc] = rows, pages
}

func (f *fakeAPI) setErr(endpoint string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.errs, endpoint)
	} else {
		f.errs[endpoint] = err
	}
}

func (f *fakeAPI) setLocErr(loc kartustok.ID, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.locErrs, loc)
	} else {
		f.locErrs[loc] = err
	}
}

// callsSince returns the calls to endpoint ("" for all) at or after t.
func (f *fakeAPI) callsSince(endpoint string, t time.Time) []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeCall
	for _, c := range f.calls {
		if (endpoint == "" || c.Endpoint == endpoint) && !c.At.Before(t) {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeAPI) record(endpoint string, requests int, filter kartustok.StockSummaryFilter) error {
	f.calls = append(f.calls, fakeCall{At: time.Now(), Endpoint: endpoint, Requests: max(1, requests), Filter: filter})
	return f.errs[endpoint]
}

func httpErr(endpoint string, status int) *kartustok.Error {
	kinds := map[int]kartustok.ErrorKind{401: kartustok.KindUnauthorized, 403: kartustok.KindForbidden, 404: kartustok.KindNotFound, 429: kartustok.KindRateLimited}
	k, ok := kinds[status]
	if !ok {
		k = kartustok.KindServerError
	}
	return &kartustok.Error{Kind: k, Endpoint: endpoint, Status: status, Message: "injected"}
}

func (f *fakeAPI) Health(context.Context) (kartustok.Health, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(kartustok.EndpointHealth, 1, kartustok.StockSummaryFilter{}); err != nil {
		return kartustok.Health{}, err
	}
	h := kartustok.Health{Status: "ok"}
	if f.healthZone != nil {
		h.Time = time.Now().In(f.healthZone).Format(time.RFC3339)
	}
	return h, nil
}

func (f *fakeAPI) Company(context.Context) (kartustok.Company, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(kartustok.EndpointCompany, 1, kartustok.StockSummaryFilter{}); err != nil {
		return kartustok.Company{}, err
	}
	return f.company, nil
}

// list is the ListInfo of a fake answer of pages pages.
func list(pages int) kartustok.ListInfo {
	return kartustok.ListInfo{Pages: max(1, pages), Requests: max(1, pages)}
}

func (f *fakeAPI) ItemCategories(context.Context) ([]kartustok.Category, kartustok.ListInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(kartustok.EndpointItemCategories, 1, kartustok.StockSummaryFilter{}); err != nil {
		return nil, list(1), err
	}
	return append([]kartustok.Category(nil), f.categories...), list(1), nil
}

func (f *fakeAPI) Locators(context.Context) ([]kartustok.Locator, kartustok.ListInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(kartustok.EndpointLocators, 1, kartustok.StockSummaryFilter{}); err != nil {
		return nil, list(1), err
	}
	return append([]kartustok.Locator(nil), f.locators...), list(1), nil
}

func (f *fakeAPI) Items(context.Context, kartustok.ItemFilter) ([]kartustok.Item, kartustok.ListInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(kartustok.EndpointItems, f.itemPages, kartustok.StockSummaryFilter{}); err != nil {
		return nil, list(1), err
	}
	return append([]kartustok.Item(nil), f.items...), list(f.itemPages), nil
}

func (f *fakeAPI) StockSummary(_ context.Context, flt kartustok.StockSummaryFilter) ([]kartustok.StockRow, kartustok.ListInfo, error) {
	f.mu.Lock()
	hook := f.hook
	f.mu.Unlock()
	if hook != nil {
		hook(flt)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	pages := f.stockPages[flt.LocatorID]
	if err := f.record(kartustok.EndpointStockSummary, pages, flt); err != nil {
		return nil, list(1), err
	}
	if err := f.locErrs[flt.LocatorID]; err != nil {
		return nil, list(1), err
	}
	return append([]kartustok.StockRow(nil), f.stock[flt.LocatorID]...), list(pages), nil
}

// StockMovementCount answers moves[locator], the same for every type and
// day, unless errs fails stock detail.
func (f *fakeAPI) StockMovementCount(_ context.Context, flt kartustok.StockDetailFilter) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(kartustok.EndpointStockDetail, 1, kartustok.StockSummaryFilter{LocatorID: flt.LocatorID, DateFrom: flt.DateFrom, DateTo: flt.DateTo}); err != nil {
		return 0, err
	}
	return f.moves[flt.LocatorID], nil
}

// setMoves sets the movement count a locator's detail answers.
func (f *fakeAPI) setMoves(loc kartustok.ID, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.moves == nil {
		f.moves = map[kartustok.ID]int{}
	}
	f.moves[loc] = n
}
