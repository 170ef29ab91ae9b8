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
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxMessageBytes cuts a server message to what reads well on one line of
// an error or a log.
const maxMessageBytes = 240

// decodeObject decodes a success envelope whose data is one object. Its
// texts are cut to MaxLabelBytes (counted in cut). A key repeated anywhere
// in the body makes it an error: the object is no row that could be skipped.
func decodeObject[T any](body []byte, cut *cutter) (T, error) {
	var zero T
	env, err := decodeEnvelope[T](body)
	if err != nil && isSyntaxError(err, body) {
		return zero, err
	}
	if rerr := answerRepeats(body); rerr != nil {
		return zero, rerr
	}
	if err != nil {
		return zero, err
	}
	if c, ok := any(env.Data).(interface{ cutLabels(*cutter) }); ok {
		c.cutLabels(cut)
	}
	return *env.Data, nil
}

// InvalidRow is a row of a list answer that could not be used and was
// skipped; every other row of its page is kept.
type InvalidRow struct {
	// Page is the page it came on (1 for an unpaginated list), Index its
	// position on that page from 0.
	Page, Index int
	// ID is the row's own ID (for a stock summary row, its item's),
	// empty when that is what could not be read. LocatorID is a stock
	// summary row's locator, when it could be read.
	ID, LocatorID ID
	// Field is the field at fault, empty when the row is no JSON object;
	// Problem says what is wrong with it.
	Field, Problem string
}

// String describes the row in one line, e.g.
// `page 2 row 17 (id "It7fZk"): ending_qty: quantity "abc" is not a decimal number`.
func (r InvalidRow) String() string {
	id := "ID unreadable"
	if r.ID != "" {
		id = fmt.Sprintf("id %q", string(r.ID))
	}
	field := r.Field
	if field == "" {
		field = "row"
	}
	return fmt.Sprintf("page %d row %d (%s): %s: %s", r.Page, r.Index, id, cleanMessage(field), r.Problem)
}

// listPage is one decoded page of a list answer.
type listPage[T keyed] struct {
	rows []T
	// keys holds the key of every row of the page, kept or skipped, in
	// order; ok is false for a skipped row whose ID could not be read.
	keys    []pageKey
	invalid []InvalidRow
	meta    *PageMeta
	cut     int
}

// pageKey is a row's key on a page, as the page checker counts it.
type pageKey struct {
	k  rowKey
	ok bool
}

// decodeList decodes a success envelope whose data is an array, with the
// pagination block when there is one. A row that cannot be decoded, lacks
// what the exporter needs or repeats a key is skipped and listed in
// invalid; only a body that is no such envelope at all, or that repeats a
// key outside its rows, is an error. page numbers the skipped rows.
func decodeList[T keyed](body []byte, page int) (listPage[T], error) {
	switch any(*new(T)).(type) {
	case StockRow:
		p, err := decodeRows[StockRow, stockRowWire](body, page)
		return any(p).(listPage[T]), err
	case Item:
		p, err := decodeRows[Item, itemWire](body, page)
		return any(p).(listPage[T]), err
	case Movement:
		p, err := decodeRows[Movement, movementWire](body, page)
		return any(p).(listPage[T]), err
	case Locator:
		p, err := decodeRows[Locator, locatorWire](body, page)
		return any(p).(listPage[T]), err
	default: // Category
		p, err := decodeRows[Category, categoryWire](body, page)
		return any(p).(listPage[T]), err
	}
}

// decodeRows decodes a list into wire rows W and converts them to T. The
// whole page is decoded in one pass; only when that fails for a reason
// other than broken JSON is it decoded again row by row, so that one bad
// row costs only itself. One more pass over the bytes finds the rows that
// repeat a key, which encoding/json would read without a word.
func decodeRows[T keyed, W wireRow[T]](body []byte, page int) (listPage[T], error) {
	var p listPage[T]
	cut := &cutter{}
	env, err := decodeEnvelope[[]W](body)
	if err != nil && isSyntaxError(err, body) {
		return p, err
	}
	repeats, rerr := pageRepeats(body)
	if rerr != nil {
		return p, rerr
	}
	// repeated returns the repeat of row i, if it has one; rows come in
	// order, so the next repeat is always the first left.
	repeated := func(i int) (rowRepeat, bool) {
		if len(repeats) > 0 && repeats[0].index == i {
			r := repeats[0]
			repeats = repeats[1:]
			return r, true
		}
		return rowRepeat{}, false
	}
	if err == nil {
		p.meta = env.Meta
		p.rows = make([]T, 0, len(*env.Data))
		p.keys = make([]pageKey, 0, len(*env.Data))
		for i, w := range *env.Data {
			if r, ok := repeated(i); ok {
				v, _ := w.value(nil)
				p.skipRepeat(page, i, v.key(), r)
				continue
			}
			p.add(page, i, w, cut)
		}
		p.cut = cut.n
		return p, nil
	}
	raw, rerr := decodeEnvelope[[]json.RawMessage](body)
	if rerr != nil {
		return p, rerr
	}
	p.meta = raw.Meta
	p.rows = make([]T, 0, len(*raw.Data))
	p.keys = make([]pageKey, 0, len(*raw.Data))
	for i, r := range *raw.Data {
		if rep, ok := repeated(i); ok {
			k, _ := keyOf[T](r)
			p.skipRepeat(page, i, k, rep)
			continue
		}
		var w W
		if err := json.Unmarshal(r, &w); err != nil {
			k, ok := keyOf[T](r)
			p.keys = append(p.keys, pageKey{k, ok})
			field, problem := diagnose[W](r, err)
			p.invalid = append(p.invalid, InvalidRow{Page: page, Index: i, ID: k.ID, LocatorID: k.LocatorID, Field: field, Problem: problem})
			continue
		}
		p.add(page, i, w, cut)
	}
	p.cut = cut.n
	return p, nil
}

// add checks one decoded wire row and keeps it, or lists it as invalid.
func (p *listPage[T]) add(page, i int, w wireRow[T], cut *cutter) {
	before := cut.n
	v, prob := w.value(cut)
	if prob == nil {
		p.rows = append(p.rows, v)
		p.keys = append(p.keys, pageKey{v.key(), true})
		return
	}
	cut.n = before // a skipped row's texts are not exported
	p.skip(page, i, v.key(), prob.Field, prob.Problem)
}

// skip lists row i as invalid, with its key as far as it is usable.
func (p *listPage[T]) skip(page, i int, k rowKey, field, problem string) {
	ok := checkID("", k.ID, true) == nil
	if !ok {
		k.ID = ""
	}
	if checkID("", k.LocatorID, false) != nil {
		k.LocatorID = ""
	}
	p.keys = append(p.keys, pageKey{k, ok})
	p.invalid = append(p.invalid, InvalidRow{Page: page, Index: i, ID: k.ID, LocatorID: k.LocatorID, Field: field, Problem: problem})
}

// skipRepeat lists row i, which repeats a key, as invalid. Its key k was
// read as encoding/json reads it, taking the last of a repeated key, so an
// ID field that is the repeated key is unreadable.
func (p *listPage[T]) skipRepeat(page, i int, k rowKey, r rowRepeat) {
	if r.top {
		own := "id"
		if _, stock := any(*new(T)).(StockRow); stock {
			own = "item_id"
			if strings.EqualFold(r.key, "locator_id") {
				k.LocatorID = ""
			}
		}
		if strings.EqualFold(r.key, own) {
			k.ID = ""
		}
	}
	p.skip(page, i, k, r.field(), r.problem())
}

// diagnose finds the field of a row that made decoding fail: the one
// encoding/json names, else the first field that fails on its own.
func diagnose[W any](raw []byte, err error) (field, problem string) {
	problem = cleanMessage(err.Error())
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return te.Field, fmt.Sprintf("a JSON %s where the API sends %s", te.Value, jsonKind(te.Type.Kind()))
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return "", "not a JSON object"
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		one, merr := json.Marshal(map[string]json.RawMessage{name: fields[name]})
		if merr != nil {
			continue
		}
		var w W
		if ferr := json.Unmarshal(one, &w); ferr != nil {
			return name, cleanMessage(ferr.Error())
		}
	}
	return "", problem
}

// jsonKind names what a Go kind holds in JSON terms.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a number"
}

// isSyntaxError reports whether err, from decoding body, is that body is
// no JSON at all, as opposed to JSON of the wrong shape.
func isSyntaxError(err error, body []byte) bool {
	var syn *json.SyntaxError
	return errors.As(err, &syn) || !json.Valid(body)
}

func decodeEnvelope[T any](body []byte) (envelope[T], error) {
	var env envelope[T]
	if err := json.Unmarshal(body, &env); err != nil {
		return env, describeJSONError(err)
	}
	// A missing status is tolerated: the shape is assumed, and data is
	// what matters. Any other status than success is an error body.
	if env.Status != "" && env.Status != statusSuccess {
		msg := cleanMessage(env.Message)
		if msg == "" {
			msg = "(no message)"
		}
		return env, notSuccess(fmt.Sprintf("status %q instead of %q: %s", cleanMessage(env.Status), statusSuccess, msg))
	}
	if env.Data == nil {
		return env, ErrNoData
	}
	return env, nil
}

// ErrNotSuccess is wrapped by the error of a 2xx answer whose envelope's
// status is another than "success": an error body sent with a success
// status.
var ErrNotSuccess = errors.New(`the answer's status is not "success"`)

// ErrNoData is the error of a success envelope without "data", or with a
// null one.
var ErrNoData = errors.New(`no "data" in the answer`)

// notSuccess says which status and message came instead of "success"; it
// is ErrNotSuccess.
type notSuccess string

func (e notSuccess) Error() string        { return string(e) }
func (e notSuccess) Is(target error) bool { return target == ErrNotSuccess }

// describeJSONError says what was wrong with a body in words an operator
// understands, e.g. that it ended early.
func describeJSONError(err error) error {
	if syn, ok := errors.AsType[*json.SyntaxError](err); ok {
		if strings.Contains(syn.Error(), "unexpected end") {
			return fmt.Errorf("truncated JSON: %w", err)
		}
		return fmt.Errorf("malformed JSON at byte %d: %w", syn.Offset, err)
	}
	return fmt.Errorf("unexpected JSON shape: %w", err)
}

// IsJSON reports whether a Content-Type header announces JSON, as the
// client requires of a success.
func IsJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

var htmlTitle = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// BodyKind is what the body of an answer holds, as DescribeBody tells it.
type BodyKind int

// The kinds of body.
const (
	// BodyEmpty is an empty body, or one of white space only.
	BodyEmpty BodyKind = iota
	// BodyMessage is a JSON object with a "message" string that is not
	// empty, as both error body forms of the API have it.
	BodyMessage
	// BodyJSON is any other JSON.
	BodyJSON
	// BodyHTML is an HTML page, as a proxy or a login page sends.
	BodyHTML
	// BodyText is anything else.
	BodyText
)

// DescribeBody tells what a body is, as the client reads an error body:
// for BodyMessage, text is the message; for BodyHTML, the page's title
// (empty when it has none); for BodyText, the body without surrounding
// white space. The text is as sent: the caller cleans and cuts it.
func DescribeBody(contentType string, body []byte) (kind BodyKind, text string) {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err == nil && eb.Message != "" {
		return BodyMessage, eb.Message
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	trimmed := strings.TrimSpace(string(body))
	switch {
	case len(trimmed) == 0:
		return BodyEmpty, ""
	case mt == "text/html" || strings.HasPrefix(trimmed, "<"):
		if m := htmlTitle.FindStringSubmatch(trimmed); m != nil {
			return BodyHTML, m[1]
		}
		return BodyHTML, ""
	case json.Valid(body):
		return BodyJSON, ""
	}
	return BodyText, trimmed
}

// errorMessage extracts the message of an error body: the "message" of
// {"status":"error","message":…} or of Laravel's bare {"message":…}, else
// a description of what came instead (an HTML page from a proxy, text).
// The result is one cleaned line, cut to maxMessageBytes.
func errorMessage(contentType string, body []byte) string {
	kind, text := DescribeBody(contentType, body)
	switch kind {
	case BodyMessage:
		return cleanMessage(text)
	case BodyHTML:
		if title := cleanMessage(text); title != "" {
			return cleanMessage(fmt.Sprintf("HTML page %q instead of JSON (likely from a proxy)", title))
		}
		return "HTML page instead of JSON (likely from a proxy)"
	case BodyJSON:
		return "JSON error body without a message"
	case BodyText:
		return cleanMessage("non-JSON body: " + text)
	}
	return ""
}

// ForbiddenCauseOf tells from a 403 message whether the token lacks a scope
// or the client IP is outside the token's allowed IPs. The API documents
// both causes but not their messages, so it reads their words.
func ForbiddenCauseOf(msg string) ForbiddenCause {
	lower := strings.ToLower(msg)
	if strings.Contains(lower, "scope") {
		return ForbiddenScope
	}
	for _, w := range strings.FieldsFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) }) {
		switch w {
		case "ip", "ips", "allowlist", "whitelist", "allowed":
			return ForbiddenIP
		}
	}
	return ForbiddenUnknown
}

// cleanMessage makes s one readable line: valid UTF-8, control characters
// and runs of white space folded to one space, cut to maxMessageBytes on a
// character boundary.
func cleanMessage(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
		if b.Len() > maxMessageBytes {
			break
		}
	}
	out := b.String()
	if len(out) > maxMessageBytes {
		cut := maxMessageBytes
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = out[:cut] + "…"
	}
	return out
}
