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
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxMessageBytes cuts a server message to what reads well on one line of
// an error or a log.
const maxMessageBytes = 240

// decodeObject decodes a success envelope whose data is one object.
func decodeObject[T any](body []byte) (T, error) {
	var zero T
	env, err := decodeEnvelope[T](body)
	if err != nil {
		return zero, err
	}
	return *env.Data, nil
}

// decodeList decodes a success envelope whose data is an array, with the
// pagination block when there is one. The rows of the large paginated
// lists are decoded through their wire form, in one pass.
func decodeList[T any](body []byte) ([]T, *pageMeta, error) {
	switch any(*new(T)).(type) {
	case StockRow:
		rows, meta, err := decodeWire[StockRow, stockRowWire](body)
		return any(rows).([]T), meta, err
	case Item:
		rows, meta, err := decodeWire[Item, itemWire](body)
		return any(rows).([]T), meta, err
	}
	env, err := decodeEnvelope[[]T](body)
	if err != nil {
		return nil, nil, err
	}
	return *env.Data, env.Meta, nil
}

// decodeWire decodes a list into wire rows W and converts them to T.
func decodeWire[T any, W interface{ value() T }](body []byte) ([]T, *pageMeta, error) {
	env, err := decodeEnvelope[[]W](body)
	if err != nil {
		return nil, nil, err
	}
	rows := make([]T, len(*env.Data))
	for i, w := range *env.Data {
		rows[i] = w.value()
	}
	return rows, env.Meta, nil
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
		return env, fmt.Errorf("status %q instead of %q: %s", cleanMessage(env.Status), statusSuccess, msg)
	}
	if env.Data == nil {
		return env, errors.New(`no "data" in the answer`)
	}
	return env, nil
}

// describeJSONError says what was wrong with a body in words an operator
// understands, e.g. that it ended early.
func describeJSONError(err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		if strings.Contains(syn.Error(), "unexpected end") {
			return fmt.Errorf("truncated JSON: %w", err)
		}
		return fmt.Errorf("malformed JSON at byte %d: %w", syn.Offset, err)
	}
	return fmt.Errorf("unexpected JSON shape: %w", err)
}

// isJSON reports whether a Content-Type header announces JSON.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

var htmlTitle = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// errorMessage extracts the message of an error body: the "message" of
// {"status":"error","message":…} or of Laravel's bare {"message":…}, else
// a description of what came instead (an HTML page from a proxy, text).
// The result is one cleaned line, cut to maxMessageBytes.
func errorMessage(contentType string, body []byte) string {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err == nil && eb.Message != "" {
		return cleanMessage(eb.Message)
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	trimmed := strings.TrimSpace(string(body))
	switch {
	case len(trimmed) == 0:
		return ""
	case mt == "text/html" || strings.HasPrefix(trimmed, "<"):
		if m := htmlTitle.FindStringSubmatch(trimmed); m != nil && cleanMessage(m[1]) != "" {
			return cleanMessage(fmt.Sprintf("HTML page %q instead of JSON (likely from a proxy)", cleanMessage(m[1])))
		}
		return "HTML page instead of JSON (likely from a proxy)"
	case json.Valid(body):
		return "JSON error body without a message"
	default:
		return cleanMessage("non-JSON body: " + trimmed)
	}
}

// forbiddenCause tells from a 403 message whether the token lacks a scope
// or the client IP is outside the token's allowed IPs.
func forbiddenCause(msg string) ForbiddenCause {
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
