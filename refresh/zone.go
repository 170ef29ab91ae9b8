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
	"fmt"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// The company's day decides which dates stock and flow are read for and
// which figures are "today's". Its zone comes from /meta/company when that
// names an IANA zone this binary knows. When it names none (an empty or
// unknown timezone), the time /health reports carries the API's UTC offset,
// which is the company's; without that either, the day is unknown: stock
// is read for the API's own today (no dates sent), and nothing that needs
// the date (the day's and the 30-day flow, the day's movements) is read or
// exported. A date computed in UTC instead would be the wrong day for part
// of every day, and its figures false.

// companyLocation loads the zone /meta/company names; nil when it names
// none this binary knows. "Local" is this machine's zone, not the
// company's.
func companyLocation(name string) *time.Location {
	if name == "" || name == "Local" {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	return loc
}

// offsetZone returns the fixed zone of an RFC 3339 time's UTC offset, such
// as /health's "2026-11-27T14:03:00+07:00"; nil when t is no such time.
func offsetZone(t string) *time.Location {
	parsed, err := time.Parse(time.RFC3339, t)
	if err != nil {
		return nil
	}
	_, offset := parsed.Zone()
	return time.FixedZone("UTC"+parsed.Format("-07:00"), offset)
}

// sameOffset reports whether two fixed zones have the same offset.
func sameOffset(a, b *time.Location) bool {
	if a == nil || b == nil {
		return a == b
	}
	ref := time.Unix(0, 0)
	_, ao := ref.In(a).Zone()
	_, bo := ref.In(b).Zone()
	return ao == bo
}

// applyCompanyZone sets s.Location from the zone /meta/company names, or
// else from /health's offset. Called with mu held.
func (e *Engine) applyCompanyZone(s *Snapshot, name string) {
	if loc := companyLocation(name); loc != nil {
		e.companyZone = true
		s.Location = loc
		e.noteZone("")
		return
	}
	e.companyZone = false
	s.Location = e.healthZone
	e.noteZone(name)
}

// applyHealthTime takes the UTC offset of the time /health reported, which
// stands in for the company's zone while /meta/company names none. Called
// with mu held.
func (e *Engine) applyHealthTime(s *Snapshot, t string) {
	z := offsetZone(t)
	if z == nil || sameOffset(z, e.healthZone) {
		return
	}
	e.healthZone = z
	if e.companyZone {
		return
	}
	s.Location = z
	if s.Company != nil {
		e.noteZone(s.Company.Timezone)
	}
}

// noteZone logs how the company's day is worked out when /meta/company
// names no zone this binary knows (name), once per change; "" after a
// known zone, which ends it. Called with mu held.
func (e *Engine) noteZone(name string) {
	state := ""
	if !e.companyZone {
		state = fmt.Sprintf("%q %v", name, e.healthZone)
	}
	if state == e.zoneWarned {
		return
	}
	e.zoneWarned = state
	if state == "" {
		return
	}
	logger := log.With(e.logger, "resource", ResourceCompany.String())
	if e.healthZone != nil {
		level.Warn(logger).Log("msg", "Unknown company time zone; taking the company's day from the UTC offset of the time /health reports",
			"timezone", name, "offset", e.healthZone.String())
		return
	}
	level.Warn(logger).Log("msg", "Unknown company time zone, and /health reports no time with a UTC offset: the company's day is unknown, so stock is read for the API's own today, and the day's flow and movements and the 30-day flow are not exported until it is known",
		"timezone", name)
}
