package elbv2

import (
	"context"
	"slices"
	"strings"

	"github.com/quayside/quayside/internal/api/awsproto"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/store"
)

func (a *API) tagOps() map[string]awsproto.Handler {
	return map[string]awsproto.Handler{
		"AddTags":      awsproto.Typed(a.addTags),
		"RemoveTags":   awsproto.Typed(a.removeTags),
		"DescribeTags": awsproto.Typed(a.describeTags),
	}
}

const maxTagResources = 20

// tagsIn checks request tags (the model checks lengths and characters):
// no key twice, no "aws:" prefix, at most 50.
func tagsIn(tags []Tag) ([]store.ELBTag, error) {
	if len(tags) > maxTagsPerResource {
		return nil, errs.New(errTooManyTags, "The quota for the number of tags that can be assigned to a resource (%d) has been reached", maxTagsPerResource)
	}
	out := make([]store.ELBTag, 0, len(tags))
	seen := map[string]bool{}
	for _, t := range tags {
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return nil, validation("Tag keys starting with 'aws:' are reserved for internal use")
		}
		if seen[t.Key] {
			return nil, errs.New(errDuplicateTagKeys, "Tag key '%s' specified more than once", t.Key)
		}
		seen[t.Key] = true
		out = append(out, store.ELBTag{Key: t.Key, Value: t.Value})
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func tagsOut(tags []store.ELBTag) []Tag {
	out := make([]Tag, 0, len(tags))
	for _, t := range tags {
		out = append(out, Tag{Key: t.Key, Value: t.Value})
	}
	return out
}

// tagged is a taggable record read for a tag operation, with where it
// is stored.
type tagged struct {
	key  string
	tags *[]store.ELBTag
	rec  any
}

// getTagged reads the resource an ARN names (load balancer, target group,
// listener or rule); a missing one is that kind's NotFound error.
func (a *API) getTagged(tx store.ReadTx, s string) (tagged, error) {
	r, err := a.parseARN(s, "")
	if err != nil {
		return tagged{}, err
	}
	switch r.kind {
	case "loadbalancer":
		lb, err := a.getLB(tx, s)
		if err != nil {
			return tagged{}, err
		}
		return tagged{store.LoadBalancerKey(lb.ID), &lb.Tags, lb}, nil
	case "targetgroup":
		tg, err := a.getTG(tx, s)
		if err != nil {
			return tagged{}, err
		}
		return tagged{store.TargetGroupKey(tg.ID), &tg.Tags, tg}, nil
	case "listener":
		l, _, err := a.getListener(tx, s)
		if err != nil {
			return tagged{}, err
		}
		return tagged{store.ListenerKey(l.LoadBalancerID, l.ID), &l.Tags, l}, nil
	}
	ref, err := a.getRule(tx, s)
	if err != nil {
		return tagged{}, err
	}
	if ref.rule == nil {
		// The default rule lives in its listener's record, with tags of
		// its own.
		return tagged{store.ListenerKey(ref.listener.LoadBalancerID, ref.listener.ID), &ref.listener.DefaultRuleTags, ref.listener}, nil
	}
	return tagged{store.RuleKey(ref.lb.ID, ref.listener.ID, ref.rule.ID), &ref.rule.Tags, ref.rule}, nil
}

func checkTagResources(arns []string) error {
	if len(arns) > maxTagResources {
		return validation("At most %d resource ARNs can be specified", maxTagResources)
	}
	return nil
}

func (a *API) addTags(ctx context.Context, in *AddTagsInput) (*AddTagsOutput, error) {
	if err := checkTagResources(in.ResourceArns); err != nil {
		return nil, err
	}
	add, err := tagsIn(in.Tags)
	if err != nil {
		return nil, err
	}
	err = a.update(ctx, func(tx store.Tx) error {
		for _, s := range in.ResourceArns {
			t, err := a.getTagged(tx, s)
			if err != nil {
				return err
			}
			for _, nt := range add {
				if i := slices.IndexFunc(*t.tags, func(o store.ELBTag) bool { return o.Key == nt.Key }); i >= 0 {
					(*t.tags)[i] = nt
				} else {
					*t.tags = append(*t.tags, nt)
				}
			}
			if len(*t.tags) > maxTagsPerResource {
				return errs.New(errTooManyTags, "The quota for the number of tags that can be assigned to a resource (%d) has been reached", maxTagsPerResource)
			}
			if err := store.PutJSON(tx, t.key, t.rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &AddTagsOutput{}, nil
}

func (a *API) removeTags(ctx context.Context, in *RemoveTagsInput) (*RemoveTagsOutput, error) {
	if err := checkTagResources(in.ResourceArns); err != nil {
		return nil, err
	}
	err := a.update(ctx, func(tx store.Tx) error {
		for _, s := range in.ResourceArns {
			t, err := a.getTagged(tx, s)
			if err != nil {
				return err
			}
			*t.tags = slices.DeleteFunc(*t.tags, func(o store.ELBTag) bool { return slices.Contains(in.TagKeys, o.Key) })
			if len(*t.tags) == 0 {
				*t.tags = nil
			}
			if err := store.PutJSON(tx, t.key, t.rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &RemoveTagsOutput{}, nil
}

func (a *API) describeTags(ctx context.Context, in *DescribeTagsInput) (*DescribeTagsOutput, error) {
	if err := checkTagResources(in.ResourceArns); err != nil {
		return nil, err
	}
	out := &DescribeTagsOutput{TagDescriptions: []TagDescription{}}
	err := a.view(ctx, func(tx store.ReadTx) error {
		for _, s := range in.ResourceArns {
			t, err := a.getTagged(tx, s)
			if err != nil {
				return err
			}
			out.TagDescriptions = append(out.TagDescriptions, TagDescription{ResourceArn: s, Tags: tagsOut(*t.tags)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
