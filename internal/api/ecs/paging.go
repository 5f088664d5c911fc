package ecs

import (
	"encoding/base64"
	"strings"

	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/store"
)

// pager is one page request of a List operation: the key to resume after
// and the page size.
type pager struct {
	after string
	limit int
}

// newPager reads nextToken and maxResults. def is the operation's default
// page size and hi its largest (from the paginator model).
func newPager(token string, maxResults *int32, def, hi int) (pager, error) {
	p := pager{limit: def}
	if maxResults != nil {
		if *maxResults < 1 || int(*maxResults) > hi {
			return p, errs.New(errs.InvalidParameter, "maxResults must be between 1 and %d.", hi)
		}
		p.limit = int(*maxResults)
	}
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || !strings.HasPrefix(string(raw), "/") {
			return p, errs.New(errs.InvalidParameter, "Invalid nextToken.")
		}
		p.after = string(raw)
	}
	return p, nil
}

func pageToken(lastKey string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(lastKey))
}

// listPage scans prefix from the pager's position, decoding each record as
// T; pick returns the item to list for a record, or ok=false to skip it. It
// returns at most p.limit items and the token of the next page ("" when
// nothing more matches).
func listPage[T any, I any](tx store.ReadTx, prefix string, p pager, pick func(v *T) (item I, ok bool)) ([]I, string, error) {
	items := []I{}
	var lastKey, next string
	after := p.after
	if after != "" && !strings.HasPrefix(after, prefix) {
		return items, "", nil
	}
	err := store.ScanJSON(tx, prefix, after, func(key string, v *T) (bool, error) {
		item, ok := pick(v)
		if !ok {
			return true, nil
		}
		if len(items) == p.limit {
			next = pageToken(lastKey)
			return false, nil
		}
		items = append(items, item)
		lastKey = key
		return true, nil
	})
	return items, next, err
}
