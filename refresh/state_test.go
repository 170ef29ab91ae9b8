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

package refresh

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

const stateURL = "https://sinarjaya.kartustok.com/public/v1"

// sampleState is a state with something in every part.
func sampleState() *savedState {
	at := time.Date(2026, 12, 6, 9, 30, 0, 0, time.UTC)
	q := kartustok.Quantity(40)
	offset := 7 * 3600
	return &savedState{
		Company:       &kartustok.Company{ID: "c9XkQ2", Name: "PT Sinar Jaya Abadi", Subdomain: "sinarjaya", Timezone: "Asia/Jakarta", MinimumStockMode: "per_warehouse"},
		HealthOffset:  &offset,
		CategoryNames: map[kartustok.ID]string{"Qm3x8a": "Bahan Baku"},
		Locators:      []kartustok.Locator{{ID: "Lr8pW1", Code: "GDG-01", Name: "Gudang Utama", Active: true}},
		LocatorsKnown: true,
		Items:         []kartustok.Item{{ID: "It7fZk", Code: "KS-00001", Name: "Tepung \"Terigu\"\n25 kg", CategoryID: "Qm3x8a", UOM: "sak", MinimumQty: &q, Active: true}},
		ItemsKnown:    true,
		ItemPages:     1,
		LocatorPages:  map[kartustok.ID]int{"Lr8pW1": 3},
		FlowPages:     map[kartustok.ID]int{"Lr8pW1": 4},
		Stock: map[kartustok.ID]*LocatorStock{"Lr8pW1": {
			Fetched: at, Day: "2026-12-06", Movements: 12,
			Rows:    []StockEntry{{ItemID: "It7fZk", OnHand: 135.25, Minimum: 60, In: 50, Out: 35, HasMinimum: true, HasFlow: true}},
			Skipped: []kartustok.ID{"ItBad"},
			Carried: []CarriedEntry{{StockEntry: StockEntry{ItemID: "ItBad", OnHand: 3}, Fetched: at.Add(-time.Minute), Day: "2026-12-06"}},
		}},
		Flow: map[kartustok.ID]*LocatorFlow{"Lr8pW1": {
			Period:    &FlowPeriod{From: "2026-11-07", To: "2026-12-06", Fetched: at, Rows: []FlowEntry{{ItemID: "It7fZk", In: 500, Out: 380.5}}},
			Movements: &MovementCounts{Day: "2026-12-06", Fetched: at, ByType: [4]int{3, 7, 1, 1}},
		}},
		TokenKnown:   true,
		TokenValid:   true,
		Scopes:       map[string]bool{"stock.read": true, "item.read": false},
		ScopesByCall: map[string]bool{"stock.read": true},
		TokenExpiry:  at.Add(30 * 24 * time.Hour),
		Sync:         [NumResources]savedStatus{ResourceStock: {LastSuccess: at, Cycle: time.Minute, PlannedRequests: 7}},
		RateLimit:    kartustok.WindowState{Sends: []time.Time{at.Add(-10 * time.Second), at}},
	}
}

func TestStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sinarjaya.state")
	st := sampleState()
	hdr := stateHeader{URL: stateURL, CompanyID: "c9XkQ2", SavedAt: time.Now().UTC().Truncate(time.Second), Clean: true}
	size, err := writeState(path, hdr, st)
	require.NoError(t, err)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, info.Size(), size)

	gotHdr, got, err := readState(path, stateURL)
	require.NoError(t, err)
	assert.Equal(t, hdr.CompanyID, gotHdr.CompanyID)
	assert.True(t, gotHdr.SavedAt.Equal(hdr.SavedAt))
	assert.True(t, gotHdr.Clean)
	assert.Equal(t, st, got)

	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "a temporary file is left behind")
}

// TestStateFilesThatAreNotUsed: a file that is missing, of another company,
// of another version, truncated anywhere, corrupted or no state file at all
// is refused with an error that says which, never half read.
func TestStateFilesThatAreNotUsed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sinarjaya.state")
	_, _, err := readState(path, stateURL)
	require.ErrorIs(t, err, ErrNoState)

	_, err = writeState(path, stateHeader{URL: stateURL, SavedAt: time.Now()}, sampleState())
	require.NoError(t, err)
	good, err := os.ReadFile(path)
	require.NoError(t, err)

	_, _, err = readState(path, "https://other.kartustok.com/public/v1")
	require.ErrorContains(t, err, "saved for another API URL, "+stateURL)

	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "ends within its header"},
		{"garbage", []byte("\x00\x01garbage\n"), "not a state file"},
		{"another version", bytes.Replace(good, []byte("format 1 "+stateFingerprint), []byte("format 1 0123456789abcdef"), 1), "written by another version"},
		{"an older format", bytes.Replace(good, []byte("format 1 "), []byte("format 0 "), 1), "written by another version"},
		{"a flipped payload byte", flip(good, len(good)-40), "does not match its checksum"},
		{"a header that lies about the payload", bytes.Replace(good, []byte(`"payload_bytes":`), []byte(`"payload_bytes":1`), 1), "payload has"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(path, tc.file, 0o600))
			_, st, err := readState(path, stateURL)
			require.ErrorContains(t, err, tc.want)
			assert.Nil(t, st)
		})
	}
	// Cut at every byte: never read, never a panic.
	for n := range len(good) {
		require.NoError(t, os.WriteFile(path, good[:n], 0o600))
		_, st, err := readState(path, stateURL)
		require.Error(t, err, "a file cut at byte %d of %d was read", n, len(good))
		require.Nil(t, st)
	}
}

func flip(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 0xff
	return out
}

// TestStateFingerprintFollowsTheTypes: the fingerprint changes with any
// change a decoder could misread: a field's JSON tag, type or a nested
// type's shape, at any depth, however the types are named; and stays for
// the same structure.
func TestStateFingerprintFollowsTheTypes(t *testing.T) {
	same := func() string {
		type inner struct {
			A int `json:"a"`
		}
		type outer struct {
			M map[string][]*inner `json:"m"`
		}
		return typeFingerprint(reflect.TypeFor[outer]())
	}
	base := func() string {
		type inner struct {
			A int `json:"a"`
		}
		type outer struct {
			M map[string][]*inner `json:"m"`
		}
		return typeFingerprint(reflect.TypeFor[outer]())
	}()
	tag := func() string {
		type inner struct {
			A int `json:"b"`
		}
		type outer struct {
			M map[string][]*inner `json:"m"`
		}
		return typeFingerprint(reflect.TypeFor[outer]())
	}()
	kind := func() string {
		type inner struct {
			A float64 `json:"a"`
		}
		type outer struct {
			M map[string][]*inner `json:"m"`
		}
		return typeFingerprint(reflect.TypeFor[outer]())
	}()
	array := func() string {
		type inner struct {
			A int `json:"a"`
		}
		type outer struct {
			M map[string][2]*inner `json:"m"`
		}
		return typeFingerprint(reflect.TypeFor[outer]())
	}()
	assert.Equal(t, base, same())
	assert.NotEqual(t, base, tag, "a nested JSON tag")
	assert.NotEqual(t, base, kind, "a nested field's type")
	assert.NotEqual(t, base, array, "a slice made an array")
	assert.Equal(t, typeFingerprint(reflect.TypeFor[savedState]()), stateFingerprint)
}

// TestKilledSaveLeavesThePreviousFile: a save killed at any point of its
// temporary file (created and empty, cut anywhere, whole but not renamed)
// leaves the previous file, which the next start loads; the start removes
// the temporary files of every such kill, also in a directory whose name
// has characters a glob pattern would take for its own, and leaves
// everything else in the directory alone.
func TestKilledSaveLeavesThePreviousFile(t *testing.T) {
	for _, dirName := range []string{"state", "state[1]", "st*te?", `st\ate`} {
		t.Run(dirName, func(t *testing.T) {
			if runtime.GOOS == "windows" && dirName != "state" {
				t.Skip("not a valid file name")
			}
			dir := filepath.Join(t.TempDir(), dirName)
			require.NoError(t, os.Mkdir(dir, 0o700))
			path := filepath.Join(dir, "sinarjaya.state")
			previous := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
			_, err := writeState(path, stateHeader{URL: stateURL, SavedAt: previous}, sampleState())
			require.NoError(t, err)

			// The save the kill cut short, as written whole elsewhere.
			next := sampleState()
			next.ItemPages = 2
			nextPath := filepath.Join(t.TempDir(), "next.state")
			_, err = writeState(nextPath, stateHeader{URL: stateURL, SavedAt: previous.Add(time.Minute)}, next)
			require.NoError(t, err)
			whole, err := os.ReadFile(nextPath)
			require.NoError(t, err)

			for _, n := range []int{0, 1, len(stateMagic) + 1, len(whole) / 2, len(whole) - 1, len(whole)} {
				tmp, err := os.CreateTemp(dir, ".sinarjaya.state.tmp-*")
				require.NoError(t, err)
				_, err = tmp.Write(whole[:n])
				require.NoError(t, err)
				require.NoError(t, tmp.Close())

				st, err := LoadState(path, stateURL)
				require.NoError(t, err, "after a save killed at byte %d of %d", n, len(whole))
				assert.True(t, st.SavedAt().Equal(previous), "after a save killed at byte %d: loaded the state saved at %s", n, st.SavedAt())
				assert.Equal(t, 1, st.saved.ItemPages)
				assert.NoFileExists(t, tmp.Name(), "the temporary file a kill left is still there")
			}

			// Several kills before a start; other companies' files and
			// temporary files stay.
			var left []string
			for range 3 {
				tmp, err := os.CreateTemp(dir, ".sinarjaya.state.tmp-*")
				require.NoError(t, err)
				require.NoError(t, tmp.Close())
				left = append(left, tmp.Name())
			}
			// A sibling directory a glob of this one's name would match.
			sibling := filepath.Join(filepath.Dir(dir), "stAteB")
			require.NoError(t, os.Mkdir(sibling, 0o700))
			others := []string{
				filepath.Join(sibling, ".sinarjaya.state.tmp-1"),
				filepath.Join(dir, "other.state"),
				filepath.Join(dir, ".other.state.tmp-1"),
				filepath.Join(dir, ".sinarjaya.state.tmp"),
				filepath.Join(dir, "sinarjaya.state.tmp-1"),
			}
			for _, f := range others {
				require.NoError(t, os.WriteFile(f, nil, 0o600))
			}
			_, err = LoadState(path, stateURL)
			require.NoError(t, err)
			for _, f := range left {
				assert.NoFileExists(t, f, "the temporary file a kill left is still there")
			}
			for _, f := range others {
				assert.FileExists(t, f, "not a temporary file of this state")
			}
		})
	}
}
