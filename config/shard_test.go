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

package config

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fnv1a64 is the hash as the package documentation spells it out, written
// independently of hash/fnv.
func fnv1a64(name string) uint64 {
	h := uint64(14695981039346656037)
	for _, b := range []byte(name) {
		h ^= uint64(b)
		h *= 1099511628211
	}
	return h
}

// TestShardOfPinned pins the shard of a few names. A change of hash would
// move companies between replicas on upgrade, silently: each replica would
// drop some companies and pick up others, and series would change instance.
func TestShardOfPinned(t *testing.T) {
	tests := []struct {
		name string
		hash uint64
		// shard among 1, 2, 3 and 10 shards.
		of1, of2, of3, of10 int
	}{
		{"sinarjaya", 13936801344929775301, 0, 1, 1, 1},
		{"majumundur", 8808003661315471957, 0, 1, 1, 7},
		{"tokobaru", 7097302294119653678, 0, 0, 2, 8},
		{"kartustok", 2466897671604369779, 0, 1, 2, 9},
		{"a", 12638187200555641996, 0, 0, 1, 6},
	}
	for _, tt := range tests {
		require.Equal(t, tt.hash, fnv1a64(tt.name), "the documented hash of %q", tt.name)
		assert.Equal(t, tt.of1, ShardOf(tt.name, 1), "%q of 1", tt.name)
		assert.Equal(t, tt.of2, ShardOf(tt.name, 2), "%q of 2", tt.name)
		assert.Equal(t, tt.of3, ShardOf(tt.name, 3), "%q of 3", tt.name)
		assert.Equal(t, tt.of10, ShardOf(tt.name, 10), "%q of 10", tt.name)
	}
}

// randomName returns a valid company name.
func randomName(r *rand.Rand) string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789_-"
	b := make([]byte, 1+r.IntN(63))
	for i := range b {
		b[i] = letters[r.IntN(len(letters))]
	}
	return string(b)
}

// TestShardPartitions: for any number of shards, every company is in
// exactly one, the one ShardOf names, and Shard over all shards gives back
// the whole file with each shard in file order.
func TestShardPartitions(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 17))
	for round := range 200 {
		f := &File{}
		seen := make(map[string]bool)
		for len(f.Companies) < r.IntN(40) {
			name := randomName(r)
			if seen[name] {
				continue
			}
			seen[name] = true
			f.Companies = append(f.Companies, Company{Name: name, Index: len(f.Companies)})
		}
		for total := 1; total <= 10; total++ {
			in := make(map[string]int)
			count := 0
			for shard := range total {
				part := f.Shard(shard, total)
				count += len(part)
				for i, c := range part {
					require.Equal(t, shard, ShardOf(c.Name, total))
					_, dup := in[c.Name]
					require.False(t, dup, "round %d: %q in two shards of %d", round, c.Name, total)
					in[c.Name] = shard
					if i > 0 {
						require.Less(t, part[i-1].Index, c.Index, "file order")
					}
				}
			}
			require.Equal(t, len(f.Companies), count, "round %d: every company in a shard of %d", round, total)
			for _, c := range f.Companies {
				shard := ShardOf(c.Name, total)
				require.GreaterOrEqual(t, shard, 0)
				require.Less(t, shard, total)
				require.Equal(t, shard, in[c.Name])
			}
		}
	}
}

// TestShardSpreads guards against a hash that puts everything in one
// shard: 1,000 names over 4 shards leave none empty. The bound is loose on
// purpose; it only catches a broken hash.
func TestShardSpreads(t *testing.T) {
	counts := make([]int, 4)
	for i := range 1000 {
		counts[ShardOf(fmt.Sprintf("company-%d", i), len(counts))]++
	}
	for shard, n := range counts {
		require.Greater(t, n, 100, "shard %d of %v", shard, counts)
	}
}

// TestShardStable: a company's shard does not depend on the other
// companies or their order.
func TestShardStable(t *testing.T) {
	f := &File{Companies: []Company{{Name: "sinarjaya"}, {Name: "majumundur"}, {Name: "tokobaru"}}}
	g := &File{Companies: []Company{{Name: "tokobaru"}, {Name: "sinarjaya"}}}
	for shard := range 3 {
		var want []string
		for _, c := range f.Shard(shard, 3) {
			if c.Name != "majumundur" {
				want = append(want, c.Name)
			}
		}
		var got []string
		for _, c := range g.Shard(shard, 3) {
			got = append(got, c.Name)
		}
		require.ElementsMatch(t, want, got, "shard %d", shard)
	}
}

func TestCheckShard(t *testing.T) {
	require.NoError(t, CheckShard(0, 1))
	require.NoError(t, CheckShard(2, 3))
	require.EqualError(t, CheckShard(0, 0), "--total-shards must be at least 1, got 0")
	require.EqualError(t, CheckShard(3, 3), "the shard must be in [0, 3) for --total-shards=3, got 3")
	require.EqualError(t, CheckShard(-1, 3), "the shard must be in [0, 3) for --total-shards=3, got -1")
	require.Panics(t, func() { ShardOf("a", 0) })
	require.Panics(t, func() { (&File{}).Shard(1, 1) })
}

func TestShardFromPodName(t *testing.T) {
	for name, want := range map[string]int{
		"kartustok-exporter-0":  0,
		"kartustok-exporter-2":  2,
		"kartustok-exporter-10": 10,
		"exporter-123":          123,
		"-7":                    7,
	} {
		got, ok := ShardFromPodName(name)
		require.True(t, ok, "%q", name)
		require.Equal(t, want, got, "%q", name)
	}
	// A Deployment's pod whose random suffix is all digits reads as an
	// ordinal no real total of shards admits.
	ordinal, ok := ShardFromPodName("kartustok-exporter-7d9c5b-24567")
	require.True(t, ok)
	require.Error(t, CheckShard(ordinal, 100))

	for _, name := range []string{
		"", "kartustok", "kartustok-exporter-", "kartustok-exporter-a",
		"kartustok-exporter-2a", "kartustok-exporter-02",
		"kartustok-exporter-+1", "kartustok-exporter-7d9c5b-x2k4p", "kartustok-exporter-1 ",
		"kartustok-exporter-" + strings.Repeat("9", 30),
	} {
		_, ok := ShardFromPodName(name)
		require.False(t, ok, "%q", name)
	}
}
