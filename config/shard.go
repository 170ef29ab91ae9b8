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
	"hash/fnv"
	"strconv"
	"strings"
)

// ShardOf returns the shard of the company called name among totalShards:
// the 64-bit FNV-1a hash of the name's bytes (hash/fnv's New64a), as an
// unsigned integer, modulo totalShards. It depends on nothing else, so a
// company stays in its shard while others come and go. totalShards must be
// at least 1; ShardOf panics otherwise, as a division by zero would.
func ShardOf(name string, totalShards int) int {
	if totalShards < 1 {
		panic(fmt.Sprintf("config: ShardOf with %d total shards", totalShards))
	}
	h := fnv.New64a()
	h.Write([]byte(name)) // A hash.Hash never returns an error.
	return int(h.Sum64() % uint64(totalShards))
}

// CheckShard checks a shard and a total as --shard and --total-shards
// give them: total at least 1, shard in [0, total).
func CheckShard(shard, total int) error {
	switch {
	case total < 1:
		return fmt.Errorf("--total-shards must be at least 1, got %d", total)
	case shard < 0 || shard >= total:
		return fmt.Errorf("the shard must be in [0, %d) for --total-shards=%d, got %d", total, total, shard)
	}
	return nil
}

// Shard returns the companies of shard among total, in file order; every
// company is in the result of exactly one shard in [0, total). A shard may
// hold no company, for instance when there are fewer companies than shards.
// Shard panics unless CheckShard(shard, total) holds.
func (f *File) Shard(shard, total int) []Company {
	if err := CheckShard(shard, total); err != nil {
		panic("config: Shard: " + err.Error())
	}
	var out []Company
	for _, c := range f.Companies {
		if ShardOf(c.Name, total) == shard {
			out = append(out, c)
		}
	}
	return out
}

// ShardFromPodName returns the ordinal a Kubernetes StatefulSet gives its
// pod: the decimal digits after the last "-" of the pod name, 2 for
// "kartustok-exporter-2". It is false when the name has no "-", when
// something other than digits follows the last one, or when the digits have
// a leading zero or do not fit an int, none of which a StatefulSet writes.
// The name alone cannot tell a StatefulSet's pod from others: the random
// five-letter suffix of a Deployment's pod may happen to be all digits, as
// in kartustok-exporter-7d9c5b-24567, and is then read as an ordinal of at
// least 22222, which CheckShard refuses for any total below that.
func ShardFromPodName(name string) (int, bool) {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return 0, false
	}
	s := name[i+1:]
	if s == "" || (len(s) > 1 && s[0] == '0') || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, false
	}
	return n, true
}
