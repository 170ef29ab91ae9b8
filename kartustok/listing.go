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

package kartustok

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
)

// MaxRereads is how many times a listing whose pages disagree is read
// again from page 1 before the call fails with KindInconsistentPages.
const MaxRereads = 2

// ListInfo describes how a list call was read.
type ListInfo struct {
	// Pages is the number of pages of the read that was returned (1 for
	// an unpaginated list).
	Pages int
	// Requests is the number of pages requested in all, re-reads included
	// (retries of one page are not counted).
	Requests int
	// Rereads is how many times the listing was read again from page 1
	// because its pages disagreed.
	Rereads int
	// Invalid lists the rows that were skipped because they could not be
	// used; every other row was kept.
	Invalid []InvalidRow
	// Truncated counts the texts cut to MaxLabelBytes in the rows returned.
	Truncated int
}

// ListReport is what an Observer learns of each list call that got
// answers: the checks of its data, beyond the requests it sent.
type ListReport struct {
	Endpoint string
	// Rereads counts reads from page 1 again after pages disagreed.
	Rereads int
	// Failed is the Kind of the call's error when the requests were
	// answered but their data failed the checks: KindInconsistentPages
	// when the pages still disagreed after every re-read,
	// KindInvalidResponse when the listing is too large to read. Failed
	// requests are reported to ObserveRequest instead.
	Failed ErrorKind
	// InvalidRows counts the rows skipped in the rows returned.
	InvalidRows int
	// TruncatedLabels counts the texts cut in the rows returned.
	TruncatedLabels int
}

// errInconsistent is why one read of a listing cannot be trusted; the
// listing is read again from page 1.
type errInconsistent struct{ msg string }

func (e *errInconsistent) Error() string { return e.msg }

func inconsistent(format string, args ...any) error {
	return &errInconsistent{msg: fmt.Sprintf(format, args...)}
}

// listingError is an *Error that the pages' data, not a request, caused.
type listingError struct{ err *Error }

func (l listingError) Error() string { return l.err.Error() }
func (l listingError) Unwrap() error { return l.err }

// pageCheck decides, page by page, whether a listing goes on, ended
// complete, or cannot be trusted. A listing is complete only when every
// page that says which page it is says the one asked for; meta.total, when
// the server sends it, is the same on every page and equals the number of
// distinct rows read; no row key comes twice; and the pages stop at
// ceil(total / per_page), one more at most for a short read. Without a
// total, the listing ends on a short or empty page, or at last_page once
// one more page has confirmed it, and may take at most blindCap pages.
type pageCheck struct {
	asked    int // per_page asked for
	hardCap  int // pages never exceeded
	blindCap int // pages allowed without a total
	perPage  int // per_page in force, fixed by page 1
	total    int
	hasTotal bool
	seen     map[rowKey]struct{}
	rows     int // distinct keys plus rows without a readable key
	pages    int
	confirm  bool // reading one page past last_page to see it is empty
}

func newPageCheck(asked, hardCap, blindCap int) *pageCheck {
	return &pageCheck{asked: asked, hardCap: hardCap, blindCap: min(blindCap, hardCap), seen: map[rowKey]struct{}{}}
}

// add takes page number page, its meta block and the keys of its rows, and
// reports whether the next page is needed. err is an *errInconsistent when
// the listing must be read again, or an *Error when it is too large to read.
func (c *pageCheck) add(endpoint string, page int, m *PageMeta, keys []pageKey) (more bool, err error) {
	c.pages = page
	if m != nil && m.CurrentPage != nil && *m.CurrentPage != page {
		return false, inconsistent("page %d came back as page %d", page, *m.CurrentPage)
	}
	pp := c.asked
	if m != nil && m.PerPage != nil && *m.PerPage >= 1 && *m.PerPage < c.asked {
		// A server that caps the page size lower must not make its
		// full pages look short.
		pp = *m.PerPage
	}
	if page == 1 {
		c.perPage = pp
	} else if pp != c.perPage {
		return false, inconsistent("per_page changed from %d to %d on page %d", c.perPage, pp, page)
	}
	if len(keys) > c.perPage {
		return false, inconsistent("page %d has %d rows, more than per_page %d", page, len(keys), c.perPage)
	}
	switch {
	case m != nil && m.Total != nil && page == 1:
		c.total, c.hasTotal = *m.Total, true
		if c.total < 0 {
			return false, inconsistent("meta.total is %d", c.total)
		}
		if need := pagesFor(c.total, c.perPage); need > c.hardCap {
			return false, &Error{
				Kind: KindInvalidResponse, Endpoint: endpoint,
				Message: fmt.Sprintf("meta.total of %d rows needs %d pages, more than the cap of %d", c.total, need, c.hardCap),
			}
		}
	case m != nil && m.Total != nil && (!c.hasTotal || *m.Total != c.total):
		if !c.hasTotal {
			return false, inconsistent("page %d has a meta.total, page 1 had none", page)
		}
		return false, inconsistent("meta.total changed from %d to %d on page %d", c.total, *m.Total, page)
	case (m == nil || m.Total == nil) && c.hasTotal:
		return false, inconsistent("page %d has no meta.total, page 1 had %d", page, c.total)
	}
	for _, k := range keys {
		if !k.ok {
			c.rows++
			continue
		}
		if _, dup := c.seen[k.k]; dup {
			return false, inconsistent("row %s on page %d came already", describeKey(k.k), page)
		}
		c.seen[k.k] = struct{}{}
		c.rows++
	}
	if len(keys) == 0 {
		return false, nil
	}
	if c.hasTotal {
		return c.rows < c.total && page <= pagesFor(c.total, c.perPage), nil
	}
	if c.confirm {
		return false, inconsistent("meta.last_page is %d, yet page %d has rows", page-1, page)
	}
	if len(keys) < c.perPage {
		return false, nil
	}
	if page >= c.blindCap {
		return false, &Error{
			Kind: KindInvalidResponse, Endpoint: endpoint,
			Message: fmt.Sprintf("more than %d pages without a meta.total to justify them; the server's pagination does not end", c.blindCap),
		}
	}
	if m != nil && m.LastPage != nil && page >= *m.LastPage {
		// A full page the server calls the last: one more read shows
		// whether it is.
		c.confirm = true
	}
	return true, nil
}

// finish checks a listing that ended.
func (c *pageCheck) finish() error {
	if c.hasTotal && c.rows != c.total {
		return inconsistent("read %d distinct rows in %d pages, meta.total says %d", c.rows, c.pages, c.total)
	}
	return nil
}

// pagesFor is the number of pages total rows take, at least 1.
func pagesFor(total, perPage int) int {
	return max(1, (total+perPage-1)/perPage)
}

func describeKey(k rowKey) string {
	if k.LocatorID != "" {
		return strconv.Quote(truncate(string(k.LocatorID), 40)) + "/" + strconv.Quote(truncate(string(k.ID), 40))
	}
	return strconv.Quote(truncate(string(k.ID), 40))
}

// getPages fetches every page of a paginated endpoint and checks that they
// make one consistent listing (see pageCheck), reading it again from page 1
// up to MaxRereads times when they do not. No answer of the server can make
// it loop: a listing takes at most the pages its meta.total justifies (and
// never more than the client's page cap), or without a total at most one
// window's budget of pages.
func getPages[T keyed](ctx context.Context, c *Client, endpoint string, q url.Values) ([]T, ListInfo, error) {
	var info ListInfo
	report := ListReport{Endpoint: endpoint}
	defer func() { c.obs.ObserveListing(report) }()
	var last error
	for read := 0; read <= MaxRereads; read++ {
		if read > 0 {
			info.Rereads++
			report.Rereads++
		}
		rows, p, err := readPages[T](ctx, c, endpoint, q)
		info.Requests += p.Pages
		if _, ok := errors.AsType[*errInconsistent](err); ok {
			last = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if lerr, ok := errors.AsType[listingError](err); ok {
			report.Failed = lerr.err.Kind
			return nil, info, lerr.err
		}
		if err != nil {
			return nil, info, err
		}
		info.Pages, info.Invalid, info.Truncated = p.Pages, p.Invalid, p.Truncated
		report.InvalidRows, report.TruncatedLabels = len(p.Invalid), p.Truncated
		return rows, info, nil
	}
	report.Failed = KindInconsistentPages
	return nil, info, &Error{
		Kind: KindInconsistentPages, Endpoint: endpoint,
		Message: fmt.Sprintf("the pages disagreed in %d reads, the last time: %v", info.Rereads+1, last),
	}
}

// readPages reads a listing once from page 1. Its ListInfo holds the pages
// requested, and the skipped rows and cut texts of the rows returned.
func readPages[T keyed](ctx context.Context, c *Client, endpoint string, q url.Values) ([]T, ListInfo, error) {
	var (
		all  []T
		info ListInfo
	)
	q.Set("per_page", strconv.Itoa(PerPage))
	check := newPageCheck(PerPage, c.maxPages, c.budget)
	for page := 1; ; page++ {
		q.Set("page", strconv.Itoa(page))
		var p listPage[T]
		err := c.get(ctx, endpoint, endpoint, q, func(body []byte) error {
			var err error
			p, err = decodeList[T](body, page)
			return err
		})
		if err != nil {
			return nil, info, err
		}
		info.Pages = page
		more, err := check.add(endpoint, page, p.meta, p.keys)
		if e, ok := errors.AsType[*Error](err); ok {
			return nil, info, listingError{e}
		}
		if err != nil {
			return nil, info, err
		}
		all = append(all, p.rows...)
		info.Invalid = append(info.Invalid, p.invalid...)
		info.Truncated += p.cut
		if !more {
			break
		}
	}
	if err := check.finish(); err != nil {
		return nil, info, err
	}
	return all, info, nil
}

// getList fetches an unpaginated list, skipping rows that cannot be used
// as getPages does.
func getList[T keyed](ctx context.Context, c *Client, endpoint string) ([]T, ListInfo, error) {
	var p listPage[T]
	err := c.get(ctx, endpoint, endpoint, nil, func(body []byte) error {
		var err error
		p, err = decodeList[T](body, 1)
		return err
	})
	if err != nil {
		return nil, ListInfo{Requests: 1}, err
	}
	c.obs.ObserveListing(ListReport{Endpoint: endpoint, InvalidRows: len(p.invalid), TruncatedLabels: p.cut})
	return p.rows, ListInfo{Pages: 1, Requests: 1, Invalid: p.invalid, Truncated: p.cut}, nil
}
