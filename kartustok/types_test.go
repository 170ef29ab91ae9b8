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
	"fmt"
	"testing"
	"time"
)

// companyWithExpiry is a /meta/company answer whose token expires at the
// JSON value expires, in a company of time zone tz.
func companyWithExpiry(tz, expires string) []byte {
	return fmt.Appendf(nil, `{"status":"success","data":{"id":"c1","token":{"name":"P","expires_at":%s},"timezone":%q}}`, expires, tz)
}

func TestTokenExpiryForms(t *testing.T) {
	jakarta, err := time.LoadLocation("Asia/Jakarta")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tz, expires string
		want        time.Time // zero: nil
		raw         string
	}{
		{"Asia/Jakarta", `"2027-01-31T23:59:59+07:00"`, time.Date(2027, 1, 31, 23, 59, 59, 0, jakarta), ""},
		{"Asia/Jakarta", `"2027-01-31T16:59:59.000000Z"`, time.Date(2027, 1, 31, 16, 59, 59, 0, time.UTC), ""},
		{"Asia/Jakarta", `"2027-01-31 23:59:59"`, time.Date(2027, 1, 31, 23, 59, 59, 0, jakarta), ""},
		{"Asia/Jakarta", `"2027-01-31T23:59:59"`, time.Date(2027, 1, 31, 23, 59, 59, 0, jakarta), ""},
		{"Asia/Jakarta", `"2027-01-31"`, time.Date(2027, 1, 31, 0, 0, 0, 0, jakarta), ""},
		{"", `"2027-01-31 23:59:59"`, time.Date(2027, 1, 31, 23, 59, 59, 0, time.UTC), ""},
		{"Mars/Olympus", `"2027-01-31 23:59:59"`, time.Date(2027, 1, 31, 23, 59, 59, 0, time.UTC), ""},
		{"Local", `"2027-01-31 23:59:59"`, time.Date(2027, 1, 31, 23, 59, 59, 0, time.UTC), ""},
		{"Asia/Jakarta", `null`, time.Time{}, ""},
		{"Asia/Jakarta", `""`, time.Time{}, ""},
		{"Asia/Jakarta", `"next year"`, time.Time{}, "next year"},
		{"Asia/Jakarta", `1801439999`, time.Time{}, "1801439999"},
	} {
		c, err := decodeObject[Company](companyWithExpiry(tc.tz, tc.expires), nil)
		if err != nil {
			t.Errorf("%s in %q: %v", tc.expires, tc.tz, err)
			continue
		}
		got := c.Token.ExpiresAt
		switch {
		case tc.want.IsZero() && got != nil:
			t.Errorf("%s in %q: ExpiresAt %s, want nil", tc.expires, tc.tz, got)
		case !tc.want.IsZero() && (got == nil || !got.Equal(tc.want)):
			t.Errorf("%s in %q: ExpiresAt %v, want %s", tc.expires, tc.tz, got, tc.want)
		}
		if c.Token.ExpiresAtRaw != tc.raw || c.Token.Name != "P" {
			t.Errorf("%s in %q: %+v", tc.expires, tc.tz, c.Token)
		}
	}
	if c, err := decodeObject[Company]([]byte(`{"data":{"token":null}}`), nil); err != nil || c.Token != nil {
		t.Errorf("null token: %+v, %v", c, err)
	}
}

func TestTolerantFlagsAndMinimums(t *testing.T) {
	for in, want := range map[string]bool{
		`true`: true, `false`: false, `1`: true, `0`: false, `"1"`: true, `"0"`: false,
		`"true"`: true, `"false"`: false, `null`: false,
	} {
		body := fmt.Appendf(nil, `{"data":[{"id":"x","is_active":%s}]}`, in)
		items, _, err := decodeStrict[Item](body)
		if err != nil || len(items) != 1 || items[0].Active != want {
			t.Errorf("item is_active %s: %+v, %v", in, items, err)
		}
		locs, _, err := decodeStrict[Locator](body)
		if err != nil || len(locs) != 1 || locs[0].Active != want {
			t.Errorf("locator is_active %s: %+v, %v", in, locs, err)
		}
		cats, _, err := decodeStrict[Category](body)
		if err != nil || len(cats) != 1 || cats[0].Active != want {
			t.Errorf("category is_active %s: %+v, %v", in, cats, err)
		}
	}
	for _, in := range []string{`2`, `"yes"`, `[]`} {
		if _, _, err := decodeStrict[Item](fmt.Appendf(nil, `{"data":[{"is_active":%s}]}`, in)); err == nil {
			t.Errorf("is_active %s accepted", in)
		}
	}
	for in, want := range map[string]*float64{`null`: nil, `""`: nil, `"40.0000"`: new(40.0), `12`: new(12.0)} {
		body := fmt.Appendf(nil, `{"data":[{"id":"x","item_id":"x","minimum_qty":%s,"ending_qty":"1"}]}`, in)
		items, _, err := decodeStrict[Item](body)
		if err != nil || !sameQty(items[0].MinimumQty, want) {
			t.Errorf("item minimum_qty %s: %+v, %v", in, items, err)
		}
		rows, _, err := decodeStrict[StockRow](body)
		if err != nil || !sameQty(rows[0].MinimumQty, want) || rows[0].EndingQty != 1 {
			t.Errorf("stock row minimum_qty %s: %+v, %v", in, rows, err)
		}
	}
	if _, _, err := decodeStrict[StockRow]([]byte(`{"data":[{"item_id":"x","minimum_qty":"lots","ending_qty":"1"}]}`)); err == nil {
		t.Error("minimum_qty \"lots\" accepted")
	}
}

func sameQty(q *Quantity, f *float64) bool {
	if q == nil || f == nil {
		return q == nil && f == nil
	}
	return float64(*q) == *f
}
