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

// The state file: what the engine learned, kept across restarts.
//
// Layout: a line "kartustok_exporter state", a line "format <n>
// <fingerprint>", a line of JSON (the header: the company the state is
// of, when it was saved, whether by a clean shutdown, and the SHA-256 and
// length of the payload), then the payload: the state as gzip'd JSON.
//
// The fingerprint is a hash of the Go types the payload is made of, so a
// file written by a version whose types differ, however slightly, is not
// read: the engine starts cold instead, never from a state it might
// misread. A file of another company (its API URL, or once known its
// company ID), a truncated or corrupted one (length, checksum, gzip's own
// CRC) is likewise not read. Nothing in a file can make the exporter
// export a series of another company or crash it.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

const (
	stateMagic = "kartustok_exporter state"
	// stateFormat is the layout above; the fingerprint covers the
	// payload's types.
	stateFormat = 1
	// MaxStateBytes bounds what a state file's payload may hold once
	// unpacked: far more than any company the API's page cap allows (1,000
	// pages of 100 rows per warehouse listing), so only a broken or
	// hostile file reaches it.
	MaxStateBytes = 1 << 30
	// maxHeaderBytes bounds the header line.
	maxHeaderBytes = 64 << 10
)

// stateHeader binds a state file to its company and says how to check it.
type stateHeader struct {
	URL       string       `json:"url"`
	CompanyID kartustok.ID `json:"company_id,omitempty"`
	SavedAt   time.Time    `json:"saved_at"`
	// Clean is set when the state was saved by a clean shutdown: then
	// its record of the requests sent is complete.
	Clean         bool   `json:"clean"`
	PayloadSHA256 string `json:"payload_sha256"`
	PayloadBytes  int64  `json:"payload_bytes"`
}

// savedState is the payload: the snapshot's data and what the engine knows
// besides (page counts, the scopes proved by calls, the zone /health gave).
type savedState struct {
	Company       *kartustok.Company      `json:"company,omitempty"`
	HealthOffset  *int                    `json:"health_offset,omitempty"`
	CategoryNames map[kartustok.ID]string `json:"category_names,omitempty"`
	Locators      []kartustok.Locator     `json:"locators,omitempty"`
	LocatorsKnown bool                    `json:"locators_known"`
	Items         []kartustok.Item        `json:"items,omitempty"`
	ItemsKnown    bool                    `json:"items_known"`

	ItemPages    int                            `json:"item_pages,omitempty"`
	LocatorPages map[kartustok.ID]int           `json:"locator_pages,omitempty"`
	FlowPages    map[kartustok.ID]int           `json:"flow_pages,omitempty"`
	Stock        map[kartustok.ID]*LocatorStock `json:"stock,omitempty"`
	Flow         map[kartustok.ID]*LocatorFlow  `json:"flow,omitempty"`

	TokenKnown   bool            `json:"token_known"`
	TokenValid   bool            `json:"token_valid"`
	Scopes       map[string]bool `json:"scopes,omitempty"`
	ScopesByCall map[string]bool `json:"scopes_by_call,omitempty"`
	TokenExpiry  time.Time       `json:"token_expiry,omitzero"`

	Sync [NumResources]savedStatus `json:"sync"`

	RateLimit kartustok.WindowState `json:"rate_limit"`
}

// savedStatus is what a resource's bookkeeping keeps across a restart:
// when it last succeeded (its true age) and what the plan learnt.
type savedStatus struct {
	LastSuccess     time.Time     `json:"last_success,omitzero"`
	Cycle           time.Duration `json:"cycle,omitempty"`
	PlannedRequests int           `json:"planned_requests,omitempty"`
}

// stateFingerprint names the payload's types.
var stateFingerprint = typeFingerprint(reflect.TypeFor[savedState]())

// typeFingerprint hashes a type's structure: the names and kinds of its
// types, and of structs their fields' names, JSON tags and types,
// recursively.
func typeFingerprint(root reflect.Type) string {
	h := fnv.New64a()
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		fmt.Fprintf(h, "%s.%s:%s;", t.PkgPath(), t.Name(), t.Kind())
		if seen[t] {
			return
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Array:
			fmt.Fprintf(h, "[%d]", t.Len())
			walk(t.Elem())
		case reflect.Pointer, reflect.Slice:
			walk(t.Elem())
		case reflect.Map:
			walk(t.Key())
			walk(t.Elem())
		case reflect.Struct:
			if t == reflect.TypeFor[time.Time]() {
				return
			}
			for f := range t.Fields() {
				fmt.Fprintf(h, "{%s %q ", f.Name, f.Tag.Get("json"))
				walk(f.Type)
				fmt.Fprint(h, "}")
			}
		}
	}
	walk(root)
	return strconv.FormatUint(h.Sum64(), 16)
}

// ErrNoState is returned by readState for a file that does not exist: a
// first start.
var ErrNoState = errors.New("no state file")

// writeState writes the state file at path atomically: a temporary file in
// the same directory, written and synced, then renamed over path, and the
// directory synced, so that a kill at any moment leaves the old file or
// the new one, never part of one.
func writeState(path string, hdr stateHeader, st *savedState) (size int64, err error) {
	var payload bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&payload, gzip.BestSpeed) // a valid level never fails
	if err := json.NewEncoder(zw).Encode(st); err != nil {
		return 0, fmt.Errorf("encoding the state: %w", err)
	}
	if err := zw.Close(); err != nil {
		return 0, fmt.Errorf("compressing the state: %w", err)
	}
	sum := sha256.Sum256(payload.Bytes())
	hdr.PayloadSHA256, hdr.PayloadBytes = hex.EncodeToString(sum[:]), int64(payload.Len())
	head, err := json.Marshal(hdr)
	if err != nil {
		return 0, fmt.Errorf("encoding the state's header: %w", err)
	}

	dir, base := filepath.Split(path)
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	w := bufio.NewWriter(tmp)
	fmt.Fprintf(w, "%s\nformat %d %s\n%s\n", stateMagic, stateFormat, stateFingerprint, head)
	if _, err = w.Write(payload.Bytes()); err != nil {
		return 0, err
	}
	if err = w.Flush(); err != nil {
		return 0, err
	}
	if err = tmp.Sync(); err != nil {
		return 0, err
	}
	info, err := tmp.Stat()
	if err != nil {
		return 0, err
	}
	if err = tmp.Close(); err != nil {
		return 0, err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return 0, err
	}
	// The rename is durable once the directory is; a directory that
	// cannot be synced (some file systems) leaves it to the kernel.
	if d, derr := os.Open(filepath.Clean(dir)); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return info.Size(), nil
}

// readState reads the state file at path and checks that it is whole, of
// this version and of the company at url. A missing file is ErrNoState;
// any other problem is an error that says what is wrong with the file.
func readState(path, url string) (stateHeader, *savedState, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return stateHeader{}, nil, ErrNoState
	}
	if err != nil {
		return stateHeader{}, nil, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	line := func() (string, error) {
		s, err := r.ReadString('\n')
		if len(s) > maxHeaderBytes {
			return "", errors.New("a header line is too long: not a state file")
		}
		if err != nil {
			return "", errors.New("it ends within its header: truncated, or not a state file")
		}
		return strings.TrimSuffix(s, "\n"), nil
	}
	magic, err := line()
	if err != nil {
		return stateHeader{}, nil, err
	}
	if magic != stateMagic {
		return stateHeader{}, nil, errors.New("not a state file of kartustok_exporter")
	}
	format, err := line()
	if err != nil {
		return stateHeader{}, nil, err
	}
	if want := fmt.Sprintf("format %d %s", stateFormat, stateFingerprint); format != want {
		return stateHeader{}, nil, fmt.Errorf("written by another version of the exporter (%q, this one reads %q)", format, want)
	}
	head, err := line()
	if err != nil {
		return stateHeader{}, nil, err
	}
	var hdr stateHeader
	if err := json.Unmarshal([]byte(head), &hdr); err != nil {
		return stateHeader{}, nil, fmt.Errorf("its header is unreadable: %w", err)
	}
	if hdr.URL != url {
		return hdr, nil, fmt.Errorf("saved for another API URL, %s", hdr.URL)
	}
	if hdr.PayloadBytes < 0 || hdr.PayloadBytes > MaxStateBytes {
		return hdr, nil, fmt.Errorf("its header claims a payload of %d bytes", hdr.PayloadBytes)
	}
	payload, err := io.ReadAll(io.LimitReader(r, hdr.PayloadBytes+1))
	if err != nil {
		return hdr, nil, err
	}
	if int64(len(payload)) != hdr.PayloadBytes {
		return hdr, nil, fmt.Errorf("its payload has %d bytes, its header says %d: truncated or corrupted", len(payload), hdr.PayloadBytes)
	}
	if sum := sha256.Sum256(payload); hex.EncodeToString(sum[:]) != hdr.PayloadSHA256 {
		return hdr, nil, errors.New("its payload does not match its checksum: corrupted")
	}
	zr, err := gzip.NewReader(bytes.NewReader(payload))
	if err != nil {
		return hdr, nil, fmt.Errorf("its payload is not gzip: %w", err)
	}
	var st savedState
	dec := json.NewDecoder(io.LimitReader(zr, MaxStateBytes))
	if err := dec.Decode(&st); err != nil {
		return hdr, nil, fmt.Errorf("its payload is unreadable: %w", err)
	}
	return hdr, &st, nil
}
