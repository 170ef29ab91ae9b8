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

package kartustoktest

import (
	"fmt"
	"math"
)

// Flow returns what came into and went out of a pair over [from, to]
// (YYYY-MM-DD, in the company's time zone), as /stock/summary reports it
// for that range: ok is false when the pair has no stock card by to, so
// the summary has no row for it.
func (c *Company) Flow(locatorID, itemID, from, to string) (in, out float64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pairOf(locatorID, itemID)
	f, okFrom := parseDay(from)
	t, okTo := parseDay(to)
	if p < 0 || !okFrom || !okTo {
		return 0, 0, false
	}
	_, i, o, _, ok := c.span(p, f, t)
	return toFloat(i), toFloat(o), ok
}

// Movements returns how many movements /stock/detail lists for a locator
// on day (YYYY-MM-DD), of one transaction type ("" for every type).
func (c *Company) Movements(locatorID, day, transactionType string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := parseDay(day)
	if !ok {
		return 0
	}
	return c.detailList(locatorID, "", transactionType, d, d).total
}

// Post posts one document of one row dated today, bringing in (in > 0) or
// taking out (out > 0) a quantity of an item in a warehouse, so that tests
// can change a balance exactly. It panics on an unknown pair or type, or a
// quantity that would take the balance below zero.
func (c *Company) Post(locatorID, itemID, transactionType string, in, out float64) {
	c.post(locatorID, itemID, transactionType, in, out, 0)
}

// PostBackdated posts a one-row adjustment dated daysAgo days before today,
// as a back-dated document does: today's balance changes, but no movement
// is dated today.
func (c *Company) PostBackdated(locatorID, itemID string, daysAgo int, in, out float64) {
	if daysAgo < 1 {
		panic("kartustoktest: PostBackdated needs daysAgo >= 1")
	}
	c.post(locatorID, itemID, txAdjustment.String(), in, out, daysAgo)
}

func (c *Company) post(locatorID, itemID, transactionType string, in, out float64, daysAgo int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pairOf(locatorID, itemID)
	if p < 0 {
		panic(fmt.Sprintf("kartustoktest: no pair %s/%s", locatorID, itemID))
	}
	typ := -1
	for k, n := range txNames {
		if n == transactionType {
			typ = k
		}
	}
	if typ < 0 {
		panic("kartustoktest: unknown transaction type " + transactionType)
	}
	day := dayOf(c.now(), c.loc) - int32(daysAgo)
	qi, qo := int64(math.Round(in*unit)), int64(math.Round(out*unit))
	if qo > c.available(p, day) {
		panic(fmt.Sprintf("kartustoktest: %s/%s holds less than %v", locatorID, itemID, out))
	}
	c.addRow(c.newDoc(txType(typ), day), day, p, qi, qo)
}
