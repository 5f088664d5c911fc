package ecs

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"unicode/utf16"

	"github.com/quayside/quayside/internal/api/awsproto"
	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

const maxTags = 50

var tagCharsRE = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

func (a *API) tagOps() map[string]awsproto.Handler {
	return map[string]awsproto.Handler{
		"TagResource":         awsproto.Typed(a.tagResource),
		"UntagResource":       awsproto.Typed(a.untagResource),
		"ListTagsForResource": awsproto.Typed(a.listTagsForResource),
	}
}

// validateTags checks a tag list as ECS does: at most 50, keys 1–128 and
// values up to 256 characters from the allowed set, no reserved "aws:"
// prefix, no key twice.
func validateTags(tags []model.Tag) error {
	if len(tags) > maxTags {
		return errs.New(errs.InvalidParameter, "The number of tags exceeds the limit of %d.", maxTags)
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if err := validateTagKey(t.Key); err != nil {
			return err
		}
		if charLen(t.Value) > 256 || !tagCharsRE.MatchString(t.Value) {
			return errs.New(errs.InvalidParameter, "Tag value %q is invalid: values are at most 256 letters, numbers, spaces and _.:/=+-@.", t.Value)
		}
		if seen[t.Key] {
			return errs.New(errs.InvalidParameter, "Duplicate tag key %q.", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}

func validateTagKey(k string) error {
	switch {
	case k == "" || charLen(k) > 128 || !tagCharsRE.MatchString(k):
		return errs.New(errs.InvalidParameter, "Tag key %q is invalid: keys are 1 to 128 letters, numbers, spaces and _.:/=+-@.", k)
	case strings.HasPrefix(strings.ToLower(k), "aws:"):
		return errs.New(errs.InvalidParameter, "Tag keys starting with 'aws:' are reserved for internal use.")
	}
	return nil
}

// charLen is the length of s as ECS counts it (and the request validator
// does): in UTF-16 code units, not bytes, so non-ASCII tags get the same
// 128/256 limits.
func charLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// mergeTags returns old with the tags of add set (replacing equal keys).
func mergeTags(old, add []model.Tag) []model.Tag {
	return upsert(old, add, func(t model.Tag) string { return t.Key })
}

// upsert returns a copy of old in which each item of set replaces the item
// with the same key, or is appended when there is none.
func upsert[T any](old, set []T, key func(T) string) []T {
	out := slices.Clone(old)
	for _, v := range set {
		i := slices.IndexFunc(out, func(o T) bool { return key(o) == key(v) })
		if i >= 0 {
			out[i] = v
		} else {
			out = append(out, v)
		}
	}
	return out
}

// taggable is a stored resource found by ARN: its key, its decoded record
// and a pointer to the record's tag list.
type taggable struct {
	key    string
	record any
	tags   *[]model.Tag
}

// findTaggable resolves a long-format ECS ARN of this region and account
// to the record that holds its tags.
func (a *API) findTaggable(tx store.ReadTx, ref string) (*taggable, error) {
	r, err := arn.Parse(ref)
	if err != nil || r.Service != "ecs" {
		return nil, errs.New(errs.InvalidParameter, "The ARN %q is not a valid Amazon ECS resource ARN.", ref)
	}
	if err := checkARNScope(ref, a.scope.ECS(r.Resource)); err != nil {
		return nil, err
	}
	p := r.Path()
	var t *taggable
	switch {
	case r.Type() == "cluster" && len(p) == 1:
		c := new(model.Cluster)
		t = &taggable{key: store.ClusterKey(p[0]), record: c, tags: &c.Tags}
	case r.Type() == "task-definition" && len(p) == 1:
		family, rev, perr := parseTaskDefinitionRef(ref)
		if perr != nil || rev == 0 {
			return nil, errs.New(errs.InvalidParameter, "The ARN %q is not a valid task definition ARN.", ref)
		}
		td := new(store.TaskDefinitionRecord)
		t = &taggable{key: store.TaskDefKey(family, rev), record: td, tags: &td.DefinitionTags}
	case len(p) != 2:
		return nil, errs.New(errs.InvalidParameter, "Long arn format must be used for tagging operations")
	case r.Type() == "service":
		s := new(store.ServiceRecord)
		t = &taggable{key: store.ServiceKey(p[0], p[1]), record: s, tags: &s.Tags}
	case r.Type() == "task":
		tk := new(store.TaskRecord)
		t = &taggable{key: store.TaskKey(p[0], p[1]), record: tk, tags: &tk.Tags}
	case r.Type() == "container-instance":
		in := new(store.InstanceRecord)
		t = &taggable{key: store.InstanceKey(p[0], p[1]), record: in, tags: &in.Tags}
	default:
		return nil, errs.New(errs.InvalidParameter, "The ARN %q is not a taggable Amazon ECS resource.", ref)
	}
	if r.Type() != "cluster" && r.Type() != "task-definition" {
		if _, err := activeCluster(tx, p[0]); err != nil {
			return nil, err
		}
	}
	_, ok, err := store.GetJSON(tx, t.key, t.record)
	if err != nil {
		return nil, err
	}
	if !ok {
		if r.Type() == "cluster" {
			return nil, errs.New(errs.ClusterNotFound, "Cluster not found.")
		}
		return nil, errs.New(errs.ResourceNotFound, "The specified resource could not be found.")
	}
	return t, nil
}

func (a *API) tagResource(ctx context.Context, in *model.TagResourceRequest) (*model.TagResourceResponse, error) {
	if len(in.Tags) == 0 {
		return nil, errs.New(errs.InvalidParameter, "Tags cannot be empty.")
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	err := a.update(ctx, func(tx store.Tx) error {
		t, err := a.findTaggable(tx, in.ResourceArn)
		if err != nil {
			return err
		}
		if c, ok := t.record.(*model.Cluster); ok && c.Status != model.StatusActive {
			return errs.New(errs.InvalidParameter, "The specified cluster is inactive. Specify an active cluster and try again.")
		}
		merged := mergeTags(*t.tags, in.Tags)
		if len(merged) > maxTags {
			return errs.New(errs.LimitExceeded, "The number of tags on the resource exceeds the limit of %d.", maxTags)
		}
		*t.tags = merged
		return store.PutJSON(tx, t.key, t.record)
	})
	return &model.TagResourceResponse{}, err
}

func (a *API) untagResource(ctx context.Context, in *model.UntagResourceRequest) (*model.UntagResourceResponse, error) {
	for _, k := range in.TagKeys {
		if err := validateTagKey(k); err != nil {
			return nil, err
		}
	}
	err := a.update(ctx, func(tx store.Tx) error {
		t, err := a.findTaggable(tx, in.ResourceArn)
		if err != nil {
			return err
		}
		*t.tags = slices.DeleteFunc(*t.tags, func(tag model.Tag) bool { return slices.Contains(in.TagKeys, tag.Key) })
		return store.PutJSON(tx, t.key, t.record)
	})
	return &model.UntagResourceResponse{}, err
}

func (a *API) listTagsForResource(ctx context.Context, in *model.ListTagsForResourceRequest) (*model.ListTagsForResourceResponse, error) {
	out := &model.ListTagsForResourceResponse{Tags: []model.Tag{}}
	err := a.view(ctx, func(tx store.ReadTx) error {
		t, err := a.findTaggable(tx, in.ResourceArn)
		if err != nil {
			return err
		}
		if *t.tags != nil {
			out.Tags = *t.tags
		}
		return nil
	})
	return out, err
}
