package ecs

import (
	"context"
	"slices"
	"strings"

	"github.com/quayside/quayside/internal/api/awsproto"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

func (a *API) attributeOps() map[string]awsproto.Handler {
	return map[string]awsproto.Handler{
		"PutAttributes":    awsproto.Typed(a.putAttributes),
		"DeleteAttributes": awsproto.Typed(a.deleteAttributes),
		"ListAttributes":   awsproto.Typed(a.listAttributes),
	}
}

const msgTargetNotFound = "The specified target wasn't found. You can view your available container instances with ListContainerInstances. Amazon ECS container instances are cluster-specific and Region-specific."

func (a *API) putAttributes(ctx context.Context, in *model.PutAttributesRequest) (*model.PutAttributesResponse, error) {
	if err := checkAttributeRequest(in.Attributes, true); err != nil {
		return nil, err
	}
	err := a.update(ctx, func(tx store.Tx) error {
		return a.editAttributes(tx, in.Cluster, in.Attributes, func(rec *store.InstanceRecord, ats []model.Attribute) error {
			rec.Attributes = store.SetAttributes(rec.Attributes, ats)
			return store.CheckCustomAttributeLimit(rec.Attributes)
		})
	})
	if err != nil {
		return nil, err
	}
	return &model.PutAttributesResponse{Attributes: in.Attributes}, nil
}

func (a *API) deleteAttributes(ctx context.Context, in *model.DeleteAttributesRequest) (*model.DeleteAttributesResponse, error) {
	if err := checkAttributeRequest(in.Attributes, false); err != nil {
		return nil, err
	}
	err := a.update(ctx, func(tx store.Tx) error {
		return a.editAttributes(tx, in.Cluster, in.Attributes, func(rec *store.InstanceRecord, ats []model.Attribute) error {
			rec.Attributes = slices.DeleteFunc(rec.Attributes, func(x model.Attribute) bool {
				return slices.ContainsFunc(ats, func(d model.Attribute) bool { return d.Name == x.Name })
			})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return &model.DeleteAttributesResponse{Attributes: in.Attributes}, nil
}

// checkAttributeRequest validates the attributes of a Put/DeleteAttributes
// call before anything is read.
func checkAttributeRequest(ats []model.Attribute, put bool) error {
	if len(ats) == 0 {
		return errs.New(errs.InvalidParameter, "Attributes cannot be empty.")
	}
	if len(ats) > maxAttributesPerOp {
		return errs.New(errs.InvalidParameter, "A maximum of %d attributes can be given in one call.", maxAttributesPerOp)
	}
	for _, at := range ats {
		if at.TargetId == "" {
			return errs.New(errs.InvalidParameter, "Attribute %s has no targetId.", at.Name)
		}
		if !strings.HasPrefix(at.TargetId, "arn:") && at.TargetType == "" {
			return errs.New(errs.InvalidParameter, "targetType is required when targetId %s is not a full ARN.", at.TargetId)
		}
		if !put {
			at.Value = ""
		}
		if err := store.ValidateAttribute(at); err != nil {
			return err
		}
	}
	return nil
}

// editAttributes groups ats by target instance and applies edit to each,
// all in tx: an unknown target fails the whole call before anything is
// written.
func (a *API) editAttributes(tx store.Tx, clusterRef string, ats []model.Attribute,
	edit func(rec *store.InstanceRecord, ats []model.Attribute) error) error {
	c, err := activeCluster(tx, clusterRef)
	if err != nil {
		return err
	}
	var order []string
	recs := map[string]*store.InstanceRecord{}
	byID := map[string][]model.Attribute{}
	for _, at := range ats {
		rec, err := getInstance(tx, c.ClusterName, at.TargetId)
		if err != nil {
			return err
		}
		if rec == nil || rec.Status == model.StatusInactive {
			return errs.New(errs.TargetNotFound, msgTargetNotFound)
		}
		if recs[rec.ID] == nil {
			recs[rec.ID] = rec
			order = append(order, rec.ID)
		}
		byID[rec.ID] = append(byID[rec.ID], at)
	}
	for _, id := range order {
		rec := recs[id]
		if err := edit(rec, byID[id]); err != nil {
			return err
		}
		rec.Version++
		if err := store.PutJSON(tx, store.InstanceKey(c.ClusterName, id), rec); err != nil {
			return err
		}
	}
	return nil
}

// listAttributes lists one entry per attribute per (non-INACTIVE) container
// instance, in instance order. The page token is the instance key plus the
// name of the last attribute listed.
func (a *API) listAttributes(ctx context.Context, in *model.ListAttributesRequest) (*model.ListAttributesResponse, error) {
	if in.AttributeValue != "" && in.AttributeName == "" {
		return nil, errs.New(errs.InvalidParameter, "attributeName must be given when attributeValue is.")
	}
	p, err := newPager(in.NextToken, in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	var out *model.ListAttributesResponse
	err = a.view(ctx, func(tx store.ReadTx) error {
		out = &model.ListAttributesResponse{Attributes: []model.Attribute{}}
		c, err := activeCluster(tx, in.Cluster)
		if err != nil {
			return err
		}
		l := &attrLister{in: in, limit: p.limit, out: out}
		return l.run(tx, store.InstancesPrefix+c.ClusterName+"/", p.after)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type attrLister struct {
	in      *model.ListAttributesRequest
	limit   int
	out     *model.ListAttributesResponse
	lastKey string // instance key of the last attribute listed
}

func (l *attrLister) run(tx store.ReadTx, prefix, after string) error {
	startKey, afterName, resumed := strings.Cut(after, "\x00")
	if after != "" && (!resumed || !strings.HasPrefix(startKey, prefix)) {
		return errs.New(errs.InvalidParameter, "Invalid nextToken.")
	}
	if resumed {
		rec := new(store.InstanceRecord)
		if _, ok, err := store.GetJSON(tx, startKey, rec); err != nil {
			return err
		} else if ok && !l.add(startKey, rec, afterName) {
			return nil
		}
	}
	return store.ScanJSON(tx, prefix, startKey, func(key string, rec *store.InstanceRecord) (bool, error) {
		return l.add(key, rec, ""), nil
	})
}

// add lists rec's matching attributes that sort after afterName; it returns
// false once the page is full (having set the next token).
func (l *attrLister) add(key string, rec *store.InstanceRecord, afterName string) bool {
	if rec.Status == model.StatusInactive {
		return true
	}
	ats := slices.Clone(rec.Attributes)
	slices.SortFunc(ats, func(x, y model.Attribute) int { return strings.Compare(x.Name, y.Name) })
	for _, at := range ats {
		if (afterName != "" && at.Name <= afterName) || !l.matches(at) {
			continue
		}
		if len(l.out.Attributes) == l.limit {
			last := l.out.Attributes[len(l.out.Attributes)-1]
			l.out.NextToken = pageToken(l.lastKey + "\x00" + last.Name)
			return false
		}
		l.out.Attributes = append(l.out.Attributes, model.Attribute{
			Name: at.Name, Value: at.Value, TargetId: rec.ContainerInstanceArn, TargetType: model.TargetTypeContainerInstance,
		})
		l.lastKey = key
	}
	return true
}

func (l *attrLister) matches(at model.Attribute) bool {
	if l.in.AttributeName != "" && at.Name != l.in.AttributeName {
		return false
	}
	return l.in.AttributeValue == "" || at.Value == l.in.AttributeValue
}
