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
	"time"
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
// {"message":…}.
type errorBody struct {
	Status  string `json:"status"`
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

// TokenInfo describes the calling token when /meta/company reports it.
type TokenInfo struct {
	Name   string   `json:"name"`
	Prefix string   `json:"prefix"`
	Scopes []string `json:"scopes"`
	// ExpiresAt is nil when the token never expires.
	ExpiresAt *time.Time `json:"expires_at"`
}

// Category is one row of GET /item-categories.
type Category struct {
	ID          ID     `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Active      bool   `json:"is_active"`
}

// Locator is one row of GET /locators (a warehouse).
type Locator struct {
	ID     ID     `json:"id"`
	Code   string `json:"code"`
	Name   string `json:"name"`
	Active bool   `json:"is_active"`
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
			return fmt.Errorf("ID must be a string or a number, got %.20s", b)
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

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
