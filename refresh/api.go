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
	"context"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

// API is the part of the KartuStok client the engine calls. *kartustok.Client
// implements it; tests substitute a fake so the engine's timing can run on a
// fake clock.
type API interface {
	Health(ctx context.Context) (kartustok.Health, error)
	Company(ctx context.Context) (kartustok.Company, error)
	ItemCategories(ctx context.Context) ([]kartustok.Category, kartustok.ListInfo, error)
	Locators(ctx context.Context) ([]kartustok.Locator, kartustok.ListInfo, error)
	Items(ctx context.Context, f kartustok.ItemFilter) ([]kartustok.Item, kartustok.ListInfo, error)
	StockSummary(ctx context.Context, f kartustok.StockSummaryFilter) ([]kartustok.StockRow, kartustok.ListInfo, error)
	StockMovementCount(ctx context.Context, f kartustok.StockDetailFilter) (int, error)
}

var _ API = (*kartustok.Client)(nil)
