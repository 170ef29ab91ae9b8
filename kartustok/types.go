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
	"errors"
	"fmt"
	"math"
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

// TransactionTypes are the transaction types, in the API's order.
var TransactionTypes = [...]string{TransactionReceipt, TransactionIssue, TransactionMove, TransactionAdjustment}

// envelope is the success envelope {"status":"success","data":…,"meta":…},
// decoded with its data in one pass. Data is nil when "data" is missing or
// null; Message is read in case a 2xx carries an error body.
type envelope[T any] struct {
	Status  string    `json:"status"`
	Message string    `json:"message"`
	Data    *T        `json:"data"`
	Meta    *PageMeta `json:"meta"`
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

// PageMeta is the pagination block of a paginated list. A field is nil
// when the server did not send it (or sent null), so that a missing total
// is never taken for a total of 0.
type PageMeta struct {
	CurrentPage *int `json:"current_page"`
	PerPage     *int `json:"per_page"`
	Total       *int `json:"total"`
	LastPage    *int `json:"last_page"`
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

// cutLabels cuts the company's texts, which become label values, to
// MaxLabelBytes.
func (c *Company) cutLabels(cut *cutter) {
	id := string(c.ID)
	cut.cut(&id)
	c.ID = ID(id)
	for _, s := range []*string{&c.Name, &c.Subdomain, &c.Timezone, &c.MinimumStockMode} {
		cut.cut(s)
	}
	if c.Token != nil {
		cut.cut(&c.Token.Name)
		cut.cut(&c.Token.Prefix)
	}
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

// MaxLabelBytes is the most bytes a text the API sends (a name, code, unit
// or description) keeps: longer ones are cut on a character boundary and
// end in "…". Such texts become label values, and Prometheus refuses a whole
// scrape with a label value over its label_value_length_limit.
const MaxLabelBytes = 256

// MaxIDBytes is the longest ID a row may have. An ID cannot be cut without
// making two rows one, so a row with a longer ID is invalid.
const MaxIDBytes = 256

// cutter cuts texts to MaxLabelBytes and counts the cuts. A nil cutter
// cuts without counting.
type cutter struct{ n int }

func (c *cutter) cut(s *string) {
	if len(*s) <= MaxLabelBytes {
		return
	}
	*s = truncate(*s, MaxLabelBytes-len("…"))
	if c != nil {
		c.n++
	}
}

// rowProblem says why a row cannot be used: which field, and what is wrong
// with it.
type rowProblem struct {
	Field   string
	Problem string
}

func (p *rowProblem) Error() string { return p.Field + ": " + p.Problem }

// checkID reports a required ID that is missing or too long.
func checkID(field string, id ID, required bool) *rowProblem {
	switch {
	case id == "" && required:
		return &rowProblem{Field: field, Problem: "missing or empty"}
	case len(id) > MaxIDBytes:
		return &rowProblem{Field: field, Problem: fmt.Sprintf("longer than %d bytes", MaxIDBytes)}
	}
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
func (c *Category) UnmarshalJSON(b []byte) error { return unmarshalRow[Category, categoryWire](b, c) }

func (c Category) key() rowKey { return rowKey{ID: c.ID} }

// categoryWire is a category as sent.
type categoryWire struct {
	categoryFields
	Active flag `json:"is_active"`
}

// categoryFields is Category without its methods.
type categoryFields Category

func (w categoryWire) value(c *cutter) (Category, *rowProblem) {
	v := Category(w.categoryFields)
	v.Active = bool(w.Active)
	c.cut(&v.Name)
	c.cut(&v.Description)
	return v, checkID("id", v.ID, true)
}

// Locator is one row of GET /locators (a warehouse).
type Locator struct {
	ID     ID     `json:"id"`
	Code   string `json:"code"`
	Name   string `json:"name"`
	Active bool   `json:"is_active"`
}

// UnmarshalJSON decodes a locator with a tolerant is_active.
func (l *Locator) UnmarshalJSON(b []byte) error { return unmarshalRow[Locator, locatorWire](b, l) }

func (l Locator) key() rowKey { return rowKey{ID: l.ID} }

// locatorWire is a locator as sent.
type locatorWire struct {
	locatorFields
	Active flag `json:"is_active"`
}

// locatorFields is Locator without its methods.
type locatorFields Locator

func (w locatorWire) value(c *cutter) (Locator, *rowProblem) {
	v := Locator(w.locatorFields)
	v.Active = bool(w.Active)
	c.cut(&v.Code)
	c.cut(&v.Name)
	return v, checkID("id", v.ID, true)
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
func (it *Item) UnmarshalJSON(b []byte) error { return unmarshalRow[Item, itemWire](b, it) }

func (it Item) key() rowKey { return rowKey{ID: it.ID} }

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

func (w itemWire) value(c *cutter) (Item, *rowProblem) {
	it := Item(w.itemFields)
	it.MinimumQty, it.Active = w.MinimumQty.q, bool(w.Active)
	for _, s := range []*string{&it.Code, &it.Name, &it.UPC, &it.Description, &it.CategoryName, &it.UOM} {
		c.cut(s)
	}
	if p := checkID("id", it.ID, true); p != nil {
		return it, p
	}
	return it, checkID("category_id", it.CategoryID, false)
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
	// InQty and OutQty are what came in and went out in the date range;
	// nil when not sent (a missing one is never 0).
	InQty  *Quantity `json:"in_qty"`
	OutQty *Quantity `json:"out_qty"`
	// EndingQty with date_to = the company's today is the stock on hand.
	// A row without it is invalid: a missing balance is never 0.
	EndingQty Quantity `json:"ending_qty"`
	// MinimumQty is the per-warehouse minimum (Per Warehouse mode); nil when
	// not set.
	MinimumQty *Quantity `json:"minimum_qty"`
}

// UnmarshalJSON decodes a stock row with an optional minimum_qty.
func (r *StockRow) UnmarshalJSON(b []byte) error { return unmarshalRow[StockRow, stockRowWire](b, r) }

func (r StockRow) key() rowKey { return rowKey{LocatorID: r.LocatorID, ID: r.ItemID} }

// stockRowWire is a stock row as sent, for decoding a page in one pass
// (see itemWire).
type stockRowWire struct {
	stockRowFields
	EndingQty  requiredQuantity `json:"ending_qty"`
	MinimumQty optionalQuantity `json:"minimum_qty"`
	InQty      optionalQuantity `json:"in_qty"`
	OutQty     optionalQuantity `json:"out_qty"`
}

// stockRowFields is StockRow without its methods.
type stockRowFields StockRow

func (w stockRowWire) value(c *cutter) (StockRow, *rowProblem) {
	r := StockRow(w.stockRowFields)
	r.EndingQty, r.MinimumQty = w.EndingQty.q, w.MinimumQty.q
	r.InQty, r.OutQty = w.InQty.q, w.OutQty.q
	for _, s := range []*string{&r.LocatorName, &r.ItemCode, &r.ItemName, &r.UOM} {
		c.cut(s)
	}
	for _, p := range []*rowProblem{
		checkID("item_id", r.ItemID, true),
		checkID("locator_id", r.LocatorID, false),
		checkID("category_id", r.CategoryID, false),
	} {
		if p != nil {
			return r, p
		}
	}
	if !w.EndingQty.set {
		return r, &rowProblem{Field: "ending_qty", Problem: "missing"}
	}
	return r, nil
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

// UnmarshalJSON decodes a movement.
func (m *Movement) UnmarshalJSON(b []byte) error { return unmarshalRow[Movement, movementWire](b, m) }

func (m Movement) key() rowKey { return rowKey{ID: m.ID} }

// movementWire is a movement as sent.
type movementWire struct{ movementFields }

// movementFields is Movement without its methods.
type movementFields Movement

func (w movementWire) value(c *cutter) (Movement, *rowProblem) {
	m := Movement(w.movementFields)
	for _, s := range []*string{&m.Date, &m.DocumentNo, &m.TransactionType} {
		c.cut(s)
	}
	for _, p := range []*rowProblem{
		checkID("id", m.ID, true),
		checkID("locator_id", m.LocatorID, false),
		checkID("item_id", m.ItemID, false),
	} {
		if p != nil {
			return m, p
		}
	}
	return m, nil
}

// requiredQuantity is a Quantity that remembers whether it was sent.
type requiredQuantity struct {
	q   Quantity
	set bool
}

// UnmarshalJSON accepts what Quantity accepts.
func (r *requiredQuantity) UnmarshalJSON(b []byte) error {
	if err := r.q.UnmarshalJSON(b); err != nil {
		return err
	}
	r.set = true
	return nil
}

// rowKey identifies a row of a list: its ID, and for a stock summary row
// the item's ID with the locator's.
type rowKey struct {
	LocatorID ID
	ID        ID
}

// keyWire reads the key fields of a row that failed to decode, as far as
// they can be read.
type keyWire struct {
	ID        json.RawMessage `json:"id"`
	LocatorID json.RawMessage `json:"locator_id"`
	ItemID    json.RawMessage `json:"item_id"`
}

// keyOf reads a key from a row that failed to decode: the fields named by
// the row type's key, each only if it is a usable ID. ok is false when the
// row's own ID cannot be read.
func keyOf[T keyed](raw []byte) (k rowKey, ok bool) {
	var w keyWire
	if json.Unmarshal(raw, &w) != nil {
		return rowKey{}, false
	}
	read := func(b json.RawMessage) (ID, bool) {
		var id ID
		if len(b) == 0 || id.UnmarshalJSON(b) != nil || checkID("", id, true) != nil {
			return "", false
		}
		return id, true
	}
	own := w.ID
	if _, stock := any(*new(T)).(StockRow); stock {
		own = w.ItemID
		k.LocatorID, _ = read(w.LocatorID)
	}
	k.ID, ok = read(own)
	return k, ok
}

// keyed is a row type of a list.
type keyed interface {
	Category | Locator | Item | StockRow | Movement
	key() rowKey
}

// wireRow is the wire form W of a row type T.
type wireRow[T any] interface {
	value(*cutter) (T, *rowProblem)
}

// unmarshalRow decodes one row on its own through its wire form, so that a
// row decoded alone is checked as a row of a list is, a repeated key
// included.
func unmarshalRow[T any, W wireRow[T]](b []byte, out *T) error {
	if r, ok := rowRepeats(b); ok {
		return &rowProblem{Field: r.field(), Problem: r.problem()}
	}
	var w W
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	v, p := w.value(nil)
	if p != nil {
		return p
	}
	*out = v
	return nil
}

// ID is an opaque public ID. The API documents IDs as strings; a JSON number
// is accepted and kept as its decimal text.
type ID string

// UnmarshalJSON accepts a JSON string, a JSON number or null (empty ID).
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return errors.New("empty ID")
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

// MaxQuantity is the largest magnitude of a quantity KartuStok can hold.
// Its quantities are decimals with 4 decimal places ("12.5000"); beyond
// 1e15 such a decimal outgrows 19 significant digits (999999999999999.9999
// is the largest a DECIMAL(19,4) column holds), far above any stock level.
// A larger value, 1e308 say, is a broken or hostile answer, not a balance:
// its row is invalid, never a sample.
const MaxQuantity = 1e15

// maxQuantityText is MaxQuantity as a message shows it: 1e15.
var maxQuantityText = strings.Replace(strconv.FormatFloat(MaxQuantity, 'g', -1, 64), "e+", "e", 1)

// UnmarshalJSON accepts a JSON number or a string holding a decimal number
// of at most MaxQuantity in magnitude. null is rejected here; optional
// quantities are *Quantity fields, which encoding/json leaves nil for null
// or a missing field.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return errors.New("empty quantity")
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
		return errors.New("quantity is null")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || s == "" || !isDecimal(s) {
		return fmt.Errorf("quantity %q is not a decimal number", truncate(s, 32))
	}
	if math.Abs(f) > MaxQuantity {
		return fmt.Errorf("quantity %s is beyond ±%s", truncate(s, 32), maxQuantityText)
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
