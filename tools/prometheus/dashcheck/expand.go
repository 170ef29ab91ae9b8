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

package main

// The PromQL parser rejects Grafana's $variables, so every reference is
// replaced by a placeholder that is valid where such a variable may stand,
// and distinct enough that the checks can tell, after parsing, which
// variable a matcher value or a range came from. Where the references are
// and what each stands for comes with the query (see ref):
//
//   - a variable that stands for a duration ($__rate_interval, $__interval,
//     $__range, interval variables) becomes a duration no dashboard writes
//     by hand, 987654001ms, 987654002ms, ...;
//   - one that stands for a number ($__range_s, $__interval_ms, ...) becomes
//     987654001, 987654002, ...; written as ${__range_s}s it is still
//     recognised as that variable's range;
//   - any other becomes an identifier such as __var3_job__, valid inside a
//     string or regular expression, as a label name and as a metric name.
//
// The expansion keeps where each reference was, so positions and texts
// from the parsed query map back to the query as written.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/parser/posrange"
)

const (
	// placeholderBase numbers the duration and number placeholders; with
	// fewer than 1000 distinct references per query they keep nine digits,
	// so no placeholder is a prefix of another.
	placeholderBase = 987654000
	numberMark      = "987654"
	identMark       = "__var"
)

// span records one substitution: orig[origStart:origEnd] of the query as
// written became text[start:end] of the expanded query.
type span struct {
	origStart, origEnd int
	start, end         int
	text, placeholder  string
	ref                ref
}

// expansion is a query with its variables replaced by placeholders.
type expansion struct {
	orig, text string
	spans      []span
	// durations maps every placeholder duration to its variable.
	durations map[time.Duration]ref
	// undefined lists the variables referenced that are neither defined
	// nor built in, each once.
	undefined []string
	// clash is set when the query as written already contains text that
	// looks like a placeholder, so the checks could be misled.
	clash string
}

// expand replaces the variable references refs of expr, in order, by
// placeholders; an undefined variable becomes an identifier.
func expand(expr string, refs []ref) *expansion {
	e := &expansion{orig: expr, durations: map[time.Duration]ref{}}
	for _, mark := range []string{identMark, numberMark} {
		if strings.Contains(expr, mark) {
			e.clash = mark
		}
	}
	placeholders := map[string]string{} // reference as written -> placeholder
	undefined := map[string]bool{}
	var b strings.Builder
	last := 0
	for _, r := range refs {
		text := expr[r.Start:r.End]
		ph, seen := placeholders[text]
		if !seen {
			n := len(placeholders) + 1
			if r.Kind == kindUndefined && !undefined[r.Name] {
				undefined[r.Name] = true
				e.undefined = append(e.undefined, r.Name)
			}
			switch r.Kind {
			case kindDuration:
				ph = strconv.Itoa(placeholderBase+n) + "ms"
				e.durations[time.Duration(placeholderBase+n)*time.Millisecond] = r
			case kindNumber:
				ph = strconv.Itoa(placeholderBase + n)
				e.durations[time.Duration(placeholderBase+n)*time.Millisecond] = r
				e.durations[time.Duration(placeholderBase+n)*time.Second] = r
			default:
				ph = fmt.Sprintf("%s%d_%s__", identMark, n, r.Name)
			}
			placeholders[text] = ph
		}
		b.WriteString(expr[last:r.Start])
		start := b.Len()
		b.WriteString(ph)
		e.spans = append(e.spans, span{
			origStart: r.Start, origEnd: r.End, start: start, end: b.Len(),
			text: text, placeholder: ph, ref: r,
		})
		last = r.End
	}
	b.WriteString(expr[last:])
	e.text = b.String()
	return e
}

// origPos maps a byte offset of the expanded query to the query as written.
// An offset inside a placeholder maps to the start of the reference it
// replaced, or to its end when end is set.
func (e *expansion) origPos(p int, end bool) int {
	delta := 0
	for _, s := range e.spans {
		switch {
		case p <= s.start:
			return p - delta
		case p < s.end && end:
			return s.origEnd
		case p < s.end:
			return s.origStart
		}
		delta += (s.end - s.start) - (s.origEnd - s.origStart)
	}
	return p - delta
}

// original returns the text as written of a node of the expanded query.
func (e *expansion) original(pr posrange.PositionRange) string {
	start := e.origPos(int(pr.Start), false)
	end := e.origPos(int(pr.End), true)
	if start < 0 || end > len(e.orig) || start > end {
		return e.restore(e.text[pr.Start:pr.End])
	}
	return strings.TrimSpace(e.orig[start:end])
}

// restore puts the references as written back into s, a text taken from
// the expanded query such as a matcher value or a metric name.
func (e *expansion) restore(s string) string {
	for _, sp := range e.spans {
		s = strings.ReplaceAll(s, sp.placeholder, sp.text)
	}
	return s
}

// refsIn returns the references whose placeholders s contains, each once.
func (e *expansion) refsIn(s string) []ref {
	var out []ref
	seen := map[string]bool{}
	for _, sp := range e.spans {
		if !seen[sp.placeholder] && strings.Contains(s, sp.placeholder) {
			seen[sp.placeholder] = true
			out = append(out, sp.ref)
		}
	}
	return out
}

// position returns the line:column of a byte offset of the expanded query
// in the query as written, columns counted in characters.
func (e *expansion) position(p int) string {
	o := min(max(e.origPos(p, false), 0), len(e.orig))
	before := e.orig[:o]
	lineStart := strings.LastIndexByte(before, '\n') + 1
	return fmt.Sprintf("%d:%d", strings.Count(before, "\n")+1, utf8.RuneCountInString(before[lineStart:])+1)
}

// parseError describes a parser error in terms of the query as written.
func (e *expansion) parseError(err error) string {
	if errs, ok := errors.AsType[parser.ParseErrors](err); ok && len(errs) > 0 {
		return fmt.Sprintf("parse error at %s: %s", e.position(int(errs[0].PositionRange.Start)), e.restore(errs[0].Err.Error()))
	}
	if pe, ok := errors.AsType[*parser.ParseErr](err); ok {
		return fmt.Sprintf("parse error at %s: %s", e.position(int(pe.PositionRange.Start)), e.restore(pe.Err.Error()))
	}
	return "parse error: " + e.restore(err.Error())
}
