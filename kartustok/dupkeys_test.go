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
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRepeatedKeysOfOneObject(t *testing.T) {
	for _, tc := range []struct {
		name, obj string
		key       string // the repeated key, unescaped, as it came the second time
		found     bool
	}{
		{"none", `{"a":1,"b":2,"c":{"a":3}}`, "", false},
		{"empty object", `{}`, "", false},
		{"empty key once", `{"":1,"a":{}}`, "", false},
		{"plain", `{"a":1,"b":2,"a":3}`, "a", true},
		{"empty key twice", `{"":1,"":2}`, "", true},
		{"ASCII case", `{"ending_qty":"1","ENDING_QTY":"999999"}`, "ENDING_QTY", true},
		{"mixed case", `{"Ending_Qty":"1","eNDING_qTY":"2"}`, "eNDING_qTY", true},
		{"escaped underscore", `{"ending_qty":"1","ending\u005fqty":"2"}`, "ending_qty", true},
		{"both escaped", `{"\u0061":1,"\u0041":2}`, "A", true},
		{"escaped quote and backslash", `{"a\"b\\":1,"A\u0022B\u005c":2}`, `A"B\`, true},
		{"escaped slash", `{"a/b":1,"a\/b":2}`, "a/b", true},
		{"Kelvin sign folds to k", `{"k":1,"\u212a":2}`, "\u212a", true},
		{"Kelvin sign raw", "{\"K\":1,\"\u212a\":2}", "\u212a", true},
		{"long s folds to s", `{"is_active":1,"i\u017f_active":2}`, "i\u017f_active", true},
		{"non-ASCII case", `{"gudang_é":1,"GUDANG_É":2}`, "GUDANG_É", true},
		{"surrogate pair", `{"😀":1,"\ud83d\ude00":2}`, "😀", true},
		{"lone surrogates are both U+FFFD", `{"\ud800":1,"\udc00":2}`, "\uFFFD", true},
		{"different lengths are different keys", `{"ab":1,"abc":2,"a":3}`, "", false},
		{"near keys", `{"ending_qty":1,"ending_qtz":2,"ENDING_QTZ ":3,"ending-qty":4}`, "", false},
		{"key-like text in a value", `{"name":"\",\"name\":\"x","note":"\"name\":1"}`, "", false},
		{"value ending in a backslash", `{"name":"a\\","name2":"\\\\","x":1}`, "", false},
		{"same key in sibling objects", `{"a":{"x":1},"b":{"x":2},"c":[{"x":1},{"x":2}]}`, "", false},
		{"in a nested object", `{"a":{"x":1,"y":{"z":1,"z":2}}}`, "z", true},
		{"in an array of objects", `{"a":[{"x":1},{"x":1,"X":2}]}`, "X", true},
		{"after a nested object closed", `{"a":{"b":1,"c":2},"b":1,"c":{},"a":3}`, "a", true},
		{"white space everywhere", " {\n\t\"a\" : 1 ,\r\n \"b\":[ 1 , 2 ] , \"A\" :\n 3 } ", "A", true},
		{"numbers and literals", `{"a":-1.5e+3,"b":true,"c":null,"d":false,"e":0,"a":[]}`, "a", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.True(t, json.Valid([]byte(tc.obj)), tc.obj)
			r, ok := rowRepeats([]byte(tc.obj))
			require.Equal(t, tc.found, ok, "repeat %+v", r)
			assert.Equal(t, tc.key, r.key)
			ref := refRepeats(t, []byte(tc.obj), false)
			assert.Equal(t, tc.found, ref.hasOutside, "the reference agrees")
			assert.Equal(t, tc.key, ref.outside, "the reference finds the same key")
		})
	}
}

func TestRepeatedKeysManyKeys(t *testing.T) {
	// Beyond maxLinearKeys an object's keys are kept in a set; the
	// repeat may come at any place and in any case.
	keys := make([]string, 40)
	for i := range keys {
		keys[i] = fmt.Sprintf(`"key_%02d":%d`, i, i)
	}
	object := func(keys []string, extra string) []byte {
		return []byte("{" + strings.Join(append(append([]string(nil), keys...), extra), ",") + "}")
	}
	for _, tc := range []struct {
		extra, key  string
		inFirstFive bool
	}{
		{`"KEY_03":1`, "KEY_03", true},
		{`"key_39":1`, "key_39", false},
		{`"key_\u0030\u0030":1`, "key_00", true},
		{`"KEY_20":1`, "KEY_20", false},
		{`"key_\u212a":1`, "", false},
	} {
		r, ok := rowRepeats(object(keys, tc.extra))
		assert.Equal(t, tc.key != "", ok, tc.extra)
		assert.Equal(t, tc.key, r.key)
		_, ok = rowRepeats(object(keys[:5], tc.extra))
		assert.Equal(t, tc.inFirstFive, ok, "%s among 5 keys", tc.extra)
	}
	_, ok := rowRepeats(object(keys, `"other":1`))
	assert.False(t, ok)
	// The Kelvin sign folds to k also in the set.
	r, ok := rowRepeats(object(append(keys, `"key_k":1`), `"KEY_\u212a":2`))
	assert.True(t, ok)
	assert.Equal(t, "KEY_\u212a", r.key)
	// A long key with a non-ASCII character in its middle.
	long := strings.Repeat("x", 30)
	_, ok = rowRepeats([]byte(`{"` + long + `é` + long + `":1,"` + long + `É` + long + `":2}`))
	assert.True(t, ok)
	_, ok = rowRepeats([]byte(`{"` + long + `é` + long + `":1,"` + long + `e` + long + `":2}`))
	assert.False(t, ok)
}

func TestRepeatedKeysOfAPage(t *testing.T) {
	rows, err := pageRepeats(envelopeOf(
		`{"id":"A","name":"x"}`,
		`{"id":"B","name":"x","NAME":"y","name":"z"}`, // the first repeat is listed
		`{"id":"C","tags":[{"k":1},{"k":1,"k":2}]}`,
		`{"id":"D","extra":{"a":{"b":1,"b":2}}}`,
		`[{"a":1,"a":2}]`,
		`{"id":"F"}`,
	))
	require.NoError(t, err)
	assert.Equal(t, []rowRepeat{
		{index: 1, key: "NAME", top: true, path: ""},
		{index: 2, key: "k", top: false, path: "tags[1]"},
		{index: 3, key: "b", top: false, path: "extra.a"},
		{index: 4, key: "a", top: false, path: "[0]"},
	}, rows)
	assert.Equal(t, `key "NAME" repeated`, rows[0].problem())
	assert.Equal(t, `key "k" repeated in tags[1]`, rows[1].problem())

	rows, err = pageRepeats(stockSummaryPage())
	require.NoError(t, err)
	assert.Nil(t, rows)

	// "data" is matched as encoding/json matches it.
	rows, err = pageRepeats([]byte(`{"DATA":[{"a":1,"a":2}]}`))
	require.NoError(t, err)
	assert.Equal(t, []rowRepeat{{index: 0, key: "a", top: true}}, rows)
}

func TestRepeatedKeysOutsideRowsFailTheAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"status", `{"status":"success","data":[],"Status":"error"}`, `key "Status" repeated at the top level of the answer`},
		{"data", `{"status":"success","data":[{"id":"A"}],"data":[]}`, `key "data" repeated at the top level`},
		{"meta", `{"data":[],"meta":{"total":1,"current_page":1,"total":9}}`, `key "total" repeated in meta`},
		{"escaped meta key", `{"data":[],"meta":{"total":1,"tot\u0061l":9}}`, `key "total" repeated in meta`},
		{"deep in meta", `{"data":[],"meta":{"links":[{"url":1},{"url":1,"url":2}]}}`, `key "url" repeated in meta.links[1]`},
		{"object data", `{"status":"success","data":{"id":"c","token":{"expires_at":null,"expires_at":"2027-01-01"}}}`, `key "expires_at" repeated in data.token`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pageRepeats([]byte(tc.body))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Error(t, answerRepeats([]byte(tc.body)))
		})
	}
	// In an object answer, the data object is no row: its repeats fail
	// the answer too.
	err := answerRepeats([]byte(`{"status":"success","data":[{"a":1,"a":2}]}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `key "a" repeated in data[0]`)
	assert.NoError(t, answerRepeats([]byte(readTestdata(t, "company.json"))))
}

func TestRepeatedKeysMessagesAreOneShortLine(t *testing.T) {
	key := strings.Repeat("k\n", 200)
	body := `{"data":[{"` + strings.ReplaceAll(key, "\n", `\n`) + `":1,"` + strings.ReplaceAll(key, "\n", `\n`) + `":2}],"meta":{"` +
		strings.ReplaceAll(key, "\n", `\n`) + `":1,"` + strings.ReplaceAll(key, "\n", `\n`) + `":2}}`
	rows, err := pageRepeats([]byte(body))
	require.Error(t, err)
	assert.Nil(t, rows)
	assert.LessOrEqual(t, len(err.Error()), maxMessageBytes+len("…"))
	assert.NotContains(t, err.Error(), "\n")
	rows, err = pageRepeats([]byte(`{"data":[{"` + strings.ReplaceAll(key, "\n", `\n`) + `":1,"` + strings.ReplaceAll(key, "\n", `\n`) + `":2}]}`))
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.LessOrEqual(t, len(rows[0].field()), maxKeyBytes+len("…"))
	assert.NotContains(t, rows[0].problem(), "\n")
}

func TestRepeatedKeysScanAllocatesNothingPerRow(t *testing.T) {
	page := stockSummaryPage()
	allocs := testing.AllocsPerRun(20, func() {
		if r, err := pageRepeats(page); err != nil || r != nil {
			t.Fatal(r, err)
		}
	})
	assert.LessOrEqual(t, allocs, 1.0, "a page of 100 rows without repeats")
}

// refResult is what the reference finds: the first repeat of each row of
// the envelope's data array, and the first repeat elsewhere.
type refResult struct {
	rows       map[int]string
	outside    string
	hasOutside bool
}

// refRepeats finds repeated keys with encoding/json's tokenizer, keys
// compared as encoding/json compares them to fields. With list, the
// elements of the top object's "data" array are rows.
func refRepeats(t testing.TB, body []byte, list bool) refResult {
	t.Helper()
	res := refResult{rows: map[int]string{}}
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		obj     bool
		data    bool
		keys    []string
		n       int  // array elements begun
		wantKey bool // the next token of an object is a key
	}
	var stack []*frame
	// start counts a value beginning in the innermost array; done marks
	// the end of a value of the innermost object, after which a key comes.
	start := func() {
		if len(stack) > 0 && !stack[len(stack)-1].obj {
			stack[len(stack)-1].n++
		}
	}
	done := func() {
		if len(stack) > 0 && stack[len(stack)-1].obj {
			stack[len(stack)-1].wantKey = true
		}
	}
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return res
		}
		require.NoError(t, err)
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if k, ok := tok.(string); ok && top != nil && top.obj && top.wantKey {
			top.wantKey = false
			repeated := false
			for _, o := range top.keys {
				if strings.EqualFold(o, k) {
					repeated = true
				}
			}
			top.keys = append(top.keys, k)
			if !repeated {
				continue
			}
			if list && len(stack) >= 3 && stack[1].data {
				row := stack[1].n - 1
				if _, seen := res.rows[row]; !seen {
					res.rows[row] = k
				}
				continue
			}
			res.outside, res.hasOutside = k, true
			return res
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			start()
			f := &frame{obj: tok == json.Delim('{'), wantKey: tok == json.Delim('{')}
			if !f.obj && list && len(stack) == 1 && top.obj && len(top.keys) > 0 && strings.EqualFold(top.keys[len(top.keys)-1], "data") {
				f.data = true
			}
			stack = append(stack, f)
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			done()
		default:
			start()
			done()
		}
	}
}

// checkAgainstReference compares pageRepeats with refRepeats on a valid
// JSON body.
func checkAgainstReference(t *testing.T, body []byte) {
	t.Helper()
	ref := refRepeats(t, body, true)
	rows, err := pageRepeats(body)
	if ref.hasOutside {
		var re *repeatedKeyError
		require.ErrorAs(t, err, &re, "%s", body)
		assert.True(t, bytes.EqualFold([]byte(re.key), []byte(ref.outside)), "key %q, reference %q in %s", re.key, ref.outside, body)
		return
	}
	require.NoError(t, err, "%s", body)
	require.Len(t, rows, len(ref.rows), "rows %+v, reference %v in %s", rows, ref.rows, body)
	for _, r := range rows {
		k, ok := ref.rows[r.index]
		require.True(t, ok, "row %d: %q not in the reference %v, %s", r.index, r.key, ref.rows, body)
		assert.True(t, bytes.EqualFold([]byte(r.key), []byte(k)), "row %d: key %q, reference %q in %s", r.index, r.key, k, body)
	}
	// The whole body as one value: any repeat is found.
	one, found := rowRepeats(body)
	refOne := refRepeats(t, body, false)
	assert.Equal(t, refOne.hasOutside, found, "%s", body)
	if found {
		assert.True(t, bytes.EqualFold([]byte(one.key), []byte(refOne.outside)), "key %q, reference %q", one.key, refOne.outside)
	}
}

func TestRepeatedKeysAgreeWithTheReference(t *testing.T) {
	for _, body := range repeatSeeds(t) {
		checkAgainstReference(t, body)
	}
}

// repeatSeeds are bodies with and without repeated keys, in rows and
// outside them.
func repeatSeeds(t testing.TB) [][]byte {
	out := [][]byte{
		stockSummaryPage(),
		envelopeOf(`{"a":1,"a":2}`, `{"b":{"c":1,"C":2}}`, `{"x":1}`, `[{"y":1,"y":1}]`, `7`, `"s"`, `{}`),
		[]byte(`{"data":[{"a":1}],"meta":{"a":1,"a":2}}`),
		[]byte(`{"Data":[{"k":1,"\u212a":2}]}`),
		[]byte(`{"data":{"a":[{"b":1,"b":2}]}}`),
		[]byte(`[{"a":1,"a":2}]`),
		[]byte(`{"data":[{"a\\":1,"a\\\\":2,"A\u005c":3}]}`),
		[]byte(`{"x":[[],[{}],{"data":[{"a":1,"a":1}]}],"data":[{"z":[1,{"q":1,"Q":1}]}]}`),
		[]byte(`"just a string"`),
		[]byte(`{"data":[{"\ud800":1,"\udfff":1}]}`),
	}
	for _, name := range []string{"stock_summary.json", "items.json", "company.json", "health.json", "stock_detail.json"} {
		out = append(out, []byte(readTestdata(t, name)))
	}
	return out
}

// FuzzRepeatedKeys checks the scanner against encoding/json's tokenizer on
// any valid JSON: the same rows, the same keys, the same verdict.
func FuzzRepeatedKeys(f *testing.F) {
	for _, b := range repeatSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !json.Valid(body) {
			// Anything else must not make it fail or loop.
			_, _ = pageRepeats(body)
			_, _ = rowRepeats(body)
			return
		}
		checkAgainstReference(t, body)
	})
}
