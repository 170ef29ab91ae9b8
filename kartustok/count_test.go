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

package kartustok

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStockMovementCount: one request of one row per page, whose
// meta.total is the count; an answer that cannot be a first page of one row
// is refused, and one without a total fails with ErrNoTotal.
func TestStockMovementCount(t *testing.T) {
	row := `{"id":"Mv2Lq9","date":"2026-11-27","document_no":"RCV/2026/11/0042","transaction_type":"receipt","locator_id":"Lr8pW1","item_id":"It7fZk","qty_in":"50.0000","qty_out":"0.0000","balance":"135.0000"}`
	for _, tc := range []struct {
		name, body string
		want       int
		err        string
	}{
		{"some", `{"status":"success","data":[` + row + `],"meta":{"current_page":1,"per_page":1,"total":42,"last_page":42}}`, 42, ""},
		{"none", `{"status":"success","data":[],"meta":{"current_page":1,"per_page":1,"total":0,"last_page":1}}`, 0, ""},
		{"no total", `{"status":"success","data":[` + row + `],"meta":{"current_page":1,"per_page":1,"last_page":42}}`, 0, "no meta.total"},
		{"no meta", `{"status":"success","data":[` + row + `]}`, 0, "no meta.total"},
		{"wrong page", `{"status":"success","data":[` + row + `],"meta":{"current_page":2,"per_page":1,"total":42}}`, 0, "current_page 2"},
		{"negative", `{"status":"success","data":[],"meta":{"current_page":1,"total":-1}}`, 0, "meta.total is -1"},
		{"too many rows", `{"status":"success","data":[` + row + `,` + row + `],"meta":{"current_page":1,"total":2}}`, 0, "got 2"},
		{"rows but total 0", `{"status":"success","data":[` + row + `],"meta":{"current_page":1,"total":0}}`, 0, "meta.total 0 with 1 rows"},
		{"total but no row", `{"status":"success","data":[],"meta":{"current_page":1,"total":3}}`, 0, "meta.total 3 with 0 rows"},
		{"fractional total", `{"status":"success","data":[` + row + `],"meta":{"current_page":1,"total":2.5}}`, 0, "cannot unmarshal number 2.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked url.Values
			c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				asked = r.URL.Query()
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, tc.body)
			}))
			n, err := c.StockMovementCount(context.Background(), StockDetailFilter{LocatorID: "Lr8pW1", TransactionType: TransactionIssue, DateFrom: "2026-11-27", DateTo: "2026-11-27"})
			assert.Equal(t, url.Values{"locator_id": {"Lr8pW1"}, "transaction_type": {"issue"}, "date_from": {"2026-11-27"}, "date_to": {"2026-11-27"}, "page": {"1"}, "per_page": {"1"}}, asked)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				assert.Equal(t, KindInvalidResponse, KindOf(err))
				assert.Equal(t, tc.err == "no meta.total", errors.Is(err, ErrNoTotal))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, n)
		})
	}
	c, _ := newTestClient(t, http.NotFoundHandler())
	_, err := c.StockMovementCount(context.Background(), StockDetailFilter{})
	require.ErrorContains(t, err, "a locator ID is required")
}
