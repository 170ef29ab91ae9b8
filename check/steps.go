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

package check

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

// maxClockSkew is how far this machine's clock may be from the API's
// before the check warns: the company's today and the token's days left
// are computed from it.
const maxClockSkew = 5 * time.Minute

// The token-expiry warnings, as the exporter's alerts have them.
const (
	expiryWarning  = 14 * 24 * time.Hour
	expiryCritical = 3 * 24 * time.Hour
)

func (c *checker) health(ctx context.Context) {
	r := c.call(ctx, kartustok.EndpointHealth, nil, true)
	defer c.printResult(r)
	if r.data == nil {
		return
	}
	rep := analyse(kartustok.EndpointHealth, []json.RawMessage{r.data}, true, problem)
	defer c.fields(r.b, rep)
	var h kartustok.Health
	if json.Unmarshal(r.data, &h) != nil {
		return
	}
	if h.Status != "" && h.Status != "ok" {
		c.note(r.b, warning, fmt.Sprintf("the API reports its status as %s", quote(h.Status)), fixServer)
	}
	t, err := time.Parse(time.RFC3339, h.Time)
	if err != nil {
		return
	}
	r.b.add("API time", "%s", t.Format("2006-01-02 15:04:05 -07:00"))
	if skew := t.Sub(c.now()); skew > maxClockSkew || skew < -maxClockSkew {
		c.note(r.b, warning, fmt.Sprintf("this machine's clock differs from the API's by %s", skew.Abs().Round(time.Second)),
			"set this machine's clock right (NTP): the company's today and the token's days left are computed from it")
	}
}

func (c *checker) companyStep(ctx context.Context) {
	r := c.call(ctx, kartustok.EndpointCompany, nil, true)
	defer c.printResult(r)
	if r.data == nil {
		r.b.add("time zone", "not known: the exporter reads stock for the UTC day until /meta/company answers")
		return
	}
	rep := analyse(kartustok.EndpointCompany, []json.RawMessage{r.data}, true, problem)
	defer c.fields(r.b, rep)
	var co kartustok.Company
	if json.Unmarshal(r.data, &co) != nil {
		return // analyse said why
	}
	c.company = &co
	b := r.b
	b.add("company", "%s (subdomain %s, id %s)", quote(co.Name), quote(co.Subdomain), quote(string(co.ID)))

	// The time zone, read as the exporter reads it.
	loc, err := time.LoadLocation(co.Timezone)
	switch {
	case co.Timezone == "":
		// analyse reported it missing.
	case err != nil:
		c.note(b, problem, fmt.Sprintf("timezone %s is no time zone the exporter knows — it reads stock for the UTC day, "+
			"which is the wrong day for part of every day", quote(co.Timezone)), fixShape)
	default:
		c.loc = loc
	}
	today, zone := c.today()
	if c.loc != nil {
		b.add("time zone", "%s", quote(co.Timezone))
		b.add("today there", "%s (%s there)", today, c.now().In(zone).Format("15:04 MST"))
	} else {
		b.add("time zone", "not usable: the exporter reads stock for the UTC day, %s", today)
	}

	switch co.MinimumStockMode {
	case kartustok.MinimumStockPerWarehouse:
		b.add("minimum stock", "per_warehouse: the exporter uses each warehouse's minimum, from /stock/summary")
	case kartustok.MinimumStockUnion:
		b.add("minimum stock", "union: the exporter uses the item master's Minimum Quantity, from /items")
	case kartustok.MinimumStockInactive:
		b.add("minimum stock", "inactive: the exporter exports no minimum from the API (a --stock.minimums-file still applies)")
	case "":
		b.add("minimum stock", "not sent")
		c.note(b, warning, "no minimum_stock_mode: the exporter exports both the per-warehouse and the item minimums the API reports", fixShape)
	default:
		b.add("minimum stock", "%s", quote(co.MinimumStockMode))
		c.note(b, warning, fmt.Sprintf("unknown minimum_stock_mode %s: the exporter exports both the per-warehouse and the item minimums the API reports",
			quote(co.MinimumStockMode)), fixShape)
	}
	c.tokenLines(b, rep, co.Token)
}

// tokenLines reports the token object of /meta/company: its name, scopes
// and expiry, and what of it the exporter ignored or could not read.
func (c *checker) tokenLines(b *block, rep *shapeReport, t *kartustok.TokenInfo) {
	if t == nil {
		b.add("token", "not reported by /meta/company")
		if exp := c.cfg.TokenExpiresAt; !exp.IsZero() {
			c.expiryLine(b, exp, "from --kartustok.token-expires-at")
		} else {
			b.add("token expiry", "not known: if the token has an expiry date, give it with --kartustok.token-expires-at so that the exporter warns before it")
		}
		return
	}
	for _, o := range rep.objects {
		if len(o.rep.ignored) > 0 {
			b.add(o.name+" ignored", "%s", list(o.rep.ignored))
		}
		for _, f := range o.rep.findings {
			c.note(b, f.sev, o.name+"."+f.text, fixShape)
		}
	}
	b.add("token", "%s, prefix %s", quote(t.Name), quote(t.Prefix))
	if t.Scopes == nil {
		b.add("token scopes", "not reported: each call tells")
	} else {
		c.listed = map[string]bool{}
		shown := make([]string, 0, len(t.Scopes))
		for _, s := range t.Scopes {
			c.listed[s] = true
			shown = append(shown, sanitise(s, maxValueBytes))
		}
		line := list(shown)
		var lacks []string
		for _, s := range allScopes {
			if !c.listed[s] {
				lacks = append(lacks, s)
			}
		}
		if len(lacks) > 0 {
			line += " (lacks " + strings.Join(lacks, ", ") + ")"
		}
		b.add("token scopes", "%s", line)
	}
	switch {
	case t.ExpiresAt != nil:
		c.expiryLine(b, *t.ExpiresAt, "")
	case t.ExpiresAtRaw != "":
		b.add("token expiry", "%s, unreadable", quote(t.ExpiresAtRaw))
		c.note(b, warning, fmt.Sprintf("token.expires_at %s is no date the exporter can read: it uses --kartustok.token-expires-at instead", quote(t.ExpiresAtRaw)),
			"give the expiry with --kartustok.token-expires-at=YYYY-MM-DD")
	default:
		b.add("token expiry", "none: the token does not expire")
	}
}

// expiryLine shows the token's expiry and the time left, and warns as the
// exporter's alerts would.
func (c *checker) expiryLine(b *block, exp time.Time, from string) {
	if c.loc != nil {
		exp = exp.In(c.loc)
	}
	left := exp.Sub(c.now())
	text := exp.Format("2006-01-02 15:04:05 -07:00") + " (" + timeLeft(left) + " left)"
	if from != "" {
		text += ", " + from
	}
	b.add("token expiry", "%s", text)
	renew := "create a new token with the same scopes under API Access and " + c.fixTokenReplace()
	switch {
	case left <= 0:
		c.note(b, warning, "the token's expiry has passed, yet the API accepted it: this machine's clock may be wrong", renew)
	case left < expiryCritical:
		c.note(b, warning, "the token expires in "+timeLeft(left), renew+" now")
	case left < expiryWarning:
		c.note(b, warning, "the token expires in "+timeLeft(left), renew+" before then")
	}
}

// timeLeft says how long until a moment, in days when it is days away.
func timeLeft(d time.Duration) string {
	switch {
	case d <= 0:
		return "none"
	case d < 48*time.Hour:
		return d.Round(time.Minute).String()
	}
	return plural(int(d/(24*time.Hour)), "day")
}

func (c *checker) categories(ctx context.Context) {
	r := c.call(ctx, kartustok.EndpointItemCategories, nil, true)
	defer c.printResult(r)
	if r.data == nil {
		return
	}
	rows, ok := c.dataRows(r, problem)
	if !ok {
		return
	}
	rep := analyse(kartustok.EndpointItemCategories, rows, false, problem)
	rowsLine(r.b, rep, nil, false)
	c.fields(r.b, rep)
}

func (c *checker) locators(ctx context.Context) {
	r := c.call(ctx, kartustok.EndpointLocators, nil, true)
	defer c.printResult(r)
	if r.data == nil {
		return
	}
	rows, ok := c.dataRows(r, problem)
	if !ok {
		return
	}
	rep := analyse(kartustok.EndpointLocators, rows, false, problem)
	rowsLine(r.b, rep, nil, false)
	var valid []kartustok.Locator
	active := 0
	for _, raw := range rows {
		var l kartustok.Locator
		if json.Unmarshal(raw, &l) != nil {
			continue
		}
		valid = append(valid, l)
		if l.Active {
			active++
			if c.locator == nil {
				c.locator = &l
			}
		}
	}
	if c.locator == nil && len(valid) > 0 {
		c.locator = &valid[0]
	}
	r.b.add("active", "%d of %d", active, len(valid))
	c.fields(r.b, rep)
	switch {
	case len(rows) == 0:
		c.note(r.b, warning, "no warehouse: the exporter has no stock to read", "")
	case active == 0 && len(valid) > 0 && slices.Contains(rep.understood, "is_active"):
		c.note(r.b, warning, "no active warehouse: the exporter reads stock only for active ones, so it exports none",
			"activate the warehouses to monitor in KartuStok")
	}
}

func (c *checker) items(ctx context.Context) {
	q := url.Values{"page": {"1"}, "per_page": {strconv.Itoa(kartustok.PerPage)}}
	r := c.call(ctx, kartustok.EndpointItems, q, true)
	defer c.printResult(r)
	firstPage(c, r, kartustok.EndpointItems, func(it kartustok.Item) bool { return it.MinimumQty != nil },
		kartustok.MinimumStockUnion, "items")
}

// firstPage reports the first page of a paginated list: its rows, their
// fields, the paging, and how many rows set the minimum that mode uses.
func firstPage[T any](c *checker, r *result, endpoint string, hasMinimum func(T) bool, mode, noun string) {
	if r.data == nil {
		return
	}
	rows, ok := c.dataRows(r, problem)
	if !ok {
		return
	}
	rep := analyse(endpoint, rows, false, problem)
	rowsLine(r.b, rep, r.meta, true)
	c.minimums(r.b, countRows(rows, hasMinimum), len(rows), mode, noun)
	c.fields(r.b, rep)
	c.pageChecks(r.b, r.meta, len(rows))
}

func (c *checker) stockSummary(ctx context.Context) {
	today, zone := c.today()
	q := url.Values{"date_from": {today}, "date_to": {today}, "page": {"1"}, "per_page": {strconv.Itoa(kartustok.PerPage)}}
	if c.locator != nil {
		q.Set("locator_id", string(c.locator.ID))
	}
	r := c.call(ctx, kartustok.EndpointStockSummary, q, true)
	defer c.printResult(r)
	c.stockLines(r.b, today, zone)
	firstPage(c, r, kartustok.EndpointStockSummary, func(sr kartustok.StockRow) bool { return sr.MinimumQty != nil },
		kartustok.MinimumStockPerWarehouse, "stock rows")
}

// stockDetail checks /stock/detail, of which the exporter reads only
// meta.total: the day's movement count that spares an unchanged warehouse
// a full read, and the counts by type of kartustok_stock_movements. A
// failed call or a missing total is a problem; the rows' shape, which the
// exporter does not read, only a warning.
func (c *checker) stockDetail(ctx context.Context) {
	if c.locator == nil {
		c.print("GET " + kartustok.EndpointStockDetail + "\n  not called     it needs a warehouse ID from /locators\n\n")
		return
	}
	today, zone := c.today()
	q := url.Values{
		"locator_id": {string(c.locator.ID)}, "date_from": {today}, "date_to": {today},
		"page": {"1"}, "per_page": {strconv.Itoa(kartustok.PerPage)},
	}
	r := c.call(ctx, kartustok.EndpointStockDetail, q, true)
	defer c.printResult(r)
	c.stockLines(r.b, today, zone)
	r.b.add("used for", "meta.total only: the day's movements, which spare an unchanged warehouse a full read, and kartustok_stock_movements")
	if r.data == nil {
		return
	}
	if r.meta == nil || r.meta.Total == nil {
		c.note(r.b, problem, "no meta.total: the exporter cannot count the day's movements, so it reads every warehouse in full on every pass and exports no kartustok_stock_movements", fixShape)
	}
	rows, ok := c.dataRows(r, warning)
	if !ok {
		return
	}
	rep := analyse(kartustok.EndpointStockDetail, rows, false, warning)
	rowsLine(r.b, rep, r.meta, true)
	c.fields(r.b, rep)
	var unknown []string
	for _, raw := range rows {
		var m kartustok.Movement
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		switch m.TransactionType {
		case kartustok.TransactionReceipt, kartustok.TransactionIssue, kartustok.TransactionMove, kartustok.TransactionAdjustment:
		default:
			if t := quote(m.TransactionType); !slices.Contains(unknown, t) {
				unknown = append(unknown, t)
			}
		}
	}
	if len(unknown) > 0 {
		c.note(r.b, warning, "unknown transaction_type "+strings.Join(unknown, ", "), fixShape)
	}
}

// stockLines says which warehouse and day a stock request asked for.
func (c *checker) stockLines(b *block, today string, zone *time.Location) {
	if c.locator != nil {
		b.add("warehouse", "%s %s (id %s)", quote(c.locator.Code), quote(c.locator.Name), quote(string(c.locator.ID)))
	} else {
		b.add("warehouse", "every warehouse: /locators gave none to ask for")
	}
	if c.loc != nil {
		b.add("date", "%s, the company's today in %s", today, zone)
	} else {
		b.add("date", "%s, today in UTC: the company's time zone is not known", today)
	}
}

// countRows counts the rows the exporter reads as T that match.
func countRows[T any](rows []json.RawMessage, match func(T) bool) int {
	n := 0
	for _, raw := range rows {
		var v T
		if json.Unmarshal(raw, &v) == nil && match(v) {
			n++
		}
	}
	return n
}

// minimums says how many of the rows carry a minimum the exporter reads,
// n, and whether the company's mode uses them.
func (c *checker) minimums(b *block, n, rows int, mode, noun string) {
	use := "the company's mode is not known, so the exporter uses them"
	if c.company != nil {
		switch c.company.MinimumStockMode {
		case mode:
			use = "the company's mode " + mode + " uses them"
		case kartustok.MinimumStockPerWarehouse, kartustok.MinimumStockUnion, kartustok.MinimumStockInactive:
			use = "the company's mode " + c.company.MinimumStockMode + " does not use them"
		default:
			use = "the company's mode is unknown, so the exporter uses them"
		}
	}
	b.add("minimum_qty", "in %d of %s; %s", n, plural(rows, strings.TrimSuffix(noun, "s")), use)
}

// finish prints the summary and the verdict, and returns the verdict.
func (c *checker) finish() bool {
	b := &block{title: "Summary"}
	if co := c.company; co != nil {
		today, _ := c.today()
		tz := quote(co.Timezone)
		if c.loc == nil {
			tz = "not usable (so UTC)"
		}
		b.add("company", "%s, time zone %s, today %s, minimum stock %s", quote(co.Name), tz, today, quote(co.MinimumStockMode))
	}
	if c.client != nil && c.token != "" {
		b.add("scopes", "%s", c.scopeSummary())
	}
	b.add("requests", "%d in %s", c.requests, elapsed(time.Since(c.start)))
	var problems, warnings []*finding
	for _, f := range c.findings {
		if f.sev == problem {
			problems = append(problems, f)
		} else {
			warnings = append(warnings, f)
		}
	}
	if c.incomplete && len(problems) == 0 {
		problems = append(problems, &finding{sev: problem, where: "check", text: "the check stopped before its end: " + c.stopped, fix: "run it again"})
	}
	var s strings.Builder
	s.WriteString(b.render())
	for _, group := range []struct {
		title string
		fs    []*finding
	}{{"Problems", problems}, {"Warnings", warnings}} {
		if len(group.fs) == 0 {
			continue
		}
		s.WriteString(group.title + "\n")
		for i, f := range group.fs {
			fmt.Fprintf(&s, "  %d. %s: %s\n", i+1, f.where, f.text)
			if f.fix != "" && !sameFixNext(group.fs, i) {
				fmt.Fprintf(&s, "     fix: %s\n", f.fix)
			}
		}
	}
	ok := len(problems) == 0
	if ok {
		s.WriteString("OK: the exporter can use this token")
		if len(warnings) > 0 {
			s.WriteString(" (" + plural(len(warnings), "warning") + ")")
		}
		s.WriteString("\n")
	} else {
		s.WriteString("FAILED: " + plural(len(problems), "problem") + "\n")
	}
	c.print(s.String())
	return ok
}

// scopeSummary says, for each scope the exporter uses, whether the token
// has it: by what a call showed, else by what /meta/company listed.
func (c *checker) scopeSummary() string {
	var has, lacks, unknown []string
	for _, s := range allScopes {
		g, called := c.granted[s]
		switch {
		case called && g:
			has = append(has, s)
		case called:
			lacks = append(lacks, s)
		case c.listed != nil && c.listed[s]:
			has = append(has, s+" (listed)")
		case c.listed != nil:
			lacks = append(lacks, s+" (not listed)")
		default:
			unknown = append(unknown, s)
		}
	}
	var parts []string
	if len(has) > 0 {
		parts = append(parts, "has: "+strings.Join(has, ", "))
	}
	if len(lacks) > 0 {
		parts = append(parts, "lacks: "+strings.Join(lacks, ", "))
	}
	if len(unknown) > 0 {
		parts = append(parts, "not known: "+strings.Join(unknown, ", "))
	}
	return strings.Join(parts, "; ")
}
