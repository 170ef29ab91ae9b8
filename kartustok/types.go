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

// This file is the single home of every response shape the exporter reads.
// KartuStok publishes its endpoints, scopes, filters and error statuses, but
// not the JSON schema of its responses; the shapes below are the ones the
// contract (API.md) marks [assumed]. Meeting the real schema later is a change
// to this file only.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Scopes a token can carry, one per group of endpoints.
const (
	ScopeMeta     = "meta.read"
	ScopeItem     = "item.read"
	ScopeCategory = "category.read"
	ScopeLocator  = "locator.read"
	ScopeStock    = "stock.read"
)

// Endpoint path templates, relative to the base URL. They are also the
// values reported to an Observer, so they must stay low-cardinality.
const (
	EndpointHealth         = "/health"
	EndpointCompany        = "/meta/company"
	EndpointItemCategories = "/item-categories"
	EndpointLocators       = "/locators"
	EndpointItems          = "/items"
	EndpointItem           = "/items/{id}"
	EndpointStockSummary   = "/stock/summary"
	EndpointStockDetail    = "/stock/detail"
)

// ScopeFor returns the scope an endpoint template requires.
func ScopeFor(endpoint string) string {
	switch endpoint {
	case EndpointHealth, EndpointCompany:
		return ScopeMeta
	case EndpointItems, EndpointItem:
		return ScopeItem
	case EndpointItemCategories:
		return ScopeCategory
	case EndpointLocators:
		return ScopeLocator
	case EndpointStockSummary, EndpointStockDetail:
		return ScopeStock
	}
	return ""
}

// Minimum stock modes reported by /meta/company.
const (
	MinimumStockInactive     = "inactive"
	MinimumStockPerWarehouse = "per_warehouse"
	MinimumStockUnion        = "union"
)

// Transaction types of /stock/detail rows.
const (
	TransactionReceipt    = "receipt"
	TransactionIssue      = "issue"
	TransactionMove       = "move"
	TransactionAdjustment = "adjustment"
)

// envelope is the success envelope {"status":"success","data":…,"meta":…},
// decoded with its data in one pass. Data is nil when "data" is missing or
// null; Message is read in case a 2xx carries an error body.
type envelope[T any] struct {
	Status  string    `json:"status"`
	Message string    `json:"message"`
	Data    *T        `json:"data"`
	Meta    *pageMeta `json:"meta"`
}

// statusSuccess is the "status" of a success envelope.
const statusSuccess = "success"

// Rate-limit headers, as Laravel's throttle sends them. Retry-After is
// standard HTTP; the others are assumed.
const (
	headerRateLimitLimit     = "X-RateLimit-Limit"
	headerRateLimitRemaining = "X-RateLimit-Remaining"
	headerRateLimitReset     = "X-RateLimit-Reset" // Unix time, on a 429
	headerRetryAfter         = "Retry-After"       // whole seconds, on a 429
)

// pageMeta is the pagination block of a paginated list.
type pageMeta struct {
	CurrentPage int `json:"current_page"`
	PerPage     int `json:"per_page"`
	Total       int `json:"total"`
	LastPage    int `json:"last_page"`
}

// errorBody is both {"status":"error","message":…} and Laravel's bare
// {"message":…}; only the message is read.
type errorBody struct {
	Message string `json:"message"`
}

// Health is the answer of GET /health.
type Health struct {
	Status string `json:"status"`
	Time   string `json:"time"`
}

// Company is the answer of GET /meta/company.
type Company struct {
	ID               ID         `json:"id"`
	Name             string     `json:"name"`
	Subdomain        string     `json:"subdomain"`
	Timezone         string     `json:"timezone"`
	MinimumStockMode string     `json:"minimum_stock_mode"`
	Token            *TokenInfo `json:"token"`
}

// UnmarshalJSON decodes the company and reads its token's expiry in the
// company's time zone when the expiry carries none.
func (c *Company) UnmarshalJSON(b []byte) error {
	type plain Company // without this method
	var v struct {
		plain
		Token *tokenWire `json:"token"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*c = Company(v.plain)
	c.Token = nil
	if v.Token != nil {
		c.Token = v.Token.info(v.Timezone)
	}
	return nil
}

// TokenInfo describes the calling token when /meta/company reports it.
type TokenInfo struct {
	Name   string   `json:"name"`
	Prefix string   `json:"prefix"`
	Scopes []string `json:"scopes"`
	// ExpiresAt is nil when the token never expires, and when its expiry
	// could not be read (then ExpiresAtRaw holds it). It is read from RFC
	// 3339, or from "2006-01-02 15:04:05" (Laravel's default),
	// "2006-01-02T15:04:05" or "2006-01-02" (the start of that day) in the
	// company's time zone, or in UTC when that is not a valid IANA zone.
	ExpiresAt *time.Time `json:"expires_at"`
	// ExpiresAtRaw is expires_at as sent (one cleaned line) when it is
	// present but could not be read as a time, so that the caller can warn
	// instead of failing the whole call; empty otherwise.
	ExpiresAtRaw string `json:"-"`
}

// UnmarshalJSON decodes a token object on its own; without the company's
// time zone, an expiry without one is read in UTC.
func (t *TokenInfo) UnmarshalJSON(b []byte) error {
	var w tokenWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*t = *w.info("")
	return nil
}

// tokenWire is the token object as sent, its expiry still text until the
// company's time zone (which may come later in the object) is known.
type tokenWire struct {
	tokenFields
	ExpiresAt expiry `json:"expires_at"`
}

// tokenFields is TokenInfo without its methods.
type tokenFields TokenInfo

func (w *tokenWire) info(timezone string) *TokenInfo {
	t := TokenInfo(w.tokenFields)
	t.ExpiresAt, t.ExpiresAtRaw = w.ExpiresAt.read(timezone)
	return &t
}

// expiry is a token's expires_at as sent: absent, null and "" mean no
// expiry; anything else is kept as text until it can be read.
type expiry struct{ text string }

// UnmarshalJSON keeps a JSON string's content, or the text of any other
// value (which read will not take for a time).
func (e *expiry) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	var s string
	switch {
	case bytes.Equal(b, []byte("null")):
	case json.Unmarshal(b, &s) == nil:
	default:
		s = string(b)
	}
	e.text = s
	return nil
}

// expiryLayouts are the forms without a zone an expiry may take: Laravel
// serialises a datetime as "Y-m-d H:i:s" and a date as "Y-m-d".
var expiryLayouts = []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"}

// read returns the expiry as a time, or nil and the cleaned text when it
// is no time this package can read. A form without a zone is read in the
// company's time zone when that is a valid IANA name, else in UTC.
func (e expiry) read(timezone string) (*time.Time, string) {
	s := strings.TrimSpace(e.text)
	if s == "" {
		return nil, ""
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return &t, ""
	}
	loc := time.UTC
	if timezone != "" && timezone != "Local" {
		if l, err := time.LoadLocation(timezone); err == nil {
			loc = l
		}
	}
	for _, layout := range expiryLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return &t, ""
		}
	}
	return nil, cleanMessage(s)
}

// flag is is_active as a Laravel API may send it: a JSON boolean, 1 or 0
// (a tinyint column), or either as a string. null is false, as a missing
// field is.
type flag bool

// UnmarshalJSON accepts true, false, 1, 0, "1", "0", "true", "false" and
// null.
func (f *flag) UnmarshalJSON(b []byte) error {
	switch string(bytes.TrimSpace(b)) {
	case "true", "1", `"1"`, `"true"`:
		*f = true
	case "false", "0", `"0"`, `"false"`, "null":
		*f = false
	default:
		return fmt.Errorf("is_active must be true, false, 1 or 0, got %q", truncate(string(b), 20))
	}
	return nil
}

// optionalQuantity is a minimum quantity that may be unset: null, an
// absent field and "" (an empty form field as Laravel stores it) are all
// nil, never zero.
type optionalQuantity struct{ q *Quantity }

// UnmarshalJSON accepts null, "" or a Quantity.
func (o *optionalQuantity) UnmarshalJSON(b []byte) error {
	switch string(bytes.TrimSpace(b)) {
	case "null", `""`:
		o.q = nil
		return nil
	}
	var q Quantity
	if err := q.UnmarshalJSON(b); err != nil {
		return err
	}
	o.q = &q
	return nil
}

// Category is one row of GET /item-categories.
type Category struct {
	ID          ID     `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Active      bool   `json:"is_active"`
}

// UnmarshalJSON decodes a category with a tolerant is_active.
func (c *Category) UnmarshalJSON(b []byte) error {
	type plain Category // without this method
	var v struct {
		plain
		Active flag `json:"is_active"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*c = Category(v.plain)
	c.Active = bool(v.Active)
	return nil
}

// Locator is one row of GET /locators (a warehouse).
type Locator struct {
	ID     ID     `json:"id"`
	Code   string `json:"code"`
	Name   string `json:"name"`
	Active bool   `json:"is_active"`
}

// UnmarshalJSON decodes a locator with a tolerant is_active.
func (l *Locator) UnmarshalJSON(b []byte) error {
	type plain Locator // without this method
	var v struct {
		plain
		Active flag `json:"is_active"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*l = Locator(v.plain)
	l.Active = bool(v.Active)
	return nil
}

// Item is one row of GET /items, or the data of GET /items/{id}.
type Item struct {
	ID           ID     `json:"id"`
	Code         string `json:"code"`
	Name         string `json:"name"`
	UPC          string `json:"upc"`
	Description  string `json:"description"`
	CategoryID   ID     `json:"category_id"`
	CategoryName string `json:"category_name"`
	UOM          string `json:"uom"`
	// MinimumQty is the item master's Minimum Quantity (Union mode); nil
	// when not set, never zero for "not set".
	MinimumQty *Quantity `json:"minimum_qty"`
	Active     bool      `json:"is_active"`
}

// UnmarshalJSON decodes an item with a tolerant is_active and an
// optional minimum_qty.
func (it *Item) UnmarshalJSON(b []byte) error {
	var w itemWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*it = w.value()
	return nil
}

// itemWire is an item as sent. A list is decoded into itemWire rows in one
// pass (decodeList), which Item.UnmarshalJSON, called per row, would make
// two.
type itemWire struct {
	itemFields
	MinimumQty optionalQuantity `json:"minimum_qty"`
	Active     flag             `json:"is_active"`
}

// itemFields is Item without its methods.
type itemFields Item

func (w itemWire) value() Item {
	it := Item(w.itemFields)
	it.MinimumQty, it.Active = w.MinimumQty.q, bool(w.Active)
	return it
}

// StockRow is one row of GET /stock/summary: one (locator, item) pair.
type StockRow struct {
	LocatorID   ID       `json:"locator_id"`
	LocatorName string   `json:"locator_name"`
	ItemID      ID       `json:"item_id"`
	ItemCode    string   `json:"item_code"`
	ItemName    string   `json:"item_name"`
	CategoryID  ID       `json:"category_id"`
	UOM         string   `json:"uom"`
	OpeningQty  Quantity `json:"opening_qty"`
	InQty       Quantity `json:"in_qty"`
	OutQty      Quantity `json:"out_qty"`
	// EndingQty with date_to = the company's today is the stock on hand.
	EndingQty Quantity `json:"ending_qty"`
	// MinimumQty is the per-warehouse minimum (Per Warehouse mode); nil when
	// not set.
	MinimumQty *Quantity `json:"minimum_qty"`
}

// UnmarshalJSON decodes a stock row with an optional minimum_qty.
func (r *StockRow) UnmarshalJSON(b []byte) error {
	var w stockRowWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = w.value()
	return nil
}

// stockRowWire is a stock row as sent, for decoding a page in one pass
// (see itemWire).
type stockRowWire struct {
	stockRowFields
	MinimumQty optionalQuantity `json:"minimum_qty"`
}

// stockRowFields is StockRow without its methods.
type stockRowFields StockRow

func (w stockRowWire) value() StockRow {
	r := StockRow(w.stockRowFields)
	r.MinimumQty = w.MinimumQty.q
	return r
}

// Movement is one row of GET /stock/detail.
type Movement struct {
	ID              ID       `json:"id"`
	Date            string   `json:"date"`
	DocumentNo      string   `json:"document_no"`
	TransactionType string   `json:"transaction_type"`
	LocatorID       ID       `json:"locator_id"`
	ItemID          ID       `json:"item_id"`
	QtyIn           Quantity `json:"qty_in"`
	QtyOut          Quantity `json:"qty_out"`
	Balance         Quantity `json:"balance"`
}

// ID is an opaque public ID. The API documents IDs as strings; a JSON number
// is accepted and kept as its decimal text.
type ID string

// UnmarshalJSON accepts a JSON string, a JSON number or null (empty ID).
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return fmt.Errorf("empty ID")
	case b[0] == '"':
		if s, ok := plainString(b); ok {
			*id = ID(s)
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("ID: %w", err)
		}
		*id = ID(s)
		return nil
	case bytes.Equal(b, []byte("null")):
		*id = ""
		return nil
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("ID must be a string or a number, got %q", truncate(string(b), 20))
		}
		*id = ID(n.String())
		return nil
	}
}

// Quantity is a stock quantity. The API may send a JSON number or a decimal
// string ("12.5000"); both decode to the same float64.
type Quantity float64

// UnmarshalJSON accepts a JSON number or a string holding a decimal number.
// null is rejected here; optional quantities are *Quantity fields, which
// encoding/json leaves nil for null or a missing field.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return fmt.Errorf("empty quantity")
	}
	var s string
	if b[0] == '"' {
		var ok bool
		if s, ok = plainString(b); !ok {
			if err := json.Unmarshal(b, &s); err != nil {
				return fmt.Errorf("quantity: %w", err)
			}
		}
	} else if s = string(b); s == "null" {
		return fmt.Errorf("quantity is null")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || s == "" || !isDecimal(s) {
		return fmt.Errorf("quantity %q is not a decimal number", truncate(s, 32))
	}
	*q = Quantity(f)
	return nil
}

// isDecimal reports whether s is a plain decimal number: an optional sign,
// digits and at most one point, optionally an exponent. It rejects what
// strconv.ParseFloat would also accept but the API never sends (Inf, NaN,
// hexadecimal, underscores).
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits, dot := 0, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		case (c == 'e' || c == 'E') && digits > 0:
			i++
			if i < len(s) && (s[i] == '-' || s[i] == '+') {
				i++
			}
			if i == len(s) {
				return false
			}
			for ; i < len(s); i++ {
				if s[i] < '0' || s[i] > '9' {
					return false
				}
			}
			return true
		default:
			return false
		}
	}
	return digits > 0
}

// plainString returns the content of the JSON string literal b when it
// holds no escape and no byte that needs checking (control or non-ASCII),
// so that the common case of IDs and decimal strings skips a second JSON
// decoder; otherwise ok is false and the caller decodes b fully.
func plainString(b []byte) (s string, ok bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	in := b[1 : len(b)-1]
	for _, c := range in {
		if c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
			return "", false
		}
	}
	return string(in), true
}

// truncate cuts s to at most n bytes, on a character boundary, marking
// the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
