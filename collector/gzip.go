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
	"encoding/binary"
	"hash/crc32"
	"io"
	"sync"
)

// A gzip member (RFC 1952) is a header, a deflate stream (RFC 1951) and a
// trailer of the data's CRC-32 and length. A deflate stream is a sequence of
// blocks; a writer that flushes ends its output on a byte boundary after an
// empty non-final stored block, so the outputs of independent writers,
// each flushed and none closed, make one deflate stream when strung
// together, as long as a final block ends it. gzipExposition builds the
// answer that way: the rendered blocks were compressed when they were
// rendered, this scrape's own text goes in stored blocks, and the CRC-32s
// of the parts are combined for the trailer.

// gzipHeader is a gzip member header: deflate, no flags, no time, unknown
// OS.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// finalBlock is an empty final deflate block with fixed codes.
var finalBlock = []byte{0x03, 0x00}

// gzipPool holds the state of gzip answers.
var gzipPool = sync.Pool{New: func() any { return new(gzipExposition) }}

// gzipExposition writes a gzip answer. What the scrape encodes itself (the
// few families gathered at every scrape) goes in stored deflate blocks,
// uncompressed: a compressor's state would cost every concurrent scrape
// far more memory than those bytes, and the rendered blocks, most of the
// answer, are compressed already.
type gzipExposition struct {
	w       io.Writer
	pending bytes.Buffer // this scrape's text not yet written
	crc     uint32
	size    uint32
	err     error
}

func newGzipExposition(w io.Writer) *gzipExposition {
	g := gzipPool.Get().(*gzipExposition)
	g.w = w
	g.pending.Reset()
	g.crc, g.size, g.err = 0, 0, nil
	_, g.err = w.Write(gzipHeader)
	return g
}

// release returns g to the pool once the answer is written.
func (g *gzipExposition) release() {
	g.w = nil
	gzipPool.Put(g)
}

func (g *gzipExposition) text(p []byte) { g.pending.Write(p) }

// flush writes the pending text as stored deflate blocks of at most 65,535
// bytes. The stream is on a byte boundary here (after the header or a
// flushed block), so a stored block's header is one zero byte: not final,
// stored, padded.
func (g *gzipExposition) flush() {
	p := g.pending.Bytes()
	if len(p) == 0 || g.err != nil {
		return
	}
	g.crc = crc32.Update(g.crc, crc32.IEEETable, p)
	g.size += uint32(len(p))
	for len(p) > 0 && g.err == nil {
		n := min(len(p), 0xffff)
		hdr := [5]byte{0, byte(n), byte(n >> 8), ^byte(n), ^byte(n >> 8)}
		if _, g.err = g.w.Write(hdr[:]); g.err == nil {
			_, g.err = g.w.Write(p[:n])
		}
		p = p[n:]
	}
	g.pending.Reset()
}

func (g *gzipExposition) block(b *block) {
	g.flush()
	if g.err != nil {
		return
	}
	_, g.err = g.w.Write(b.gz)
	g.crc = gf2Times(&b.shift, g.crc) ^ b.crc
	g.size += uint32(len(b.text))
}

func (g *gzipExposition) close() error {
	g.flush()
	if g.err != nil {
		return g.err
	}
	var tail [10]byte
	copy(tail[:2], finalBlock)
	binary.LittleEndian.PutUint32(tail[2:6], g.crc)
	binary.LittleEndian.PutUint32(tail[6:], g.size)
	_, err := g.w.Write(tail[:])
	return err
}

// crc32Shift returns the operator that appends lenB zero bytes to a
// CRC-32, as a matrix over GF(2): B's length in zero bits is applied as
// powers of the one-bit operator, squared log2(lenB) times, as zlib's
// crc32_combine does. With it, the CRC-32 of A followed by B costs one
// matrix times a vector: gf2Times(&shift, crcA) ^ crcB.
func crc32Shift(lenB int64) [32]uint32 {
	var result [32]uint32
	for n := range 32 {
		result[n] = 1 << n // the identity
	}
	if lenB <= 0 {
		return result
	}
	apply := func(op *[32]uint32) {
		var r [32]uint32
		for n := range 32 {
			r[n] = gf2Times(op, result[n])
		}
		result = r
	}
	var even, odd [32]uint32
	odd[0] = 0xedb88320
	row := uint32(1)
	for n := 1; n < 32; n++ {
		odd[n] = row
		row <<= 1
	}
	gf2Square(&even, &odd)
	gf2Square(&odd, &even)
	for {
		gf2Square(&even, &odd)
		if lenB&1 != 0 {
			apply(&even)
		}
		lenB >>= 1
		if lenB == 0 {
			break
		}
		gf2Square(&odd, &even)
		if lenB&1 != 0 {
			apply(&odd)
		}
		lenB >>= 1
		if lenB == 0 {
			break
		}
	}
	return result
}

func gf2Times(mat *[32]uint32, vec uint32) uint32 {
	var sum uint32
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func gf2Square(square, mat *[32]uint32) {
	for n := range 32 {
		square[n] = gf2Times(mat, mat[n])
	}
}
