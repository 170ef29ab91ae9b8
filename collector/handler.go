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

package collector

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
)

// HandlerOpts configures the metrics handler.
type HandlerOpts struct {
	// ErrorLog receives errors gathering the live families; the scrape
	// still serves what could be gathered. Nil discards them.
	ErrorLog promhttp.Logger
	// MaxRequestsInFlight caps concurrent scrapes; more get 503. Zero
	// means no cap.
	MaxRequestsInFlight int
	// Volatile gathers families whose values change by themselves, such
	// as the process's and the Go runtime's: they are gathered and
	// encoded on every scrape, or at most once per VolatileMaxAge when
	// that is set, the scrapes in between sharing the bytes.
	Volatile       prometheus.Gatherer
	VolatileMaxAge time.Duration
}

// NewHandler returns the metrics handler. It merges into one exposition,
// in name order and each family once: the families live gathers (small
// ones that change with every refresh, such as the sync state and the
// client's request metrics), those of opts.Volatile, and the families r
// serves from rendered bytes. It offers the Prometheus text format 0.0.4
// and OpenMetrics 1.0.0; a scraper that asks for protobuf gets the text
// format, which every Prometheus accepts. With Accept-Encoding gzip the
// answer is one gzip stream in which the rendered bytes were compressed
// when they were rendered, so a scrape compresses only what changed since
// the scrape before. Every scrape of the same snapshot writes the same
// rendered bytes, shared. r may be nil: then only the gathered families
// are served.
//
// The live families are gathered and encoded on every scrape, which costs
// little since they are small, and each is compressed only when its
// encoding differs from the one the scrape before served: whatever they
// are made of, a scrape never serves one stale, and nothing has to say
// when they change.
func NewHandler(live prometheus.Gatherer, renderers func() []*Renderer, opts HandlerOpts) http.Handler {
	h := &handler{live: live, volatile: opts.Volatile, volatileAge: opts.VolatileMaxAge, renderers: renderers, log: opts.ErrorLog}
	if opts.MaxRequestsInFlight > 0 {
		h.inFlight = make(chan struct{}, opts.MaxRequestsInFlight)
	}
	return h
}

type handler struct {
	live        prometheus.Gatherer
	volatile    prometheus.Gatherer
	volatileAge time.Duration
	renderers   func() []*Renderer
	log         promhttp.Logger
	inFlight    chan struct{}

	// liveMu serialises the gathering of the live families and guards
	// liveBlks, the live families last served, by format (text,
	// OpenMetrics) and name.
	liveMu   sync.Mutex
	liveBlks [2]map[string]*block
	// mu guards volCache, the volatile families by format, as of the
	// time they were gathered.
	mu       sync.Mutex
	volCache [2]*volatileCache
}

// volatileCache is the volatile families encoded in one format, as blocks, as
// of one time.
type volatileCache struct {
	gathered time.Time
	parts    []part
}

// part is one family of an answer: its name, and its lines, encoded now or
// as a block shared by scrapes.
type part struct {
	name string
	text []byte
	blk  *block
}

// bufPool holds the buffers the live families are encoded into.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (h *handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if h.inFlight != nil {
		select {
		case h.inFlight <- struct{}{}:
			defer func() { <-h.inFlight }()
		default:
			http.Error(w, fmt.Sprintf("Limit of concurrent requests reached (%d), try again later.", cap(h.inFlight)), http.StatusServiceUnavailable)
			return
		}
	}
	format := expfmt.NegotiateAccept(req.Header, expfmt.FmtOpenMetrics_1_0_0, expfmt.FmtText)
	openMetrics := format.FormatType() == expfmt.TypeOpenMetrics

	live := h.liveParts(format, openMetrics)
	var volatile []part
	if h.volatile != nil {
		volatile = h.volatileParts(format, openMetrics)
	}
	// Each company's blocks of a family follow the last company's, in
	// the order of the companies' names.
	fr := &frame{}
	if h.renderers != nil {
		now := time.Now()
		for _, r := range h.renderers() {
			f := r.frame(now)
			for k := range fr {
				fr[k] = append(fr[k], f[k]...)
			}
		}
	}

	header := w.Header()
	header.Set("Content-Type", string(format))
	var out exposition
	if gzipAccepted(req.Header) {
		header.Set("Content-Encoding", "gzip")
		header.Add("Vary", "Accept-Encoding")
		g := newGzipExposition(w)
		defer g.release()
		out = g
	} else {
		out = &plainExposition{w: w}
	}
	write := func(p part) {
		if p.blk != nil {
			out.block(p.blk)
		} else {
			out.text(p.text)
		}
	}
	// Merge the three sorted lists by name.
	i, j := 0, 0
	next := func(upTo string) {
		for {
			li, vj := i < len(live) && (upTo == "" || live[i].name < upTo), j < len(volatile) && (upTo == "" || volatile[j].name < upTo)
			switch {
			case li && (!vj || live[i].name <= volatile[j].name):
				write(live[i])
				i++
			case vj:
				write(volatile[j])
				j++
			default:
				return
			}
		}
	}
	for k, f := range renderedFamilies {
		next(f.name)
		if len(fr[k]) == 0 {
			continue
		}
		out.text(f.header(openMetrics))
		for _, b := range fr[k] {
			out.block(b)
		}
	}
	next("")
	if openMetrics {
		out.text([]byte("# EOF\n"))
	}
	if err := out.close(); err != nil && h.log != nil {
		h.log.Println("error writing the response:", err)
	}
}

// formatIndex is the index of a format in the handler's caches.
func formatIndex(openMetrics bool) int {
	if openMetrics {
		return 1
	}
	return 0
}

// liveParts gathers the live families and encodes them in format. A family
// whose encoding is the one the last scrape in format served is served
// from that scrape's block; the others are compressed once and kept for
// the next scrape.
//
// Scrapes gather one at a time: each gathers what is there when its turn
// comes, and however many run at once, only one holds what a gather
// allocates.
func (h *handler) liveParts(format expfmt.Format, openMetrics bool) []part {
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	h.liveMu.Lock()
	defer h.liveMu.Unlock()
	spans := h.encode(h.live, format, buf)
	text := buf.Bytes()
	parts := make([]part, len(spans))
	k := formatIndex(openMetrics)
	last := h.liveBlks[k]
	changed := len(last) != len(spans)
	for i, sp := range spans {
		t := text[sp.from:sp.to]
		b := last[sp.name]
		if b == nil || !bytes.Equal(b.text, t) {
			b, changed = compress(bytes.Clone(t)), true
		}
		parts[i] = part{name: sp.name, blk: b}
	}
	if changed {
		// Keep exactly this scrape's families: one no longer gathered
		// is forgotten.
		blks := make(map[string]*block, len(parts))
		for _, p := range parts {
			blks[p.name] = p.blk
		}
		h.liveBlks[k] = blks
	}
	return parts
}

// volatileParts returns the volatile families in format, gathered at most
// once per volatileAge.
func (h *handler) volatileParts(format expfmt.Format, openMetrics bool) []part {
	if h.volatileAge <= 0 {
		return h.volatileEncoded(format, false)
	}
	now := time.Now()
	k := formatIndex(openMetrics)
	h.mu.Lock()
	defer h.mu.Unlock()
	if c := h.volCache[k]; c != nil && now.Sub(c.gathered) < h.volatileAge {
		return c.parts
	}
	parts := h.volatileEncoded(format, true)
	h.volCache[k] = &volatileCache{gathered: now, parts: parts}
	return parts
}

// volatileEncoded gathers the volatile families and encodes them in
// format, as blocks when they are to be kept.
func (h *handler) volatileEncoded(format expfmt.Format, keep bool) []part {
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	spans := h.encode(h.volatile, format, buf)
	parts := make([]part, len(spans))
	for i, sp := range spans {
		t := bytes.Clone(buf.Bytes()[sp.from:sp.to])
		if keep {
			parts[i] = part{name: sp.name, blk: compress(t)}
		} else {
			parts[i] = part{name: sp.name, text: t}
		}
	}
	return parts
}

// span is where encode wrote one family.
type span struct {
	name     string
	from, to int
}

// encode gathers g and encodes each family in format into buf, one after
// the other, and returns where each is.
func (h *handler) encode(g prometheus.Gatherer, format expfmt.Format, buf *bytes.Buffer) []span {
	mfs, err := g.Gather()
	if err != nil && h.log != nil {
		h.log.Println("error gathering metrics:", err)
	}
	buf.Reset()
	enc := expfmt.NewEncoder(buf, format)
	spans := make([]span, 0, len(mfs))
	for _, mf := range mfs {
		if _, rendered := renderedNames[mf.GetName()]; rendered {
			continue // a programming error: the rendered family wins
		}
		from := buf.Len()
		if err := enc.Encode(mf); err != nil {
			if h.log != nil {
				h.log.Println("error encoding metric family:", err)
			}
			buf.Truncate(from)
			continue
		}
		spans = append(spans, span{name: mf.GetName(), from: from, to: buf.Len()})
	}
	return spans
}

// renderedNames are the names of renderedFamilies.
var renderedNames = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, f := range renderedFamilies {
		m[f.name] = struct{}{}
	}
	return m
}()

// gzipAccepted reports whether the client accepts a gzip answer.
func gzipAccepted(h http.Header) bool {
	for part := range strings.SplitSeq(h.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			q = strings.TrimSpace(q)
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// exposition is where the handler writes one answer: text it made for
// this scrape, and rendered blocks.
type exposition interface {
	text(p []byte)
	block(b *block)
	close() error
}

// plainExposition writes everything as it is, to the response writer,
// which buffers small writes itself.
type plainExposition struct {
	w   io.Writer
	err error
}

func (p *plainExposition) text(b []byte) {
	if p.err == nil {
		_, p.err = p.w.Write(b)
	}
}

func (p *plainExposition) block(b *block) { p.text(b.text) }

func (p *plainExposition) close() error { return p.err }

// Renderers is a fixed list of renderers for NewHandler, sorted by company.
func Renderers(rs ...*Renderer) func() []*Renderer {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b *Renderer) int { return strings.Compare(a.company, b.company) })
	return func() []*Renderer { return rs }
}
