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

package minimums

// The encoded form mirrors the file format field for field; the tags must
// match the field names the parser accepts (a test holds them together).

type fileDoc struct {
	LeadTime   *float64      `yaml:"lead_time_days,omitempty"`
	Categories []categoryDoc `yaml:"categories,omitempty"`
	Items      []itemDoc     `yaml:"items,omitempty"`
}

type categoryDoc struct {
	Name         string   `yaml:"name,omitempty"`
	ID           string   `yaml:"id,omitempty"`
	Minimum      *float64 `yaml:"minimum,omitempty"`
	TotalMinimum *float64 `yaml:"total_minimum,omitempty"`
	LeadTime     *float64 `yaml:"lead_time_days,omitempty"`
}

type itemDoc struct {
	Code         string         `yaml:"code"`
	Minimum      *float64       `yaml:"minimum,omitempty"`
	TotalMinimum *float64       `yaml:"total_minimum,omitempty"`
	LeadTime     *float64       `yaml:"lead_time_days,omitempty"`
	Warehouses   []warehouseDoc `yaml:"warehouses,omitempty"`
}

type warehouseDoc struct {
	Code    string  `yaml:"code"`
	Minimum float64 `yaml:"minimum"`
}

// MarshalYAML encodes the set back into the file format, entries in file
// order and comments dropped, so the exporter can show the minimums it is
// actually using. Parsing the output gives an equal set.
func (s *Set) MarshalYAML() (any, error) {
	var doc fileDoc
	if s == nil {
		return doc, nil
	}
	doc.LeadTime = s.leadTime.pointer()
	for _, c := range s.categories {
		doc.Categories = append(doc.Categories, categoryDoc{
			Name: c.name, ID: c.id,
			Minimum: c.minimum.pointer(), TotalMinimum: c.totalMinimum.pointer(), LeadTime: c.leadTime.pointer(),
		})
	}
	for _, it := range s.items {
		d := itemDoc{Code: it.code, Minimum: it.minimum.pointer(), TotalMinimum: it.totalMinimum.pointer(), LeadTime: it.leadTime.pointer()}
		for _, w := range it.warehouses {
			d.Warehouses = append(d.Warehouses, warehouseDoc{Code: w.code, Minimum: w.minimum})
		}
		doc.Items = append(doc.Items, d)
	}
	return doc, nil
}

// pointer returns the value's address, or nil when absent, for omitempty.
func (o optional) pointer() *float64 {
	if !o.set {
		return nil
	}
	v := o.value
	return &v
}
