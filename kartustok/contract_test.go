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

// Contract tests: the client against the simulated company, for every
// endpoint, filter and error class of API.md.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

// loopback starts the simulator on loopback and returns a client for it.
func loopback(t *testing.T, cfg kartustoktest.Config, spec kartustoktest.TokenSpec, opts ...kartustok.Option) (*kartustok.Client, *kartustoktest.Server, *kartustok.Recorder, string) {
	t.Helper()
	co := kartustoktest.NewCompany(cfg)
	srv := kartustoktest.NewServer(co)
	t.Cleanup(srv.Close)
	tok := co.AddToken(spec)
	obs := &kartustok.Recorder{}
	c, err := kartustok.New(srv.URL, kartustok.StaticToken(tok), append([]kartustok.Option{kartustok.WithObserver(obs), kartustok.WithCautiousStart(false)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv, obs, tok
}

// bubble returns a client for an in-process simulator; call it inside a
// synctest bubble.
func bubble(t *testing.T, srvOpts []kartustoktest.Option, spec kartustoktest.TokenSpec, opts ...kartustok.Option) (*kartustok.Client, *kartustoktest.Server, *kartustok.Recorder, string) {
	t.Helper()
	co := kartustoktest.NewCompany(kartustoktest.Config{Items: 120})
	srv := kartustoktest.NewHandlerServer(co, srvOpts...)
	tok := co.AddToken(spec)
	obs := &kartustok.Recorder{}
	opts = append([]kartustok.Option{kartustok.WithObserver(obs), kartustok.WithTransport(kartustok.InProcess(srv.Handler())), kartustok.WithCautiousStart(false)}, opts...)
	c, err := kartustok.New("https://sinarjaya.kartustok.com", kartustok.StaticToken(tok), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv, obs, tok
}

func ids[T any](rows []T, id func(T) kartustok.ID) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = string(id(r))
	}
	return out
}

func TestContractEveryEndpoint(t *testing.T) {
	c, srv, obs, tok := loopback(t, kartustoktest.Config{Items: 250, Locators: 4, EmitAllMinimums: true, NumberQuantities: 0.5}, kartustoktest.TokenSpec{ExpiresAt: time.Now().Add(90 * 24 * time.Hour)})
	co := srv.Company()
	ctx := t.Context()

	h, err := c.Health(ctx)
	if err != nil || h.Status != "ok" || h.Time == "" {
		t.Errorf("Health() = %+v, %v", h, err)
	}

	meta, err := c.Company(ctx)
	if err != nil || string(meta.ID) != co.ID() || meta.Timezone != "Asia/Jakarta" || meta.MinimumStockMode != kartustok.MinimumStockPerWarehouse {
		t.Errorf("Company() = %+v, %v", meta, err)
	}
	if meta.Token == nil || meta.Token.Prefix != kartustoktest.TokenPrefix(tok) || len(meta.Token.Scopes) != 5 ||
		meta.Token.ExpiresAt == nil || time.Until(*meta.Token.ExpiresAt) < 89*24*time.Hour {
		t.Errorf("Company().Token = %+v", meta.Token)
	}

	cats, _, err := c.ItemCategories(ctx)
	if err != nil || !slices.Equal(ids(cats, func(c kartustok.Category) kartustok.ID { return c.ID }), co.CategoryIDs()) {
		t.Errorf("ItemCategories() = %v, %v", cats, err)
	}
	for _, ct := range cats {
		if want, _ := co.Category(string(ct.ID)); want.Name != ct.Name || want.Active != ct.Active || want.Description != ct.Description {
			t.Errorf("category %+v, want %+v", ct, want)
		}
	}

	locs, _, err := c.Locators(ctx)
	if err != nil || !slices.Equal(ids(locs, func(l kartustok.Locator) kartustok.ID { return l.ID }), co.LocatorIDs()) {
		t.Errorf("Locators() = %v, %v", locs, err)
	}
	for _, l := range locs {
		if want, _ := co.Locator(string(l.ID)); want.Name != l.Name || want.Code != l.Code || want.Active != l.Active {
			t.Errorf("locator %+v, want %+v", l, want)
		}
	}

	items, pages, err := c.Items(ctx, kartustok.ItemFilter{})
	if err != nil || pages.Pages != 3 || !slices.Equal(ids(items, func(i kartustok.Item) kartustok.ID { return i.ID }), co.ItemIDs()) {
		t.Fatalf("Items() = %d items, %d pages, %v", len(items), pages.Pages, err)
	}
	for _, it := range items {
		want, _ := co.Item(string(it.ID))
		if want.Name != it.Name || want.Code != it.Code || want.UPC != it.UPC || want.Description != it.Description ||
			want.UOM != it.UOM || want.CategoryID != string(it.CategoryID) || want.Active != it.Active {
			t.Errorf("item %+v, want %+v", it, want)
		}
		if m, ok := co.ItemMinimum(string(it.ID)); ok != (it.MinimumQty != nil) || ok && float64(*it.MinimumQty) != m {
			t.Errorf("item %s minimum %v, want %v (%v)", it.ID, it.MinimumQty, m, ok)
		}
	}

	one, err := c.Item(ctx, items[17].ID)
	if err != nil || one.ID != items[17].ID || one.Name != items[17].Name {
		t.Errorf("Item() = %+v, %v", one, err)
	}

	rows, pages, err := c.StockSummary(ctx, kartustok.StockSummaryFilter{})
	if err != nil || len(rows) != len(co.StockPairs()) || pages.Pages != (len(rows)+99)/100 {
		t.Fatalf("StockSummary() = %d rows, %d pages, %v; want %d rows", len(rows), pages.Pages, err, len(co.StockPairs()))
	}
	for _, r := range rows {
		if got, want := float64(r.EndingQty), co.OnHand(string(r.LocatorID), string(r.ItemID)); got != want {
			t.Errorf("%s/%s ending %v, on hand %v", r.LocatorID, r.ItemID, got, want)
		}
		if m, ok := co.Minimum(string(r.LocatorID), string(r.ItemID)); ok != (r.MinimumQty != nil) || ok && float64(*r.MinimumQty) != m {
			t.Errorf("%s/%s minimum %v, want %v (%v)", r.LocatorID, r.ItemID, r.MinimumQty, m, ok)
		}
		if r.InQty == nil || r.OutQty == nil {
			t.Errorf("%s/%s: no in_qty or out_qty", r.LocatorID, r.ItemID)
		} else if r.OpeningQty+*r.InQty-*r.OutQty != r.EndingQty {
			t.Errorf("%s/%s: opening %v + in %v - out %v != ending %v", r.LocatorID, r.ItemID, r.OpeningQty, *r.InQty, *r.OutQty, r.EndingQty)
		}
	}

	co.Step(200)
	var movements int
	for _, l := range co.LocatorIDs() {
		mv, _, err := c.StockDetail(ctx, kartustok.StockDetailFilter{LocatorID: kartustok.ID(l)})
		if err != nil {
			t.Fatal(err)
		}
		movements += len(mv)
		for _, m := range mv {
			if string(m.LocatorID) != l || !slices.Contains([]string{"receipt", "issue", "move", "adjustment"}, m.TransactionType) || m.DocumentNo == "" {
				t.Errorf("movement %+v", m)
			}
		}
	}
	if movements == 0 {
		t.Error("no movements after 200 documents")
	}

	// Every paginated request asked for 100 rows; every request carried
	// the token; the observer saw templates only.
	for _, r := range srv.Requests() {
		if (r.Endpoint == kartustok.EndpointItems || strings.HasPrefix(r.Endpoint, "/stock/")) && !strings.Contains(r.Query, "per_page=100") {
			t.Errorf("request %s?%s without per_page=100", r.Endpoint, r.Query)
		}
		if r.Token != tok || r.Status != 200 {
			t.Errorf("request %+v", r)
		}
	}
	for _, r := range obs.Requests() {
		if kartustok.ScopeFor(r.Endpoint) == "" || r.Status != 200 || r.Kind != "" {
			t.Errorf("observed %+v", r)
		}
	}
	if len(obs.Requests()) != len(srv.Requests()) {
		t.Errorf("observed %d requests, the server logged %d", len(obs.Requests()), len(srv.Requests()))
	}
	if rl := c.RateLimit(); !rl.Known || rl.Limit != 120 || rl.Remaining != 120-len(srv.Requests()) {
		t.Errorf("RateLimit() = %+v after %d requests", rl, len(srv.Requests()))
	}
}

func TestContractFilters(t *testing.T) {
	c, srv, _, _ := loopback(t, kartustoktest.Config{Items: 180, MinimumStockMode: kartustok.MinimumStockUnion}, kartustoktest.TokenSpec{})
	co := srv.Company()
	ctx := t.Context()
	all, _, err := c.Items(ctx, kartustok.ItemFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var withMin int
	for _, it := range all {
		if m, ok := co.ItemMinimum(string(it.ID)); ok != (it.MinimumQty != nil) || ok && float64(*it.MinimumQty) != m {
			t.Errorf("union item %s minimum %v, want %v (%v)", it.ID, it.MinimumQty, m, ok)
		} else if ok {
			withMin++
		}
	}
	if withMin == 0 {
		t.Error("no union minimum in the company")
	}

	yes, no := true, false
	active, _, err := c.Items(ctx, kartustok.ItemFilter{Active: &yes})
	inactive, _, err2 := c.Items(ctx, kartustok.ItemFilter{Active: &no})
	if err != nil || err2 != nil || len(active)+len(inactive) != len(all) || len(active) == 0 {
		t.Errorf("is_active: %d + %d of %d, %v, %v", len(active), len(inactive), len(all), err, err2)
	}
	for _, it := range active {
		if !it.Active {
			t.Errorf("inactive item %s in is_active=1", it.ID)
		}
	}
	for _, it := range inactive {
		if it.Active {
			t.Errorf("active item %s in is_active=0", it.ID)
		}
	}

	cat := all[0].CategoryID
	inCat, _, err := c.Items(ctx, kartustok.ItemFilter{CategoryID: cat})
	if err != nil || len(inCat) == 0 {
		t.Fatalf("category_id: %d, %v", len(inCat), err)
	}
	for _, it := range inCat {
		if it.CategoryID != cat {
			t.Errorf("item %s of category %s in category_id=%s", it.ID, it.CategoryID, cat)
		}
	}

	byCode, _, err := c.Items(ctx, kartustok.ItemFilter{Query: all[42].Code})
	if err != nil || !slices.ContainsFunc(byCode, func(it kartustok.Item) bool { return it.ID == all[42].ID }) {
		t.Errorf("q=%s: %d items, %v", all[42].Code, len(byCode), err)
	}

	loc := kartustok.ID(co.LocatorIDs()[1])
	rows, _, err := c.StockSummary(ctx, kartustok.StockSummaryFilter{LocatorID: loc})
	if err != nil || len(rows) == 0 {
		t.Fatalf("locator_id: %d rows, %v", len(rows), err)
	}
	for _, r := range rows {
		if r.LocatorID != loc {
			t.Errorf("row of %s in locator_id=%s", r.LocatorID, loc)
		}
		if r.MinimumQty != nil {
			t.Errorf("union mode, yet %s/%s has a per-warehouse minimum %v", r.LocatorID, r.ItemID, *r.MinimumQty)
		}
	}
	item := rows[0].ItemID
	rows, _, err = c.StockSummary(ctx, kartustok.StockSummaryFilter{ItemID: item, CategoryID: all[0].CategoryID})
	for _, r := range rows {
		if r.ItemID != item {
			t.Errorf("row of %s in item_id=%s", r.ItemID, item)
		}
	}
	if err != nil {
		t.Error(err)
	}
	today := co.Today()
	rows, _, err = c.StockSummary(ctx, kartustok.StockSummaryFilter{LocatorID: loc, DateFrom: "2020-01-01", DateTo: today})
	if err != nil || len(rows) == 0 {
		t.Errorf("date range: %d rows, %v", len(rows), err)
	}

	co.Step(300)
	for _, typ := range []string{"receipt", "issue", "move", "adjustment"} {
		mv, _, err := c.StockDetail(ctx, kartustok.StockDetailFilter{LocatorID: loc, TransactionType: typ, DateFrom: today, DateTo: today})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mv {
			if m.TransactionType != typ || m.LocatorID != loc || m.Date != today {
				t.Errorf("movement %+v in transaction_type=%s", m, typ)
			}
		}
	}
	mv, _, err := c.StockDetail(ctx, kartustok.StockDetailFilter{LocatorID: loc, ItemID: item})
	for _, m := range mv {
		if m.ItemID != item {
			t.Errorf("movement of %s in item_id=%s", m.ItemID, item)
		}
	}
	if err != nil {
		t.Error(err)
	}
}

// wantError checks an error's class, and that the token is not in it.
func wantError(t *testing.T, err error, kind kartustok.ErrorKind, status int, msg, tok string) {
	t.Helper()
	e := apiError(t, err)
	if e.Kind != kind || e.Status != status || !strings.Contains(e.Message, msg) {
		t.Errorf("got %s (%+v), want %s %d %q", err, e, kind, status, msg)
	}
	if strings.Contains(err.Error(), tok) {
		t.Errorf("error shows the token: %v", err)
	}
}

// apiError returns err as the client's *kartustok.Error, and ends the test
// if it is not one.
func apiError(t *testing.T, err error) *kartustok.Error {
	t.Helper()
	e, ok := errors.AsType[*kartustok.Error](err)
	if !ok {
		t.Fatalf("error %v is not a *kartustok.Error", err)
	}
	return e
}

func TestContractAuthErrors(t *testing.T) {
	co := kartustoktest.NewCompany(kartustoktest.Config{Items: 20})
	srv := kartustoktest.NewServer(co)
	t.Cleanup(srv.Close)
	client := func(tok string) *kartustok.Client {
		c, err := kartustok.New(srv.URL, kartustok.StaticToken(tok))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := t.Context()

	revoked := co.AddToken(kartustoktest.TokenSpec{})
	co.RevokeToken(revoked)
	_, err := client(revoked).Health(ctx)
	wantError(t, err, kartustok.KindUnauthorized, 401, "Token has been revoked", revoked)

	expired := co.AddToken(kartustoktest.TokenSpec{ExpiresAt: time.Now().Add(-time.Hour)})
	_, err = client(expired).Health(ctx)
	wantError(t, err, kartustok.KindUnauthorized, 401, "Token has expired", expired)

	_, err = client("ks_not_a_token").Company(ctx)
	wantError(t, err, kartustok.KindUnauthorized, 401, "Unauthenticated.", "ks_not_a_token")

	metaOnly := co.AddToken(kartustoktest.TokenSpec{Scopes: []string{kartustok.ScopeMeta}})
	_, _, err = client(metaOnly).StockSummary(ctx, kartustok.StockSummaryFilter{})
	wantError(t, err, kartustok.KindForbidden, 403, "stock.read", metaOnly)
	if apiError(t, err).Forbidden != kartustok.ForbiddenScope || !strings.Contains(err.Error(), "403 forbidden (missing scope)") {
		t.Errorf("scope 403: %v", err)
	}

	elsewhere := co.AddToken(kartustoktest.TokenSpec{AllowedIPs: []string{"203.0.113.7"}})
	_, _, err = client(elsewhere).Locators(ctx)
	wantError(t, err, kartustok.KindForbidden, 403, "IP", elsewhere)
	if apiError(t, err).Forbidden != kartustok.ForbiddenIP {
		t.Errorf("IP 403: %v", err)
	}
	here := co.AddToken(kartustoktest.TokenSpec{AllowedIPs: []string{"127.0.0.0/8"}})
	if _, _, err := client(here).Locators(ctx); err != nil {
		t.Errorf("allowed IP: %v", err)
	}

	good := co.AddToken(kartustoktest.TokenSpec{})
	_, err = client(good).Item(ctx, "ZZZZZZ")
	wantError(t, err, kartustok.KindNotFound, 404, "not found", good)
	_, err = client(good).Item(ctx, "not-an-id")
	wantError(t, err, kartustok.KindNotFound, 404, "Invalid public ID", good)

	// A wrong company host answers 404 Invalid URL for every path.
	wrongHost, err := kartustok.New(strings.TrimSuffix(srv.URL, "/public/v1")+"/other-company/public/v1", kartustok.StaticToken(good))
	if err != nil {
		t.Fatal(err)
	}
	_, err = wrongHost.Health(ctx)
	wantError(t, err, kartustok.KindNotFound, 404, "Invalid URL", good)

	_, _, err = client(good).StockDetail(ctx, kartustok.StockDetailFilter{LocatorID: kartustok.ID(co.LocatorIDs()[0]), TransactionType: "theft"})
	wantError(t, err, kartustok.KindInvalidResponse, 422, "transaction type", good)
	_, _, err = client(good).StockSummary(ctx, kartustok.StockSummaryFilter{DateFrom: "27/11/2026"})
	wantError(t, err, kartustok.KindInvalidResponse, 422, "date", good)

	// None of these is retried.
	if n := len(srv.Requests()); n != 11 {
		t.Errorf("%d requests for 11 calls", n)
	}
}

// TestContractThrottle runs against the simulator's Laravel throttle: a
// client whose budget is below the limit is never throttled; one that is
// given a budget above it gets a 429, pauses every call until the window
// ends, then goes on.
func TestContractThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, srv, _, _ := bubble(t, []kartustoktest.Option{kartustoktest.WithRateLimit(10, time.Minute)}, kartustoktest.TokenSpec{},
			kartustok.WithBudget(8, time.Minute))
		start := time.Now()
		for range 40 {
			if _, err := c.Health(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if n := srv.Count("", 429); n != 0 || srv.MaxInWindow(time.Minute) > 8 {
			t.Errorf("%d 429s, %d requests in a minute, budget 8", n, srv.MaxInWindow(time.Minute))
		}
		if d := time.Since(start); d < 4*time.Minute {
			t.Errorf("40 requests at 8 per minute took %s", d)
		}
	})
	// A budget above the server's limit: the server's own count, in every
	// answer, holds the client back before it gets a 429.
	synctest.Test(t, func(t *testing.T) {
		c, srv, _, _ := bubble(t, []kartustoktest.Option{kartustoktest.WithRateLimit(10, time.Minute)}, kartustoktest.TokenSpec{},
			kartustok.WithBudget(50, time.Minute))
		for range 12 {
			if _, err := c.Health(t.Context()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
		}
		reqs := srv.Requests()
		if srv.Count("", 429) != 0 || len(reqs) != 12 {
			t.Fatalf("%d requests, %d 429s", len(reqs), srv.Count("", 429))
		}
		// The server's window started at the first request; the 11th
		// waits for it to end.
		if gap := reqs[10].At.Sub(reqs[0].At); gap < time.Minute {
			t.Errorf("the 11th request went out %s after the first, inside the server's full window", gap)
		}
		if n := srv.MaxInWindow(time.Minute); n > 10 {
			t.Errorf("%d requests in a minute, server limit 10", n)
		}
	})
}

func TestContractFaults(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fault    kartustoktest.Fault
		opts     []kartustok.Option
		kind     kartustok.ErrorKind
		status   int
		msg      string
		attempts int
	}{
		{"500 once, then fine", kartustoktest.Fault{Status: 500, Times: 1}, nil, "", 200, "", 2},
		{"503 storm", kartustoktest.Fault{Status: 503}, nil, kartustok.KindServerError, 503, "Service Unavailable", 3},
		{"HTML 502", kartustoktest.Fault{HTML502: true}, nil, kartustok.KindServerError, 502, `HTML page "502 Bad Gateway"`, 3},
		{"invalid JSON", kartustoktest.Fault{InvalidJSON: true}, nil, kartustok.KindInvalidResponse, 200, "", 1},
		{"oversized body", kartustoktest.Fault{OversizeBytes: 1 << 20}, []kartustok.Option{kartustok.WithMaxBodyBytes(256 << 10)}, kartustok.KindInvalidResponse, 200, "body larger than the 262144-byte limit", 1},
		{"HTML content type", kartustoktest.Fault{ContentType: "text/html; charset=UTF-8"}, nil, kartustok.KindInvalidResponse, 200, `content type "text/html; charset=UTF-8" instead of JSON`, 1},
		{"429 storm", kartustoktest.Fault{RateLimited: true, RetryAfter: 30 * time.Second}, nil, kartustok.KindRateLimited, 429, "Too Many Attempts.", 1},
		{"latency beyond the timeout", kartustoktest.Fault{Latency: 30 * time.Second}, []kartustok.Option{kartustok.WithTimeout(5 * time.Second)}, kartustok.KindTimeout, 0, "", 3},
		{"latency within the timeout", kartustoktest.Fault{Latency: 3 * time.Second}, nil, "", 200, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, srv, obs, tok := bubble(t, nil, kartustoktest.TokenSpec{}, tc.opts...)
				srv.SetFault(kartustok.EndpointItems, tc.fault)
				items, _, err := c.Items(t.Context(), kartustok.ItemFilter{})
				if tc.kind == "" {
					if err != nil || len(items) != 120 {
						t.Errorf("got %d items, %v", len(items), err)
					}
				} else {
					wantError(t, err, tc.kind, tc.status, tc.msg, tok)
					if e := apiError(t, err); tc.kind == kartustok.KindRateLimited && e.RetryAfter != 30*time.Second {
						t.Errorf("RetryAfter %s", e.RetryAfter)
					}
				}
				reqs := obs.Requests()
				if tc.kind == "" {
					reqs = reqs[:len(reqs)-1] // the second page
				}
				if len(reqs) != tc.attempts {
					t.Errorf("%d attempts, want %d: %+v", len(reqs), tc.attempts, reqs)
				}
				for i, r := range reqs {
					if r.Attempt != i+1 || r.Endpoint != kartustok.EndpointItems {
						t.Errorf("observed %+v", r)
					}
				}
			})
		})
	}
}

func TestContractEndlessPagination(t *testing.T) {
	c, srv, _, tok := loopback(t, kartustoktest.Config{Items: 30}, kartustoktest.TokenSpec{}, kartustok.WithMaxPages(5))
	srv.SetFault(kartustok.EndpointStockSummary, kartustoktest.Fault{EndlessPages: true})
	rows, pages, err := c.StockSummary(t.Context(), kartustok.StockSummaryFilter{})
	// The claimed meta.total alone shows the listing cannot be read: one
	// request, not a walk to the cap.
	wantError(t, err, kartustok.KindInvalidResponse, 0, "more than the cap of 5", tok)
	if rows != nil || pages.Requests != 1 || srv.Count(kartustok.EndpointStockSummary, 0) != 1 {
		t.Errorf("%d rows, %d requests, %d requests served", len(rows), pages.Requests, srv.Count(kartustok.EndpointStockSummary, 0))
	}
}

func TestContractTruncatedBody(t *testing.T) {
	// Over a real socket, a body cut short of its Content-Length is a
	// network failure, retried.
	c, srv, _, tok := loopback(t, kartustoktest.Config{Items: 30}, kartustoktest.TokenSpec{}, kartustok.WithMaxRetries(0))
	srv.SetFault(kartustok.EndpointLocators, kartustoktest.Fault{Truncate: true})
	_, _, err := c.Locators(t.Context())
	wantError(t, err, kartustok.KindNetwork, 200, "", tok)
	if !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), "EOF") {
		t.Errorf("truncated body: %v", err)
	}
}

// TestContractBudgetUnderLoad: many goroutines calling the endpoints for
// half a simulated hour, with 5xx faults forcing retries, never get a 429
// from the simulator's throttle, and the simulator never sees more than
// the budget in any window.
func TestContractBudgetUnderLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, srv, obs, _ := bubble(t, nil, kartustoktest.TokenSpec{})
		srv.SetFault(kartustok.EndpointLocators, kartustoktest.Fault{Status: 503})
		end := time.Now().Add(30 * time.Minute)
		var wg sync.WaitGroup
		calls := []func(ctx context.Context) error{
			func(ctx context.Context) error { _, err := c.Health(ctx); return err },
			func(ctx context.Context) error { _, _, err := c.Items(ctx, kartustok.ItemFilter{}); return err },
			func(ctx context.Context) error {
				_, _, err := c.StockSummary(ctx, kartustok.StockSummaryFilter{})
				return err
			},
			func(ctx context.Context) error { _, _, err := c.Locators(ctx); return err }, // always 503, retried
		}
		for g := range 8 {
			wg.Go(func() {
				for i := 0; time.Now().Before(end); i++ {
					err := calls[(g+i)%len(calls)](t.Context())
					if err != nil && kartustok.KindOf(err) != kartustok.KindServerError {
						t.Errorf("call failed: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
		budget, window := c.Budget()
		worst := srv.MaxInWindow(window)
		t.Logf("30 min, 8 goroutines: %d requests, %d retries, most in any %s: %d (budget %d), 429s: %d",
			len(srv.Requests()), countRetries(obs.Requests()), window, worst, budget, srv.Count("", 429))
		if worst > budget || srv.Count("", 429) != 0 {
			t.Errorf("%d requests in one window (budget %d), %d 429s", worst, budget, srv.Count("", 429))
		}
		if worst < budget {
			t.Errorf("the load never used the whole budget (%d < %d)", worst, budget)
		}
	})
}

func countRetries(reqs []kartustok.RequestInfo) int {
	n := 0
	for _, r := range reqs {
		if r.Attempt > 1 {
			n++
		}
	}
	return n
}
