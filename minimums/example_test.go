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

package minimums_test

import (
	"fmt"

	"github.com/kartustok/kartustok_exporter/minimums"
)

// The collector asks for each (warehouse, item) series whether the file sets
// a minimum, and falls back to KartuStok's own when it does not.
func Example() {
	set, err := minimums.Load("testdata/example.yml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%+v\n", set.Summary())

	apiMinimum := 35.0 // what /stock/summary reported, if anything
	for _, warehouse := range []string{"GDG-01", "GDG-02", "GDG-03"} {
		minimum, ok := set.Minimum(warehouse, "KS-00001", "Qm3x8a", "Bahan Baku")
		if !ok {
			minimum = apiMinimum
		}
		fmt.Println(warehouse, minimum)
	}
	total, _ := set.TotalMinimum("KS-00001", "Qm3x8a", "Bahan Baku")
	fmt.Println("total", total)
	// Output:
	// {Categories:2 Items:3 Warehouses:3}
	// GDG-01 60
	// GDG-02 0
	// GDG-03 10
	// total 40
}

// Invalid files are refused with every problem located by line and field.
func ExampleParse_invalid() {
	_, err := minimums.Parse("minimums.yml", []byte(`categories:
  - name: Bahan Baku
    minimun: 20
items:
  - code: KS-00001
    warehouses:
      - code: GDG-01
        minimum: abc
`))
	fmt.Println(err)
	// Output:
	// minimums.yml:3: categories[0]: unknown field "minimun", did you mean "minimum"?
	// minimums.yml:8: items[0].warehouses[0].minimum: must be a number ≥ 0, got "abc"
}
