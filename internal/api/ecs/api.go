package ecs

import (
	"context"
	_ "embed"
	"log/slog"
	"maps"
	"time"

	"github.com/quayside/quayside/internal/api/awsproto"
	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/placement"
	"github.com/quayside/quayside/internal/store"
)

//go:embed ecs-2014-11-13.json.gz
var modelJSON []byte

// Deps are what the ECS API needs.
type Deps struct {
	Store  store.Store
	Scope  arn.Scope        // region and account of every ARN
	Now    func() time.Time // nil means time.Now
	Logger *slog.Logger
}

// API implements the ECS operations.
type API struct {
	st    store.Store
	scope arn.Scope
	now   func() time.Time
	log   *slog.Logger
	place *placement.Engine // RunTask and StartTask
}

// New returns the ECS API over d.Store.
func New(d Deps) *API {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &API{st: d.Store, scope: d.Scope, now: d.Now, log: d.Logger,
		place: placement.New(placement.Deps{Store: d.Store, Logger: d.Logger})}
}

// Model returns the botocore model the ECS wire format is checked against.
func Model() *awsproto.Model {
	m := awsproto.MustLoadModel(modelJSON)
	m.ValidationErrorCode = errs.InvalidParameter
	return m
}

// Service returns the ECS service for the awsproto router.
func (a *API) Service() *awsproto.JSONService {
	h := map[string]awsproto.Handler{}
	for _, group := range []map[string]awsproto.Handler{
		a.clusterOps(), a.taskDefinitionOps(), a.instanceOps(), a.attributeOps(),
		a.taskOps(), a.serviceOps(), a.tagOps(), a.settingOps(),
	} {
		maps.Copy(h, group)
	}
	return &awsproto.JSONService{Model: Model(), Handlers: h}
}

// update runs fn in a write transaction.
func (a *API) update(ctx context.Context, fn func(store.Tx) error) error {
	_, err := a.st.Update(ctx, fn)
	return err
}

// view runs fn in a read transaction.
func (a *API) view(ctx context.Context, fn func(store.ReadTx) error) error {
	return a.st.View(ctx, fn)
}

// principal is the ARN that appears in createdBy / registeredBy.
func (a *API) principal(ctx context.Context) string {
	acct := a.scope.Account
	if c, ok := awsproto.CallerFrom(ctx); ok && c.Account != "" {
		acct = c.Account
	}
	return "arn:aws:iam::" + acct + ":root"
}
