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

package kartustok_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

func Example() {
	// A simulated company stands in for https://<subdomain>.kartustok.com.
	company := kartustoktest.NewCompany(kartustoktest.Config{Items: 150, Locators: 2})
	srv := kartustoktest.NewServer(company)
	defer srv.Close()
	token := company.AddToken(kartustoktest.TokenSpec{Scopes: []string{kartustok.ScopeItem}})

	// In production: kartustok.TokenFile(path) or kartustok.TokenEnv("KARTUSTOK_TOKEN").
	c, err := kartustok.New(srv.URL, kartustok.StaticToken(token), kartustok.WithBudget(60, time.Minute))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()

	items, pages, err := c.Items(ctx, kartustok.ItemFilter{})
	fmt.Println(len(items), "items in", pages.Pages, "pages,", err)

	// The token lacks stock.read.
	_, _, err = c.StockSummary(ctx, kartustok.StockSummaryFilter{})
	var e *kartustok.Error
	if errors.As(err, &e) && e.Kind == kartustok.KindForbidden {
		fmt.Println(e.Forbidden, "-", err)
	}
	// Output:
	// 150 items in 2 pages, <nil>
	// scope - kartustok: GET /stock/summary: 403 forbidden (missing scope): Token does not have the required scope: stock.read
}
