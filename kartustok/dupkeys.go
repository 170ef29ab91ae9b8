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

// This file finds repeated keys. encoding/json takes the last of a repeated
// key without a word, and matches keys to fields without regard to case, so
// {"ending_qty":"1","ENDING_QTY":"999999"} decodes as 999999. A body that
// says two things under one key says nothing trustworthy under it: a row
// with a repeated key is an invalid row, a repeated key anywhere else makes
// the answer invalid.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// maxLinearKeys is how many keys of one object are searched one by one for
// a repeat; an object with more keys gets a set. Rows have about a dozen.
const maxLinearKeys = 16

// maxKeyBytes cuts a repeated key to what reads well in a message.
const maxKeyBytes = 64

// rowRepeat is the first repeated key found in one row of a list.
type rowRepeat struct {
	index int    // the row's position in data, from 0
	key   string // the key, unescaped
	// top is true when the key is one of the row's own fields, false when
	// it is in an object nested in the row (path says where).
	top  bool
	path string
}

// field is the row's field at fault, as InvalidRow.Field reports it.
func (r rowRepeat) field() string { return truncate(r.key, maxKeyBytes) }

// problem says what is wrong, as InvalidRow.Problem reports it.
func (r rowRepeat) problem() string {
	msg := "key " + strconv.Quote(truncate(r.key, maxKeyBytes)) + " repeated"
	if !r.top {
		msg += " in " + r.path
	}
	return cleanMessage(msg)
}

// repeatedKeyError is a key repeated outside the rows of an answer, which
// makes the whole answer invalid.
type repeatedKeyError struct {
	key  string
	path string // where, e.g. "meta" or "data.token"; empty at the top
}

func (e *repeatedKeyError) Error() string {
	where := "at the top level of the answer"
	if e.path != "" {
		where = "in " + e.path
	}
	return cleanMessage(fmt.Sprintf("key %q repeated %s; a body that sends two values under one key cannot be trusted",
		truncate(e.key, maxKeyBytes), where))
}

// pageRepeats finds the repeated keys of a list answer, a success envelope
// whose "data" array holds rows. It returns the first repeat of every row
// that has one, in row order, or an error for a repeat anywhere else. body
// must be valid JSON (what it says of anything else means nothing). Beyond
// the scanner itself it allocates nothing, unless it finds a repeat, an
// escaped key, an object of more than maxLinearKeys keys or more nesting
// than its buffers hold.
func pageRepeats(body []byte) ([]rowRepeat, error) {
	s := newRepeatScanner(body, true)
	s.run()
	if s.outside != nil {
		return nil, s.outside
	}
	return s.rows, nil
}

// answerRepeats reports a repeated key anywhere in body, valid JSON, as
// an error.
func answerRepeats(body []byte) error {
	s := newRepeatScanner(body, false)
	s.run()
	if s.outside != nil {
		return s.outside
	}
	return nil
}

// rowRepeats reports the first repeated key in b, one row on its own as
// valid JSON; ok is false when no key is repeated.
func rowRepeats(b []byte) (r rowRepeat, ok bool) {
	s := newRepeatScanner(b, false)
	s.single = true
	s.run()
	if len(s.rows) == 0 {
		return rowRepeat{}, false
	}
	return s.rows[0], true
}

// keyRef is one key of an open object: its bytes in the body, or in the
// scanner's arena when it held escapes.
type keyRef struct {
	start, end int
	escaped    bool   // [start:end] is in the arena, unescaped
	ascii      bool   // no byte beyond ASCII
	hash       uint32 // see keyHash
}

// scanFrame is one open object or array.
type scanFrame struct {
	obj bool
	// data marks the envelope's "data" array, whose elements are rows.
	data bool
	// first is the index in keys of an object's first key, which is also
	// one past the parent object's key naming it.
	first int
	// n counts an object's keys, or the commas of an array (the index of
	// the element being read).
	n int
	// mask has the bit of every ASCII key's hash set (see keyRef.bit), so
	// that a new ASCII key whose bit is clear is no repeat, unless wide.
	mask uint64
	// wide marks an object with a key beyond ASCII, which may fold to an
	// ASCII key ("\u212a", the Kelvin sign, folds to "k").
	wide bool
	// set holds the folded keys of an object of more than maxLinearKeys.
	set map[string]struct{}
}

// repeatScanner walks a JSON text once, tracking the keys of every open
// object. Keys are compared as encoding/json matches them to fields: after
// unescaping, without regard to case (Unicode simple folding).
type repeatScanner struct {
	b      []byte
	list   bool // the body is an envelope whose data array holds rows
	single bool // b is one row: stop at the first repeat
	frames []scanFrame
	keys   []keyRef
	arena  []byte // unescaped keys
	rows   []rowRepeat
	// outside is a repeat outside the rows; the scan stops there.
	outside *repeatedKeyError
	done    bool

	frameBuf [8]scanFrame
	keyBuf   [32]keyRef
}

func newRepeatScanner(b []byte, list bool) *repeatScanner {
	s := &repeatScanner{b: b, list: list}
	s.frames = s.frameBuf[:0]
	s.keys = s.keyBuf[:0]
	return s
}

// run scans the whole text, or up to the first repeat that ends it.
func (s *repeatScanner) run() {
	b := s.b
	wantKey := false
	for i := 0; i < len(b) && !s.done; {
		switch c := b[i]; c {
		case ' ', '\t', '\n', '\r', ':':
			i++
		case ',':
			i++
			if n := len(s.frames); n > 0 {
				if f := &s.frames[n-1]; f.obj {
					wantKey = true
				} else {
					f.n++
				}
			}
		case '{':
			i++
			s.frames = append(s.frames, scanFrame{obj: true, first: len(s.keys)})
			wantKey = true
		case '[':
			i++
			s.frames = append(s.frames, scanFrame{data: s.isData(), first: len(s.keys)})
			wantKey = false
		case '}', ']':
			i++
			if n := len(s.frames); n > 0 {
				s.close(s.frames[n-1].first)
				s.frames = s.frames[:n-1]
			}
			wantKey = false
		case '"':
			if wantKey {
				i = s.key(i + 1)
				wantKey = false
			} else {
				i = skipString(b, i+1)
			}
		default: // a number, true, false or null
			i++
			for i < len(b) && !isDelimiter(b[i]) {
				i++
			}
		}
	}
}

// close forgets the keys of an object that ended, from index first on.
func (s *repeatScanner) close(first int) {
	if len(s.arena) > 0 {
		for _, k := range s.keys[first:] {
			if k.escaped {
				s.arena = s.arena[:k.start]
				break
			}
		}
	}
	s.keys = s.keys[:first]
}

// isData reports whether an array opening now is the envelope's data:
// the value of the top object's key "data" (in any case, as encoding/json
// reads it).
func (s *repeatScanner) isData() bool {
	if !s.list || len(s.frames) != 1 || !s.frames[0].obj || len(s.keys) == 0 {
		return false
	}
	return bytes.EqualFold(s.text(s.keys[len(s.keys)-1]), []byte("data"))
}

// skipString returns the index after the string whose content starts at
// i.
func skipString(b []byte, i int) int {
	for i < len(b) {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			break
		}
		i += q
		// The quote ends the string unless an odd run of backslashes
		// escapes it.
		escaped := false
		for j := i - 1; j >= 0 && b[j] == '\\'; j-- {
			escaped = !escaped
		}
		i++
		if !escaped {
			return i
		}
	}
	return len(b)
}

// isDelimiter reports whether c ends a number or a literal.
func isDelimiter(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r', ':', '"', '{', '[':
		return true
	}
	return false
}

// key reads the key whose content starts at i, checks it against the
// other keys of its object and returns the index after it.
func (s *repeatScanner) key(i int) int {
	b := s.b
	q := bytes.IndexByte(b[i:], '"')
	if q < 0 {
		q = len(b) - i
	}
	h, ascii, escaped := keyHash(b[i : i+q])
	if escaped {
		return s.escapedKey(i)
	}
	s.add(keyRef{start: i, end: i + q, hash: h, ascii: ascii})
	return min(i+q+1, len(b))
}

// escapedKey reads a key holding escapes into the arena, unescaped as
// encoding/json does, and returns the index after it.
func (s *repeatScanner) escapedKey(start int) int {
	end := skipString(s.b, start)
	raw := s.b[start:max(start, end-1)]
	from := len(s.arena)
	s.arena = appendUnescaped(s.arena, raw)
	k := keyRef{start: from, end: len(s.arena), escaped: true}
	k.hash, k.ascii, _ = keyHash(s.arena[from:])
	s.add(k)
	return end
}

// keyHash hashes a key's length and its first and last eight bytes, with
// the bit that tells ASCII letters' cases apart set, so that keys the same
// but for the case of ASCII letters hash alike. ascii is false when the key
// holds a byte beyond ASCII, escaped true when it holds a backslash.
func keyHash(text []byte) (h uint32, ascii, escaped bool) {
	const (
		caseBits  = 0x2020202020202020
		highBits  = 0x8080808080808080
		lowBits   = 0x0101010101010101
		backslash = '\\' * lowBits
	)
	n := len(text)
	var first, last, all, slash uint64
	if n >= 8 {
		// Whole words, the last one overlapping the one before.
		for i := 0; i+8 < n; i += 8 {
			w := binary.LittleEndian.Uint64(text[i:])
			all |= w
			v := w ^ backslash
			slash |= (v - lowBits) &^ v
		}
		first, last = binary.LittleEndian.Uint64(text), binary.LittleEndian.Uint64(text[n-8:])
		v := last ^ backslash
		all |= last
		slash |= (v - lowBits) &^ v
	} else {
		for _, c := range text {
			first = first<<8 | uint64(c)
			if c == '\\' {
				slash = highBits
			}
		}
		all = first
	}
	x := (first|caseBits)*0x9E3779B97F4A7C15 ^ (last|caseBits)*0xC2B2AE3D27D4EB4F ^ uint64(n)
	return uint32(x>>32 ^ x), all&highBits == 0, slash&highBits != 0
}

// bit is the key's bit in its object's mask.
func (k *keyRef) bit() uint64 { return 1 << (k.hash * 2654435761 >> 26) }

// text is a key's unescaped bytes.
func (s *repeatScanner) text(k keyRef) []byte {
	if k.escaped {
		return s.arena[k.start:k.end]
	}
	return s.b[k.start:k.end]
}

// sameKey reports whether encoding/json would take a and b for one key.
func (s *repeatScanner) sameKey(a, b *keyRef) bool {
	if a.ascii && b.ascii && (a.hash != b.hash || a.end-a.start != b.end-b.start) {
		return false
	}
	return bytes.EqualFold(s.text(*a), s.text(*b))
}

// add adds a key to the innermost object, or reports it as repeated.
func (s *repeatScanner) add(k keyRef) {
	n := len(s.frames)
	if n == 0 || !s.frames[n-1].obj {
		return // not JSON; the decoder says what is wrong
	}
	f := &s.frames[n-1]
	repeated := false
	switch {
	case k.ascii && !f.wide && f.mask&k.bit() == 0:
		// No key of the object can be the same: the common case.
		if f.set != nil {
			f.set[foldKey(s.text(k))] = struct{}{}
		}
	case f.n < maxLinearKeys:
		keys := s.keys[f.first:]
		for j := range keys {
			if s.sameKey(&keys[j], &k) {
				repeated = true
				break
			}
		}
	default:
		if f.set == nil {
			f.set = make(map[string]struct{}, 2*maxLinearKeys)
			for _, o := range s.keys[f.first:] {
				f.set[foldKey(s.text(o))] = struct{}{}
			}
		}
		folded := foldKey(s.text(k))
		_, repeated = f.set[folded]
		f.set[folded] = struct{}{}
	}
	if repeated {
		s.repeat(k)
	}
	if k.ascii {
		f.mask |= k.bit()
	} else {
		f.wide = true
	}
	f.n++
	s.keys = append(s.keys, k)
}

// repeat records a repeated key of the innermost object: against its row
// when it is in one, else as the answer's fault.
func (s *repeatScanner) repeat(k keyRef) {
	depth := len(s.frames) - 1
	key := string(s.text(k))
	switch {
	case s.single:
		s.rows = append(s.rows, rowRepeat{key: key, top: depth == 0, path: s.path(1, depth)})
		s.done = true
	case s.list && depth >= 2 && s.frames[1].data:
		row := s.frames[1].n
		if len(s.rows) > 0 && s.rows[len(s.rows)-1].index == row {
			return // the row is invalid already
		}
		s.rows = append(s.rows, rowRepeat{index: row, key: key, top: depth == 2, path: s.path(3, depth)})
	default:
		s.outside = &repeatedKeyError{key: key, path: s.path(1, depth)}
		s.done = true
	}
}

// path names the frames from..to, each by its key in its parent object or
// its index in its parent array, e.g. "data.token" or "tags[2].name".
func (s *repeatScanner) path(from, to int) string {
	var b strings.Builder
	for d := from; d <= to && d < len(s.frames); d++ {
		parent := s.frames[d-1]
		if parent.obj {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			if k := s.frames[d].first - 1; k >= 0 && k < len(s.keys) {
				b.WriteString(truncate(string(s.text(s.keys[k])), maxKeyBytes))
			}
		} else {
			fmt.Fprintf(&b, "[%d]", parent.n)
		}
	}
	return b.String()
}

// foldKey maps a key to one text shared by every key bytes.EqualFold takes
// for the same: each character becomes the smallest of its simple case
// folding orbit, invalid UTF-8 becomes U+FFFD.
func foldKey(b []byte) string {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		out = utf8.AppendRune(out, least)
	}
	return string(out)
}

// appendUnescaped appends the content of a JSON string, raw (without its
// quotes), unescaped as encoding/json unescapes it: a lone or broken
// surrogate becomes U+FFFD.
func appendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			dst = append(dst, c)
			i++
			continue
		}
		switch e := raw[i+1]; e {
		case '"', '\\', '/':
			dst = append(dst, e)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(raw[i+2:])
			if r < 0 {
				dst = append(dst, raw[i:i+2]...)
				break
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if i+1 < len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if r2 := hex4(raw[i+2:]); r2 >= 0 {
						if d := utf16.DecodeRune(r, r2); d != unicode.ReplacementChar {
							dst = utf8.AppendRune(dst, d)
							i += 6
							continue
						}
					}
				}
				r = unicode.ReplacementChar
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			dst = append(dst, c, e)
		}
		i += 2
	}
	return dst
}

// hex4 reads the four hex digits of a \u escape; -1 when they are not.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}
