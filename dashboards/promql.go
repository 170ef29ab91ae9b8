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

package dashboards

// The checks need to know, for every series selector in a panel query, its
// metric name, its label matchers, its range and the function it sits in.
// The Prometheus parser would tell us, but it is a heavy module to pull into
// the exporter's go.mod for a test, and it rejects Grafana's $variables
// anyway. PromQL's lexical structure is small, so this file scans it: a lexer
// and a single pass that tracks the open parentheses. It does not evaluate
// or fully validate PromQL; the end-to-end test runs every query against a
// real Prometheus for that.

import (
	"fmt"
	"strings"
)

type tokenKind int

const (
	tokIdent tokenKind = iota
	tokNumber
	tokString
	tokVariable
	tokRange // the whole [...] of a range or subquery, brackets stripped
	tokLParen
	tokRParen
	tokLBrace
	tokRBrace
	tokComma
	tokOperator
)

type token struct {
	kind tokenKind
	text string // for tokString, the unquoted value
	pos  int
}

// punctuation maps the one-character tokens to their kind; tokIdent, the
// zero kind, means none.
var punctuation = map[byte]tokenKind{'(': tokLParen, ')': tokRParen, '{': tokLBrace, '}': tokRBrace,
	',': tokComma}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// lex splits a PromQL expression that may contain Grafana variables into
// tokens.
func lex(expr string) ([]token, error) {
	var toks []token
	for i := 0; i < len(expr); {
		c := expr[i]
		start := i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#':
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case isIdentStart(c):
			for i < len(expr) && isIdentChar(expr[i]) {
				i++
			}
			toks = append(toks, token{tokIdent, expr[start:i], start})
		case isDigit(c) || (c == '.' && i+1 < len(expr) && isDigit(expr[i+1])):
			// Numbers, durations (5m, 1h30m) and hex all lex as one token.
			for i < len(expr) && (isIdentChar(expr[i]) || expr[i] == '.') {
				i++
			}
			toks = append(toks, token{tokNumber, expr[start:i], start})
		case c == '"' || c == '\'' || c == '`':
			end, val, err := scanString(expr, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tokString, val, start})
			i = end
		case c == '$':
			end := scanVariable(expr, i)
			if end == i+1 {
				return nil, fmt.Errorf("position %d: lone $", i)
			}
			toks = append(toks, token{tokVariable, expr[start:end], start})
			i = end
		case c == '[':
			end := strings.IndexByte(expr[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("position %d: unclosed [", i)
			}
			toks = append(toks, token{tokRange, strings.TrimSpace(expr[i+1 : i+end]), start})
			i += end + 1
		case punctuation[c] != 0:
			toks = append(toks, token{punctuation[c], string(c), start})
			i++
		default:
			if i+1 < len(expr) {
				switch two := expr[i : i+2]; two {
				case "==", "!=", "<=", ">=", "=~", "!~":
					toks = append(toks, token{tokOperator, two, start})
					i += 2
					continue
				}
			}
			if !strings.ContainsRune("+-*/%^<>=@", rune(c)) {
				return nil, fmt.Errorf("position %d: unexpected character %q", i, c)
			}
			toks = append(toks, token{tokOperator, string(c), start})
			i++
		}
	}
	return toks, nil
}

// scanString returns the index after the string literal starting at i and
// its value, escapes kept as written (the checks compare matcher values
// such as "$job" that need no unescaping).
func scanString(expr string, i int) (int, string, error) {
	quote := expr[i]
	for j := i + 1; j < len(expr); j++ {
		switch {
		case expr[j] == '\\' && quote != '`':
			j++
		case expr[j] == quote:
			return j + 1, expr[i+1 : j], nil
		case expr[j] == '\n' && quote != '`':
			return 0, "", fmt.Errorf("position %d: newline in string", j)
		}
	}
	return 0, "", fmt.Errorf("position %d: unterminated string", i)
}

// scanVariable returns the index after a Grafana variable starting at i:
// $name or ${name} or ${name:format}.
func scanVariable(expr string, i int) int {
	j := i + 1
	if j < len(expr) && expr[j] == '{' {
		end := strings.IndexByte(expr[j:], '}')
		if end < 0 {
			return i + 1
		}
		return j + end + 1
	}
	for j < len(expr) && (isIdentChar(expr[j]) && expr[j] != ':') {
		j++
	}
	return j
}

// matcher is one label matcher of a selector.
type matcher struct {
	name, op, value string
}

// selector is one series selector found in an expression.
type selector struct {
	metric   string
	matchers []matcher
	// rng is the text inside [...] after the selector, "" for an instant
	// vector.
	rng      string
	hasRange bool
	// function is the innermost function or aggregation the selector is an
	// argument of, lower case; "" at the top level or in plain parentheses.
	function string
	pos      int
}

func (s selector) matcher(name string) (matcher, bool) {
	for _, m := range s.matchers {
		if m.name == name {
			return m, true
		}
	}
	return matcher{}, false
}

var (
	// groupingKeywords take a parenthesised list of label names.
	groupingKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true,
		"group_left": true, "group_right": true}
	// keywords are identifiers that are neither metrics nor functions.
	keywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
		"atan2": true, "inf": true, "nan": true, "start": true, "end": true}
	aggregations = map[string]bool{"sum": true, "avg": true, "count": true, "min": true, "max": true,
		"group": true, "stddev": true, "stdvar": true, "topk": true, "bottomk": true, "quantile": true,
		"count_values": true, "limitk": true, "limit_ratio": true}
)

const labelList = "#labels"

// selectors finds every series selector of expr.
func selectors(expr string) ([]selector, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	var (
		out     []selector
		stack   []string // the open parentheses: function name, "" or labelList
		pending string   // an aggregation whose by/without clause came first
	)
	peek := func(i int) (token, bool) {
		if i < len(toks) {
			return toks[i], true
		}
		return token{}, false
	}
	// finish completes a selector whose matchers end before toks[next]:
	// a range may follow, and the innermost open call is its function.
	// It returns the index of the selector's last token.
	finish := func(sel selector, next int) int {
		if t, ok := peek(next); ok && t.kind == tokRange {
			sel.rng, sel.hasRange = t.text, true
			next++
		}
		if len(stack) > 0 {
			sel.function = stack[len(stack)-1]
		}
		out = append(out, sel)
		return next - 1
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		inLabels := len(stack) > 0 && stack[len(stack)-1] == labelList
		switch t.kind {
		case tokIdent:
			if inLabels {
				continue
			}
			lower := strings.ToLower(t.text)
			next, ok := peek(i + 1)
			isCall := ok && next.kind == tokLParen
			switch {
			case groupingKeywords[lower]:
				if isCall {
					stack = append(stack, labelList)
					i++
				}
				continue
			case keywords[lower]:
				continue
			case isCall:
				stack = append(stack, lower)
				i++
				continue
			case aggregations[lower] && ok && next.kind == tokIdent &&
				(strings.EqualFold(next.text, "by") || strings.EqualFold(next.text, "without")):
				pending = lower
				continue
			}
			sel := selector{metric: t.text, pos: t.pos}
			j := i + 1
			if next, ok := peek(j); ok && next.kind == tokLBrace {
				ms, end, err := parseMatchers(toks, j)
				if err != nil {
					return nil, err
				}
				sel.matchers, j = ms, end
			}
			i = finish(sel, j)
		case tokLBrace:
			if inLabels {
				return nil, fmt.Errorf("position %d: { in a label list", t.pos)
			}
			ms, end, err := parseMatchers(toks, i)
			if err != nil {
				return nil, err
			}
			sel := selector{matchers: ms, pos: t.pos}
			if m, ok := sel.matcher("__name__"); ok && m.op == "=" {
				sel.metric = m.value
			}
			i = finish(sel, end)
		case tokLParen:
			// A '(' right after a closed by/without list opens the
			// aggregation's argument.
			if pending != "" && i > 0 && toks[i-1].kind == tokRParen {
				stack = append(stack, pending)
				pending = ""
				continue
			}
			stack = append(stack, "")
		case tokRParen:
			if len(stack) == 0 {
				return nil, fmt.Errorf("position %d: unbalanced )", t.pos)
			}
			stack = stack[:len(stack)-1]
		case tokRBrace:
			return nil, fmt.Errorf("position %d: unbalanced }", t.pos)
		}
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("unclosed (")
	}
	return out, nil
}

// parseMatchers reads {name op "value", ...} starting at the '{' at toks[i]
// and returns the matchers and the index after the '}'.
func parseMatchers(toks []token, i int) ([]matcher, int, error) {
	var ms []matcher
	i++ // '{'
	for i < len(toks) {
		if toks[i].kind == tokRBrace {
			return ms, i + 1, nil
		}
		if toks[i].kind == tokString && (i+1 < len(toks)) &&
			(toks[i+1].kind == tokComma || toks[i+1].kind == tokRBrace) {
			// A quoted metric name: {"metric.name", ...}.
			ms = append(ms, matcher{"__name__", "=", toks[i].text})
			i++
		} else {
			if i+2 >= len(toks) || (toks[i].kind != tokIdent && toks[i].kind != tokString) ||
				toks[i+1].kind != tokOperator || toks[i+2].kind != tokString {
				return nil, 0, fmt.Errorf("position %d: malformed label matcher", toks[i].pos)
			}
			switch op := toks[i+1].text; op {
			case "=", "!=", "=~", "!~":
			default:
				return nil, 0, fmt.Errorf("position %d: matcher operator %q", toks[i+1].pos, op)
			}
			ms = append(ms, matcher{toks[i].text, toks[i+1].text, toks[i+2].text})
			i += 3
		}
		if i < len(toks) && toks[i].kind == tokComma {
			i++
		}
	}
	return nil, 0, fmt.Errorf("unclosed {")
}
