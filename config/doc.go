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

// Package config reads the companies file of kartustok_exporter, given with
// --config.file, through which one exporter process serves many KartuStok
// companies, and divides the companies among replicas (sharding).
//
// # The companies file
//
// The file is YAML, meant to be edited by hand:
//
//	companies:
//	  - name: sinarjaya                  # required: the value of the company label
//	    url: https://sinarjaya.kartustok.com/public/v1                  # required
//	    token_file: /etc/kartustok_exporter/sinarjaya.token             # required
//	    token_expires_at: 2027-01-31     # optional
//	    minimums_file: /etc/kartustok_exporter/sinarjaya-minimums.yml   # optional
//	    rate_limit: 120                  # optional, and so is every key below
//	    rate_limit_window: 60s
//	    budget: 0.5
//	    health_interval: 30s
//	    catalog_interval: 15m
//	    stock_interval: 1m
//	    full_stock_interval: 15m
//	    flow_interval: 1h
//	    max_staleness: 30m
//	  - name: majumundur
//	    url: https://majumundur.kartustok.com/public/v1
//	    token_file: majumundur.token     # relative to the directory of this file
//
// The only key at the top is companies, a list of at least one company. The
// keys of a company are:
//
//   - name (required): the value of the company label on every series of the
//     company, 1 to 63 characters of a-z, 0-9, "_" and "-" (lower case);
//     unique in the file. It also decides the company's shard (see below), so
//     renaming a company may move it to another replica.
//   - url (required): the base URL of the company's API,
//     https://<subdomain>.kartustok.com/public/v1, checked as
//     --kartustok.url is.
//   - token_file (required): the file holding the company's API token, as
//     --kartustok.token-file; there is no environment variable fallback,
//     since every company has its own token. The token is never written in
//     the companies file itself.
//   - token_expires_at: the token's expiry when /meta/company does not
//     report it, as --kartustok.token-expires-at: RFC 3339
//     (2027-01-31T23:59:59+07:00) or a date (2027-01-31, read as 00:00 UTC
//     of that day).
//   - minimums_file: the company's minimums file, in the format of
//     --stock.minimums-file; left out, the company has none.
//   - rate_limit: requests the API allows per rate-limit window, a whole
//     number ≥ 1, as --kartustok.rate-limit.
//   - rate_limit_window: the API's rate-limit window, at least 1s, as
//     --kartustok.rate-limit-window.
//   - budget: the share of the rate limit the exporter may use, a number in
//     (0, 1], as --kartustok.budget.
//   - health_interval, catalog_interval, stock_interval, max_staleness: at
//     least 1s each, as --sync.health-interval, --sync.catalog-interval,
//     --sync.stock-interval and --sync.max-staleness.
//   - full_stock_interval: not negative, as --sync.full-stock-interval.
//   - flow_interval: 0 (off) or at least 1m, as --sync.flow-interval.
//
// The keys from rate_limit down override, for one company, the flag of the
// same name; a key left out takes the flag's value. Checks that combine
// values (a stock interval shorter than the max staleness, a budget that
// leaves at least one request per window) apply as they do to the flags,
// once the flags have filled in what the file leaves out.
//
// Durations are written as the flags take them: a number and a unit, ns,
// us, ms, s, m, h, d (24h) or w (7d), and several of those in a row, such
// as 60s, 1.5h, 1h30m or 1d; 0 needs no unit. A bare number such as 60 is an
// error, since its unit would be a guess. Numbers are written in decimal,
// unquoted.
//
// Relative token_file and minimums_file paths are relative to the directory
// of the companies file. Reading the file does not read the token and
// minimums files; the exporter checks those as it does at start.
//
// Decoding is strict, and every problem is reported at once, each naming
// the file and, where there is one, the line and the field:
//
//	companies.yml:7: companies[1].name: "Sinar Jaya" must match [a-z0-9_-]{1,63}
//
// Errors are: invalid YAML; no YAML document, a null one or more than one;
// unknown keys, at any level; a key given twice in one mapping; a missing
// companies list, or an empty one; a company without name, url or
// token_file; an invalid or duplicate name (naming both lines); an invalid
// URL; a value of the wrong kind or out of range; aliases and merge keys
// (<<).
//
// # Sharding
//
// With --total-shards=N (N ≥ 1) and --shard=I (0 ≤ I < N), a replica serves
// only the companies of shard I, and every company belongs to exactly one
// shard. The shard of a company is
//
//	FNV-1a-64(name) mod N
//
// where FNV-1a-64 is the 64-bit FNV-1a hash of the bytes of the name (Go's
// hash/fnv New64a, offset basis 14695981039346656037, prime 1099511628211),
// taken as an unsigned 64-bit integer. The shard depends on the name and N
// only, never on the order of the file or on the other companies, so adding
// or removing a company moves no other company; changing N moves most of
// them. In Python:
//
//	def shard(name, n):
//	    h = 0xcbf29ce484222325
//	    for b in name.encode():
//	        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
//	    return h % n
//
// For example, FNV-1a-64("sinarjaya") is 13936801344929775301, so with
// N = 3 the company sinarjaya is in shard 1.
//
// In a Kubernetes StatefulSet, with --shard unset, the shard is the ordinal
// of the replica's pod: the digits after the last "-" of the pod name, 2
// for kartustok-exporter-2. The StatefulSet's replicas and --total-shards
// must then be equal.
package config
