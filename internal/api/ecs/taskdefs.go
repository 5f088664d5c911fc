package ecs

import (
	"context"
	"slices"

	"github.com/quayside/quayside/internal/api/awsproto"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

func (a *API) taskDefinitionOps() map[string]awsproto.Handler {
	return map[string]awsproto.Handler{
		"RegisterTaskDefinition":     awsproto.Typed(a.registerTaskDefinition),
		"DescribeTaskDefinition":     awsproto.Typed(a.describeTaskDefinition),
		"ListTaskDefinitions":        awsproto.Typed(a.listTaskDefinitions),
		"ListTaskDefinitionFamilies": awsproto.Typed(a.listTaskDefinitionFamilies),
		"DeregisterTaskDefinition":   awsproto.Typed(a.deregisterTaskDefinition),
		"DeleteTaskDefinitions":      awsproto.Typed(a.deleteTaskDefinitions),
	}
}

const (
	// maxFamilyRevisions is the ECS quota of revisions per family
	// (deregistered and deleted ones included).
	maxFamilyRevisions   = 1_000_000
	maxDeleteTaskDefs    = 10
	taskDefListPageSize  = 100
	errUnknownTaskDef    = "Unable to describe task definition."
	reasonBadTaskDefID   = "The specified task definition identifier is invalid. Specify a valid name or ARN and try again."
	reasonNoSuchTaskDef  = "The specified task definition does not exist. Specify a valid account, family, revision and try again."
	reasonTaskDefIsAlive = "The specified task definition is still in ACTIVE status. Please deregister the target and try again."
)

// registerTaskDefinition validates the definition (model.NewTaskDefinition
// does every check that needs no state), then takes the next revision of
// the family in the same transaction that stores it, so concurrent
// registrations get distinct revisions and a revision is never reused.
func (a *API) registerTaskDefinition(ctx context.Context, in *model.RegisterTaskDefinitionRequest) (*model.RegisterTaskDefinitionResponse, error) {
	td, err := model.NewTaskDefinition(in)
	if err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	td.Status = model.TaskDefinitionStatusActive
	td.RegisteredAt = model.At(a.now())
	td.RegisteredBy = a.principal(ctx)
	tags := nonNil(slices.Clone(in.Tags))
	var out *model.TaskDefinition
	err = a.update(ctx, func(tx store.Tx) error {
		fam, err := readFamily(tx, td.Family)
		if err != nil {
			return err
		}
		if fam.LastRevision >= maxFamilyRevisions {
			return errs.New(errs.LimitExceeded, "The family %s has reached the limit of %d revisions.", td.Family, maxFamilyRevisions)
		}
		rev := fam.LastRevision + 1
		rec := store.TaskDefinitionRecord{TaskDefinition: *td, DefinitionTags: tags}
		rec.Revision = int32(rev)
		rec.TaskDefinitionArn = a.scope.TaskDefinition(td.Family, rev)
		fam.LastRevision = rev
		fam.Active++
		fam.Stored++
		if err := store.PutJSON(tx, store.TaskDefKey(td.Family, rev), &rec); err != nil {
			return err
		}
		out = &rec.TaskDefinition
		return store.PutJSON(tx, store.FamilyKey(td.Family), fam)
	})
	if err != nil {
		return nil, err
	}
	return &model.RegisterTaskDefinitionResponse{TaskDefinition: out, Tags: tags}, nil
}

// readFamily returns the family's record, or a fresh one if the family has
// never been registered.
func readFamily(tx store.ReadTx, family string) (*store.FamilyRecord, error) {
	fam := &store.FamilyRecord{Family: family}
	_, _, err := store.GetJSON(tx, store.FamilyKey(family), fam)
	return fam, err
}

func (a *API) describeTaskDefinition(ctx context.Context, in *model.DescribeTaskDefinitionRequest) (*model.DescribeTaskDefinitionResponse, error) {
	out := &model.DescribeTaskDefinitionResponse{}
	err := a.view(ctx, func(tx store.ReadTx) error {
		rec, err := findTaskDefinition(tx, in.TaskDefinition)
		if err != nil {
			return err
		}
		if rec == nil {
			return errs.New(errs.Client, errUnknownTaskDef)
		}
		out.TaskDefinition = &rec.TaskDefinition
		if slices.Contains(in.Include, model.TaskDefinitionFieldTags) {
			out.Tags = nonNil(rec.DefinitionTags)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// deregisterTaskDefinition marks one revision INACTIVE. A revision must be
// named; deregistering a revision that is no longer ACTIVE changes nothing
// and returns it as it is.
func (a *API) deregisterTaskDefinition(ctx context.Context, in *model.DeregisterTaskDefinitionRequest) (*model.DeregisterTaskDefinitionResponse, error) {
	family, rev, err := parseTaskDefinitionRef(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	if rev == 0 {
		return nil, errs.New(errs.Client, "Revision is missing.")
	}
	now := model.At(a.now())
	var out *model.TaskDefinition
	err = a.update(ctx, func(tx store.Tx) error {
		rec, err := readRecord(tx, store.TaskDefKey(family, rev), in.TaskDefinition, errs.New(errs.Client, errUnknownTaskDef), taskDefinitionARN)
		if err != nil {
			return err
		}
		out = &rec.TaskDefinition
		if rec.Status != model.TaskDefinitionStatusActive {
			return nil
		}
		rec.Status = model.TaskDefinitionStatusInactive
		rec.DeregisteredAt = now
		if err := store.PutJSON(tx, store.TaskDefKey(family, rev), rec); err != nil {
			return err
		}
		return adjustFamily(tx, family, func(f *store.FamilyRecord) { f.Active-- })
	})
	if err != nil {
		return nil, err
	}
	return &model.DeregisterTaskDefinitionResponse{TaskDefinition: out}, nil
}

func adjustFamily(tx store.Tx, family string, fn func(*store.FamilyRecord)) error {
	fam, err := readFamily(tx, family)
	if err != nil {
		return err
	}
	fn(fam)
	fam.Active = max(fam.Active, 0)
	return store.PutJSON(tx, store.FamilyKey(family), fam)
}

// deleteTaskDefinitions moves INACTIVE revisions to DELETE_IN_PROGRESS.
// Each identifier that cannot be deleted gets a failure entry; the call
// itself only fails for a bad list.
func (a *API) deleteTaskDefinitions(ctx context.Context, in *model.DeleteTaskDefinitionsRequest) (*model.DeleteTaskDefinitionsResponse, error) {
	switch {
	case len(in.TaskDefinitions) == 0:
		return nil, errs.New(errs.InvalidParameter, "The taskDefinitions list cannot be empty.")
	case len(in.TaskDefinitions) > maxDeleteTaskDefs:
		return nil, errs.New(errs.InvalidParameter, "You can delete up to %d task definitions in one request.", maxDeleteTaskDefs)
	}
	now := model.At(a.now())
	var out *model.DeleteTaskDefinitionsResponse
	err := a.update(ctx, func(tx store.Tx) error {
		out = &model.DeleteTaskDefinitionsResponse{TaskDefinitions: []model.TaskDefinition{}, Failures: []model.Failure{}}
		done := map[string]bool{}
		for _, ref := range in.TaskDefinitions {
			td, fail, err := a.deleteTaskDefinition(tx, ref, now, done)
			switch {
			case err != nil:
				return err
			case fail != nil:
				out.Failures = append(out.Failures, *fail)
			case td != nil:
				out.TaskDefinitions = append(out.TaskDefinitions, *td)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// deleteTaskDefinition deletes one revision, or says why it cannot. done
// holds the revisions this request already answered for, so a repeated
// identifier is answered once.
func (a *API) deleteTaskDefinition(tx store.Tx, ref string, now model.Time, done map[string]bool) (*model.TaskDefinition, *model.Failure, error) {
	family, rev, err := parseTaskDefinitionRef(ref)
	if err != nil || rev == 0 || checkARNScope(ref, a.scope.TaskDefinition(family, rev)) != nil {
		return nil, &model.Failure{Arn: ref, Reason: reasonBadTaskDefID}, nil
	}
	key := store.TaskDefKey(family, rev)
	if done[key] {
		return nil, nil, nil
	}
	done[key] = true
	arn := a.scope.TaskDefinition(family, rev)
	rec := new(store.TaskDefinitionRecord)
	_, ok, err := store.GetJSON(tx, key, rec)
	switch {
	case err != nil:
		return nil, nil, err
	case !ok:
		return nil, &model.Failure{Arn: arn, Reason: reasonNoSuchTaskDef}, nil
	case rec.Status == model.TaskDefinitionStatusActive:
		return nil, &model.Failure{Arn: arn, Reason: reasonTaskDefIsAlive}, nil
	case rec.Status == model.TaskDefinitionStatusDeleteInProgress:
		return &rec.TaskDefinition, nil, nil
	}
	rec.Status = model.TaskDefinitionStatusDeleteInProgress
	rec.DeleteRequestedAt = now
	if err := store.PutJSON(tx, key, rec); err != nil {
		return nil, nil, err
	}
	return &rec.TaskDefinition, nil, nil
}
