package ecs

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// tdEntry is one revision in a ListTaskDefinitions listing.
type tdEntry struct {
	family string
	rev    int64
}

// compare orders by family name, then numerically by revision.
func (e tdEntry) compare(o tdEntry) int {
	if c := strings.Compare(e.family, o.family); c != 0 {
		return c
	}
	return cmp.Compare(e.rev, o.rev)
}

// cursor is the nextToken position of e ("/family:revision"; newPager wants
// a leading "/").
func (e tdEntry) cursor() string { return "/" + e.family + ":" + strconv.FormatInt(e.rev, 10) }

func parseTDCursor(s string) (tdEntry, bool, error) {
	if s == "" {
		return tdEntry{}, false, nil
	}
	family, revStr, ok := strings.Cut(strings.TrimPrefix(s, "/"), ":")
	rev, err := strconv.ParseInt(revStr, 10, 64)
	if !ok || err != nil || !validName(family) {
		return tdEntry{}, false, errs.New(errs.InvalidParameter, "Invalid nextToken.")
	}
	return tdEntry{family: family, rev: rev}, true, nil
}

// listTaskDefinitions lists revisions of one status (ACTIVE by default),
// optionally of one family (familyPrefix is an exact family name), sorted by
// family then revision, ascending or descending.
func (a *API) listTaskDefinitions(ctx context.Context, in *model.ListTaskDefinitionsRequest) (*model.ListTaskDefinitionsResponse, error) {
	status := cmp.Or(in.Status, model.TaskDefinitionStatusActive)
	if !slices.Contains([]model.TaskDefinitionStatus{model.TaskDefinitionStatusActive, model.TaskDefinitionStatusInactive, model.TaskDefinitionStatusDeleteInProgress}, status) {
		return nil, errs.New(errs.InvalidParameter, "Invalid status '%s'. Valid values are ACTIVE, INACTIVE and DELETE_IN_PROGRESS.", status)
	}
	dir := 1
	switch in.Sort {
	case "", model.SortOrderAsc:
	case model.SortOrderDesc:
		dir = -1
	default:
		return nil, errs.New(errs.InvalidParameter, "Invalid sort '%s'. Valid values are ASC and DESC.", in.Sort)
	}
	p, err := newPager(in.NextToken, in.MaxResults, taskDefListPageSize, taskDefListPageSize)
	if err != nil {
		return nil, err
	}
	after, hasAfter, err := parseTDCursor(p.after)
	if err != nil {
		return nil, err
	}
	var entries []tdEntry
	err = a.view(ctx, func(tx store.ReadTx) error {
		var err error
		entries, err = scanTaskDefs(tx, in.FamilyPrefix, status)
		return err
	})
	if err != nil {
		return nil, err
	}
	order := func(x, y tdEntry) int { return dir * x.compare(y) }
	slices.SortFunc(entries, order)
	start := 0
	if hasAfter {
		start, _ = slices.BinarySearchFunc(entries, after, func(e, t tdEntry) int {
			if order(e, t) <= 0 {
				return -1
			}
			return 1
		})
	}
	return a.taskDefPage(entries[start:], p.limit), nil
}

func (a *API) taskDefPage(entries []tdEntry, limit int) *model.ListTaskDefinitionsResponse {
	out := &model.ListTaskDefinitionsResponse{TaskDefinitionArns: []string{}}
	if len(entries) > limit {
		entries = entries[:limit]
		out.NextToken = pageToken(entries[limit-1].cursor())
	}
	for _, e := range entries {
		out.TaskDefinitionArns = append(out.TaskDefinitionArns, a.scope.TaskDefinition(e.family, e.rev))
	}
	return out
}

// scanTaskDefs lists the revisions of status, of family only when family
// is not empty. It reads the status member alone, not whole definitions.
func scanTaskDefs(tx store.ReadTx, family string, status model.TaskDefinitionStatus) ([]tdEntry, error) {
	prefix := store.TaskDefsPrefix
	if family != "" {
		if !validName(family) {
			return nil, nil
		}
		prefix += family + "/"
	}
	var out []tdEntry
	err := tx.Scan(prefix, "", func(kv store.KV) (bool, error) {
		rest := strings.TrimPrefix(kv.Key, store.TaskDefsPrefix)
		i := strings.LastIndexByte(rest, '/')
		rev, err := strconv.ParseInt(rest[i+1:], 10, 64)
		if i < 0 || err != nil {
			return true, nil // not a revision record
		}
		if jsonString(kv.Value, "status") == string(status) {
			out = append(out, tdEntry{family: rest[:i], rev: rev})
		}
		return true, nil
	})
	return out, err
}

// listTaskDefinitionFamilies lists family names starting with familyPrefix.
// ACTIVE families have at least one ACTIVE revision, INACTIVE ones none;
// ALL (the default) lists both. A family whose revisions have all been
// purged is not listed.
func (a *API) listTaskDefinitionFamilies(ctx context.Context, in *model.ListTaskDefinitionFamiliesRequest) (*model.ListTaskDefinitionFamiliesResponse, error) {
	status := cmp.Or(in.Status, model.TaskDefinitionFamilyStatusAll)
	var want func(*store.FamilyRecord) bool
	switch status {
	case model.TaskDefinitionFamilyStatusAll:
		want = func(*store.FamilyRecord) bool { return true }
	case model.TaskDefinitionFamilyStatusActive:
		want = func(f *store.FamilyRecord) bool { return f.Active > 0 }
	case model.TaskDefinitionFamilyStatusInactive:
		want = func(f *store.FamilyRecord) bool { return f.Active <= 0 }
	default:
		return nil, errs.New(errs.InvalidParameter, "Invalid status '%s'. Valid values are ACTIVE, INACTIVE and ALL.", status)
	}
	p, err := newPager(in.NextToken, in.MaxResults, taskDefListPageSize, taskDefListPageSize)
	if err != nil {
		return nil, err
	}
	out := &model.ListTaskDefinitionFamiliesResponse{}
	err = a.view(ctx, func(tx store.ReadTx) error {
		var err error
		out.Families, out.NextToken, err = listPage(tx, store.FamiliesPrefix+in.FamilyPrefix, p,
			func(f *store.FamilyRecord) (string, bool) { return f.Family, f.Stored > 0 && want(f) })
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
