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
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Pagination as documented: page from 1, per_page 1..100.
const (
	maxPerPage          = 100
	defaultItemsPerPage = 20
	defaultStockPerPage = 50
	// endlessLastPage is what an EndlessPages fault claims as last_page.
	endlessLastPage = 1_000_000
)

type envelope struct {
	Status string    `json:"status"`
	Data   any       `json:"data"`
	Meta   *pageMeta `json:"meta,omitempty"`
}

// pageMeta is the meta block of a paginated list. Total is nil only when a
// NoTotal fault leaves it out.
type pageMeta struct {
	CurrentPage int  `json:"current_page"`
	PerPage     int  `json:"per_page"`
	Total       *int `json:"total,omitempty"`
	LastPage    int  `json:"last_page"`
}

// list is a paginated answer: how many rows match and how to render the
// i-th, so a page renders only its own rows.
type list struct {
	total int
	row   func(i int) any
}

type healthJSON struct {
	Status string `json:"status"`
	Time   string `json:"time"`
}

type companyJSON struct {
	ID               string     `json:"id"`
	Name             string     `json:"name"`
	Subdomain        string     `json:"subdomain"`
	Timezone         string     `json:"timezone"`
	MinimumStockMode string     `json:"minimum_stock_mode"`
	Token            *tokenJSON `json:"token,omitempty"`
}

type tokenJSON struct {
	Name      string   `json:"name"`
	Prefix    string   `json:"prefix"`
	Scopes    []string `json:"scopes"`
	ExpiresAt *string  `json:"expires_at"`
}

type categoryJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	IsActive    bool   `json:"is_active"`
}

type locatorJSON struct {
	ID       string `json:"id"`
	Code     string `json:"code"`
	Name     string `json:"name"`
	IsActive bool   `json:"is_active"`
}

type itemJSON struct {
	ID           string `json:"id"`
	Code         string `json:"code"`
	Name         string `json:"name"`
	UPC          string `json:"upc"`
	Description  string `json:"description"`
	CategoryID   string `json:"category_id"`
	CategoryName string `json:"category_name"`
	UOM          string `json:"uom"`
	MinimumQty   *qty   `json:"minimum_qty"`
	IsActive     bool   `json:"is_active"`
}

type summaryJSON struct {
	LocatorID   string `json:"locator_id"`
	LocatorName string `json:"locator_name"`
	ItemID      string `json:"item_id"`
	ItemCode    string `json:"item_code"`
	ItemName    string `json:"item_name"`
	CategoryID  string `json:"category_id"`
	UOM         string `json:"uom"`
	OpeningQty  qty    `json:"opening_qty"`
	InQty       qty    `json:"in_qty"`
	OutQty      qty    `json:"out_qty"`
	EndingQty   qty    `json:"ending_qty"`
	MinimumQty  *qty   `json:"minimum_qty"`
}

type detailJSON struct {
	ID              string `json:"id"`
	Date            string `json:"date"`
	DocumentNo      string `json:"document_no"`
	TransactionType string `json:"transaction_type"`
	LocatorID       string `json:"locator_id"`
	ItemID          string `json:"item_id"`
	QtyIn           qty    `json:"qty_in"`
	QtyOut          qty    `json:"qty_out"`
	Balance         qty    `json:"balance"`
}

// validator checks query parameters with Laravel's rules and messages.
type validator struct {
	q      url.Values
	fields []string
	msgs   map[string][]string
	count  int
}

func newValidator(q url.Values) *validator {
	return &validator{q: q, msgs: map[string][]string{}}
}

// param is the value of a query parameter. PHP keeps the last of repeated
// parameters (?per_page=5&per_page=500 is 500), and so does this.
func param(q url.Values, name string) string {
	vs := q[name]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

func label(field string) string { return strings.ReplaceAll(field, "_", " ") }

func (v *validator) fail(field, msg string) {
	if _, seen := v.msgs[field]; !seen {
		v.fields = append(v.fields, field)
	}
	v.msgs[field] = append(v.msgs[field], msg)
	v.count++
}

// integer reads an optional integer in [lo, hi] (hi 0: unbounded).
func (v *validator) integer(field string, def, lo, hi int) int {
	s := param(v.q, field)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		v.fail(field, fmt.Sprintf("The %s field must be an integer.", label(field)))
	case n < lo:
		v.fail(field, fmt.Sprintf("The %s field must be at least %d.", label(field), lo))
	case hi > 0 && n > hi:
		v.fail(field, fmt.Sprintf("The %s field must not be greater than %d.", label(field), hi))
	default:
		return n
	}
	return def
}

// date reads an optional YYYY-MM-DD date.
func (v *validator) date(field string, def int32) int32 {
	s := param(v.q, field)
	if s == "" {
		return def
	}
	d, ok := parseDay(s)
	if !ok {
		v.fail(field, fmt.Sprintf("The %s field must match the format Y-m-d.", label(field)))
		return def
	}
	return d
}

// dateRange reads date_from and date_to, both defaulting to today.
func (v *validator) dateRange(today int32) (from, to int32) {
	from = v.date("date_from", today)
	to = v.date("date_to", today)
	if v.msgs["date_from"] == nil && v.msgs["date_to"] == nil && to < from {
		v.fail("date_to", "The date to field must be a date after or equal to date from.")
	}
	return from, to
}

// boolean reads an optional 0/1 flag; set is false when absent.
func (v *validator) boolean(field string) (val, set bool) {
	switch param(v.q, field) {
	case "":
		return false, false
	case "1":
		return true, true
	case "0":
		return false, true
	}
	v.fail(field, fmt.Sprintf("The %s field must be true or false.", label(field)))
	return false, false
}

func (v *validator) required(field string) string {
	s := param(v.q, field)
	if s == "" {
		v.fail(field, fmt.Sprintf("The %s field is required.", label(field)))
	}
	return s
}

func (v *validator) oneOf(field string, allowed []string) string {
	s := param(v.q, field)
	if s == "" {
		return ""
	}
	if slices.Contains(allowed, s) {
		return s
	}
	v.fail(field, fmt.Sprintf("The selected %s is invalid.", label(field)))
	return ""
}

// pagination reads page and per_page.
func (v *validator) pagination(def int) (page, perPage int) {
	return v.integer("page", 1, 1, 0), v.integer("per_page", def, 1, maxPerPage)
}

// response is the 422 answer, or nil when every parameter is valid. Like
// Laravel, the message is the first error plus how many more there are.
func (v *validator) response() *response {
	if v.count == 0 {
		return nil
	}
	msg := v.msgs[v.fields[0]][0]
	if more := v.count - 1; more == 1 {
		msg += " (and 1 more error)"
	} else if more > 1 {
		msg += fmt.Sprintf(" (and %d more errors)", more)
	}
	return jsonResponse(http.StatusUnprocessableEntity, errorBody{Status: "error", Message: msg, Errors: v.msgs})
}

// wellFormedID reports whether s can be a public ID at all; the API answers
// 404 for one that cannot, and an empty result for a well-formed ID that
// matches nothing.
func wellFormedID(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(base62, rune(s[i])) {
			return false
		}
	}
	return true
}

func invalidID() *response { return apiError(http.StatusNotFound, "Invalid public ID") }

// filterIDs checks the ID filters that are present: a malformed one is 404.
func filterIDs(q url.Values, fields ...string) *response {
	for _, f := range fields {
		if s := param(q, f); s != "" && !wellFormedID(s) {
			return invalidID()
		}
	}
	return nil
}

// controller answers an authenticated, throttled request.
func (s *Server) controller(endpoint, id string, r *http.Request, tok *token, now time.Time, f *faultState) *response {
	if scope := scopeOf[endpoint]; !tok.hasScope(scope) {
		return apiError(http.StatusForbidden, "Token does not have the required scope: "+scope)
	}
	c := s.c
	c.mu.RLock()
	defer c.mu.RUnlock()
	q := r.URL.Query()
	v := newValidator(q)
	today := dayOf(now, c.loc)
	var data any
	var l *list
	page, perPage := 1, 0
	switch endpoint {
	case EndpointHealth:
		data = healthJSON{Status: "ok", Time: now.In(c.loc).Format(time.RFC3339)}
	case EndpointCompany:
		data = c.companyJSON(tok)
	case EndpointItemCategories:
		rows := make([]categoryJSON, len(c.cats))
		for i, ct := range c.cats {
			rows[i] = categoryJSON{ID: ct.id, Name: ct.name, Description: ct.desc, IsActive: ct.active}
		}
		data = rows
	case EndpointLocators:
		rows := make([]locatorJSON, len(c.locs))
		for i, lc := range c.locs {
			rows[i] = locatorJSON{ID: lc.id, Code: lc.code, Name: lc.name, IsActive: lc.active}
		}
		data = rows
	case EndpointItem:
		if !wellFormedID(id) {
			return invalidID()
		}
		i, ok := c.itmIdx[id]
		if !ok {
			return apiError(http.StatusNotFound, "Item not found")
		}
		data = c.itemJSON(i)
	case EndpointItems:
		page, perPage = v.pagination(defaultItemsPerPage)
		active, activeSet := v.boolean("is_active")
		if resp := v.response(); resp != nil {
			return resp
		}
		if resp := filterIDs(q, "category_id"); resp != nil {
			return resp
		}
		l = c.itemList(strings.ToLower(param(q, "q")), active, activeSet, param(q, "category_id"))
	case EndpointStockSummary:
		from, to := v.dateRange(today)
		page, perPage = v.pagination(defaultStockPerPage)
		if resp := v.response(); resp != nil {
			return resp
		}
		if resp := filterIDs(q, "locator_id", "item_id", "category_id"); resp != nil {
			return resp
		}
		l = c.summaryList(param(q, "locator_id"), param(q, "item_id"), param(q, "category_id"), from, to)
	case EndpointStockDetail:
		locatorID := v.required("locator_id")
		typ := v.oneOf("transaction_type", txNames[:])
		from, to := v.dateRange(today)
		page, perPage = v.pagination(defaultStockPerPage)
		if resp := v.response(); resp != nil {
			return resp
		}
		if resp := filterIDs(q, "locator_id", "item_id"); resp != nil {
			return resp
		}
		l = c.detailList(locatorID, param(q, "item_id"), typ, from, to)
	}
	var ff *Fault
	if f != nil {
		ff = &f.f
	}
	var resp *response
	if l == nil {
		if sp := ff.rowSpoil(); sp != nil {
			data = sp.data(data)
		}
		resp = jsonResponse(http.StatusOK, envelope{Status: "success", Data: data})
	} else {
		resp = jsonResponse(http.StatusOK, paginate(l, page, perPage, ff))
	}
	if f != nil {
		f.applyBody(resp)
	}
	return resp
}

// paginate renders one page as Laravel's LengthAwarePaginator counts it:
// last_page is at least 1, a page past the end is empty. f (nil: none) can
// make it misbehave as a broken server or changing data would; see Fault.
func paginate(l *list, page, perPage int, f *Fault) envelope {
	if f == nil {
		f = &Fault{}
	}
	asked := page
	if f.IgnorePage {
		page = 1
	}
	shift := 0 // rows inserted (removed, if negative) before the page
	if page > 1 {
		shift = f.Shift
	}
	total := max(0, l.total+shift)
	sp := f.rowSpoil()
	offsets := pageOffsets(total, page, perPage, f.EndlessPages)
	rows := make([]any, 0, len(offsets))
	for _, k := range offsets {
		if i := k - shift; i >= 0 && i < l.total { // i < 0: an inserted row
			rows = append(rows, sp.row(i, l.row(i)))
		}
	}
	return envelope{Status: "success", Data: rows, Meta: f.pageMeta(asked, page, perPage, total)}
}

// pageOffsets are the offsets in a list of total rows that one page holds.
// endless fills every page, wrapping around the list.
func pageOffsets(total, page, perPage int, endless bool) []int {
	start := math.MaxInt
	if page-1 <= (math.MaxInt-perPage)/perPage {
		start = (page - 1) * perPage
	}
	var offsets []int
	if endless {
		for k := 0; k < perPage && total > 0; k++ {
			offsets = append(offsets, (start%total+k)%total)
		}
		return offsets
	}
	for k := start; k < total && k-start < perPage; k++ {
		offsets = append(offsets, k)
	}
	return offsets
}

// pageMeta is the meta block of the page answered for page asked, in a
// list of total rows; nil when f leaves it out.
func (f *Fault) pageMeta(asked, page, perPage, total int) *pageMeta {
	if f.NoMeta {
		return nil
	}
	meta := &pageMeta{CurrentPage: page, PerPage: perPage, LastPage: max(1, (total+perPage-1)/perPage)}
	if f.IgnorePage && f.EchoPage {
		meta.CurrentPage = asked
	}
	if f.EndlessPages {
		meta.LastPage = endlessLastPage
		total = endlessLastPage * perPage
	}
	if page > 1 {
		total = max(0, total+f.TotalDrift)
	}
	if f.LastPage > 0 {
		meta.LastPage = f.LastPage
	}
	if !f.NoTotal {
		meta.Total = &total
	}
	return meta
}

func (c *Company) companyJSON(tok *token) companyJSON {
	out := companyJSON{ID: c.id, Name: c.name, Subdomain: c.subdomain, Timezone: c.loc.String(), MinimumStockMode: c.mode}
	if !tok.spec.HideFromMeta {
		tj := &tokenJSON{Name: tok.spec.Name, Prefix: TokenPrefix(tok.secret), Scopes: tok.spec.Scopes}
		if !tok.spec.ExpiresAt.IsZero() {
			s := tok.spec.ExpiresAt.In(c.loc).Format(time.RFC3339)
			tj.ExpiresAt = &s
		}
		out.Token = tj
	}
	return out
}

func (c *Company) itemJSON(i int) itemJSON {
	it := &c.items[i]
	return itemJSON{
		ID: it.id, Code: it.code, Name: it.name, UPC: it.upc, Description: it.desc,
		CategoryID: c.cats[it.cat].id, CategoryName: c.cats[it.cat].name, UOM: it.uom,
		MinimumQty: optQty(it.min, c.numberForm(it.id), c.mode == ModeUnion || c.emitAll),
		IsActive:   it.active,
	}
}

// itemList filters items: q matches code or name case-insensitively, as a
// LIKE on a case-insensitive collation does.
func (c *Company) itemList(q string, active, activeSet bool, categoryID string) *list {
	cat := -1
	if categoryID != "" {
		var ok bool
		if cat, ok = c.catIdx[categoryID]; !ok {
			return &list{}
		}
	}
	var match []int32
	for i := range c.items {
		it := &c.items[i]
		if (activeSet && it.active != active) || (cat >= 0 && it.cat != cat) {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(it.code), q) && !strings.Contains(strings.ToLower(it.name), q) {
			continue
		}
		match = append(match, int32(i))
	}
	return &list{total: len(match), row: func(k int) any { return c.itemJSON(int(match[k])) }}
}

// summaryList lists the stock cards (pairs with a ledger row on or before
// to) of one locator or all, in locator then item order.
func (c *Company) summaryList(locatorID, itemID, categoryID string, from, to int32) *list {
	nItems := len(c.items)
	pairs := c.stockCards(locatorID, itemID, categoryID, to)
	showMin := c.mode == ModePerWarehouse || c.emitAll
	return &list{total: len(pairs), row: func(k int) any {
		p := int(pairs[k])
		lc, it := &c.locs[p/nItems], &c.items[p%nItems]
		open, in, out, end, _ := c.span(p, from, to)
		num := c.numberForm(lc.id + it.id)
		return summaryJSON{
			LocatorID: lc.id, LocatorName: lc.name, ItemID: it.id, ItemCode: it.code,
			ItemName: it.name, CategoryID: c.cats[it.cat].id, UOM: it.uom,
			OpeningQty: qty{open, num}, InQty: qty{in, num}, OutQty: qty{out, num}, EndingQty: qty{end, num},
			MinimumQty: optQty(c.pairMin[p], num, showMin),
		}
	}}
}

// stockCards returns the pairs a summary lists. Paging through every
// locator of a large company asks for the same list once per page, so
// lists are cached until the ledger next changes.
func (c *Company) stockCards(locatorID, itemID, categoryID string, to int32) []int32 {
	key := cardsKey{locatorID, itemID, categoryID, to}
	c.cardsMu.Lock()
	if c.cardsVersion != len(c.rows) {
		clear(c.cards)
		c.cardsVersion = len(c.rows)
	}
	pairs, ok := c.cards[key]
	c.cardsMu.Unlock()
	if ok {
		return pairs
	}
	locs, items := c.filterPairs(locatorID, itemID, categoryID)
	nItems := len(c.items)
	pairs = make([]int32, 0, len(locs)*len(items))
	for _, l := range locs {
		for _, i := range items {
			p := l*nItems + i
			if rs := c.pairRows[p]; len(rs) > 0 && c.rows[rs[0]].day <= to {
				pairs = append(pairs, int32(p))
			}
		}
	}
	c.cardsMu.Lock()
	if c.cardsVersion == len(c.rows) && len(c.cards) < 64 {
		c.cards[key] = pairs
	}
	c.cardsMu.Unlock()
	return pairs
}

type cardsKey struct {
	locatorID, itemID, categoryID string
	to                            int32
}

// filterPairs resolves the locator, item and category filters to index
// lists; an ID that matches nothing gives an empty list.
func (c *Company) filterPairs(locatorID, itemID, categoryID string) (locs, items []int) {
	if locatorID != "" {
		if l, ok := c.locIdx[locatorID]; ok {
			locs = []int{l}
		}
	} else {
		locs = make([]int, len(c.locs))
		for l := range locs {
			locs[l] = l
		}
	}
	cat := -1
	if categoryID != "" {
		var ok bool
		if cat, ok = c.catIdx[categoryID]; !ok {
			return nil, nil
		}
	}
	if itemID != "" {
		if i, ok := c.itmIdx[itemID]; ok && (cat < 0 || c.items[i].cat == cat) {
			items = []int{i}
		}
		return locs, items
	}
	for i := range c.items {
		if cat < 0 || c.items[i].cat == cat {
			items = append(items, i)
		}
	}
	return locs, items
}

// detailList lists a locator's ledger rows in [from, to], in date and
// posting order, with each pair's running balance.
func (c *Company) detailList(locatorID, itemID, typ string, from, to int32) *list {
	l, ok := c.locIdx[locatorID]
	if !ok {
		return &list{}
	}
	rs := c.locRows[l]
	if itemID != "" {
		i, ok := c.itmIdx[itemID]
		if !ok {
			return &list{}
		}
		rs = c.pairRows[l*len(c.items)+i]
	}
	rs = rs[c.lowerBound(rs, from):c.upperBound(rs, to)]
	if typ != "" {
		var kept []int32
		for _, k := range rs {
			if c.docs[c.rows[k].doc].typ.String() == typ {
				kept = append(kept, k)
			}
		}
		rs = kept
	}
	return &list{total: len(rs), row: func(k int) any {
		r := &c.rows[rs[k]]
		d := &c.docs[r.doc]
		num := c.numberForm(r.id)
		return detailJSON{
			ID: r.id, Date: dayString(r.day), DocumentNo: d.no, TransactionType: d.typ.String(),
			LocatorID: c.locs[int(r.pair)/len(c.items)].id, ItemID: c.items[int(r.pair)%len(c.items)].id,
			QtyIn: qty{r.in, num}, QtyOut: qty{r.out, num}, Balance: qty{r.bal, num},
		}
	}}
}

func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	return a.Unmap(), err
}

func parsePrefix(s string) (netip.Prefix, error) {
	return netip.ParsePrefix(strings.TrimSpace(s))
}
