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
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testPage is one page as a server answers it, for the page checker.
type testPage struct {
	current, perPage, total, last *int
	keys                          []pageKey
}

// keysFrom returns keys "K<from>".."K<to-1>".
func keysFrom(from, to int) []pageKey {
	var out []pageKey
	for i := from; i < to; i++ {
		out = append(out, pageKey{k: rowKey{ID: ID(fmt.Sprintf("K%d", i))}, ok: true})
	}
	return out
}

// honest renders the pages of a listing of n rows as Laravel does.
func honest(n, perPage int) []testPage {
	last := max(1, (n+perPage-1)/perPage)
	var out []testPage
	for p := 1; p <= last; p++ {
		out = append(out, testPage{new(p), new(perPage), new(n), new(last), keysFrom((p-1)*perPage, min(p*perPage, n))})
	}
	return out
}

// runCheck feeds pages to a checker until it stops; it returns the pages
// read and the outcome. Pages past the end of the slice are empty.
func runCheck(pages []testPage, blindCap int) (read int, err error) {
	c := newPageCheck(100, 1000, blindCap)
	for p := 1; ; p++ {
		pg := testPage{current: new(p)}
		if p <= len(pages) {
			pg = pages[p-1]
		}
		var m *PageMeta
		if pg.current != nil || pg.perPage != nil || pg.total != nil || pg.last != nil {
			m = &PageMeta{CurrentPage: pg.current, PerPage: pg.perPage, Total: pg.total, LastPage: pg.last}
		}
		more, err := c.add("/items", p, m, pg.keys)
		if err != nil {
			return p, err
		}
		if !more {
			return p, c.finish()
		}
	}
}

func isInconsistent(err error) bool {
	var inc *errInconsistent
	return errors.As(err, &inc)
}

func TestPageCheck(t *testing.T) {
	shifted := honest(300, 100)
	// One row inserted before the cursor after page 1: page 2 repeats
	// the last row of page 1 and the total grows.
	shifted[1] = testPage{new(2), new(100), new(301), new(4), keysFrom(99, 199)}
	ignored := honest(300, 100)
	ignored[1] = testPage{new(1), new(100), new(300), new(3), keysFrom(0, 100)}
	echoed := honest(300, 100)
	echoed[1] = testPage{new(2), new(100), new(300), new(3), keysFrom(0, 100)}
	drift := honest(300, 100)
	drift[2].total = new(280)
	understated := honest(300, 100)
	for i := range understated {
		understated[i].last = new(1)
	}
	noTotal := honest(250, 100)
	for i := range noTotal {
		noTotal[i].total = nil
	}
	noTotalFull := honest(300, 100)
	for i := range noTotalFull {
		noTotalFull[i].total = nil
	}
	lastLies := honest(400, 100)
	for i := range lastLies {
		lastLies[i].total, lastLies[i].last = nil, new(3)
	}
	shortMiddle := honest(300, 100)
	shortMiddle[1].keys = keysFrom(100, 150)
	lostTotal := honest(300, 100)
	lostTotal[1].total = nil
	tooMany := honest(100, 100)
	tooMany[0].keys = keysFrom(0, 101)
	smaller := honest(120, 50)
	unkeyed := honest(300, 100)
	unkeyed[1].keys[5] = pageKey{}

	for _, tc := range []struct {
		name     string
		pages    []testPage
		wantRead int
		wantErr  string // "" complete, "inconsistent", or text of an *Error
	}{
		{"honest", honest(300, 100), 3, ""},
		{"honest, last page short", honest(250, 100), 3, ""},
		{"empty", honest(0, 100), 1, ""},
		{"smaller page size", smaller, 3, ""},
		{"a skipped row without a key still counts", unkeyed, 3, ""},
		{"row inserted before the cursor", shifted, 2, "inconsistent"},
		{"server ignores page", ignored, 2, "inconsistent"},
		{"server ignores page and echoes it", echoed, 2, "inconsistent"},
		{"total changes", drift, 3, "inconsistent"},
		{"total disappears", lostTotal, 2, "inconsistent"},
		{"understated last_page is read past to total", understated, 3, ""},
		{"short page in the middle", shortMiddle, 4, "inconsistent"},
		{"more rows than per_page", tooMany, 1, "inconsistent"},
		{"no total, ends on a short page", noTotal, 3, ""},
		{"no total, a full last page is confirmed by an empty one", func() []testPage {
			p := honest(200, 100)
			for i := range p {
				p[i].total = nil
			}
			return p
		}(), 3, ""},
		{"no total, last_page understated", lastLies, 4, "inconsistent"},
		{"claimed total beyond the cap", []testPage{{new(1), new(100), new(200_000), new(2000), keysFrom(0, 100)}}, 1, "more than the cap of 1000"},
		{"negative total", []testPage{{new(1), new(100), new(-1), new(1), keysFrom(0, 10)}}, 1, "inconsistent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			read, err := runCheck(tc.pages, 96)
			assert.Equal(t, tc.wantRead, read, "pages read")
			switch tc.wantErr {
			case "":
				require.NoError(t, err)
			case "inconsistent":
				assert.True(t, isInconsistent(err), "want an inconsistency, got %v", err)
			default:
				require.Error(t, err)
				assert.Equal(t, KindInvalidResponse, KindOf(err))
				assert.Contains(t, err.Error(), tc.wantErr)
			}
		})
	}
}

func TestPageCheckWithoutTotalStopsAtOneWindowOfBudget(t *testing.T) {
	var endless []testPage
	for p := 1; p <= 50; p++ {
		endless = append(endless, testPage{current: new(p), keys: keysFrom((p-1)*100, p*100)})
	}
	read, err := runCheck(endless, 12)
	assert.Equal(t, 12, read)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "more than 12 pages without a meta.total")
}
