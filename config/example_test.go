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

package config_test

import (
	"fmt"

	"github.com/kartustok/kartustok_exporter/config"
)

func ExampleParse() {
	f, err := config.Parse("companies.yml", []byte(`
companies:
  - name: sinarjaya
    url: https://sinarjaya.kartustok.com
    token_file: sinarjaya.token
    budget: 0.5
  - name: Majumundur
    url: https://majumundur.kartustok.com/public/v1
    token_file: majumundur.token
    stock_intervl: 1m
`))
	fmt.Println(f == nil)
	fmt.Println(err)
	// Output:
	// true
	// companies.yml:7: companies[1].name: "Majumundur" must match [a-z0-9_-]{1,63}
	// companies.yml:10: companies[1]: unknown field "stock_intervl", did you mean "stock_interval"?
}

func ExampleFile_Shard() {
	f, err := config.Parse("companies.yml", []byte(`
companies:
  - {name: sinarjaya, url: https://sinarjaya.kartustok.com, token_file: a.token}
  - {name: majumundur, url: https://majumundur.kartustok.com, token_file: b.token}
  - {name: tokobaru, url: https://tokobaru.kartustok.com, token_file: c.token}
`))
	if err != nil {
		panic(err)
	}
	for shard := range 3 {
		fmt.Print(shard, ":")
		for _, c := range f.Shard(shard, 3) {
			fmt.Print(" ", c.Name)
		}
		fmt.Println()
	}
	// Output:
	// 0:
	// 1: sinarjaya majumundur
	// 2: tokobaru
}

func ExampleShardFromPodName() {
	fmt.Println(config.ShardFromPodName("kartustok-exporter-2"))
	fmt.Println(config.ShardFromPodName("kartustok-exporter"))
	// Output:
	// 2 true
	// 0 false
}
