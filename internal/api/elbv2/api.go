package elbv2

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/quayside/quayside/internal/api/awsproto"
	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

//go:embed elasticloadbalancingv2-2015-12-01.json.gz
var modelJSON []byte

// DefaultDNSSuffix is the domain under which load balancers get their
// DNSName ("<name>-<id>.lb.localhost"): names under .localhost resolve to
// the loopback address on most systems (RFC 6761), where `quayside dev`
// binds the data plane.
const DefaultDNSSuffix = "lb.localhost"

// Deps are what the ELBv2 API needs.
type Deps struct {
	Store  store.Store
	Scope  arn.Scope        // region and account of every ARN
	Now    func() time.Time // nil means time.Now
	Logger *slog.Logger
	// DNSSuffix is the domain of load balancers' DNS names; empty means
	// DefaultDNSSuffix. It should resolve to the data plane's bind
	// address.
	DNSSuffix string
}

// API implements the ELBv2 operations.
type API struct {
	st        store.Store
	scope     arn.Scope
	now       func() time.Time
	log       *slog.Logger
	dnsSuffix string
}

// New returns the ELBv2 API over d.Store.
func New(d Deps) *API {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.DNSSuffix == "" {
		d.DNSSuffix = DefaultDNSSuffix
	}
	return &API{st: d.Store, scope: d.Scope, now: d.Now, log: d.Logger, dnsSuffix: strings.Trim(d.DNSSuffix, ".")}
}

// ValidationError is the code ELBv2 answers for a request that breaks the
// model's or the service's constraints.
const ValidationError errs.Code = "ValidationError"

// Model returns the botocore model the ELBv2 wire format is checked
// against.
func Model() *awsproto.Model {
	m := awsproto.MustLoadModel(modelJSON)
	m.ValidationErrorCode = ValidationError
	return m
}

// Service returns the ELBv2 service for the awsproto router.
func (a *API) Service() *awsproto.QueryService {
	h := map[string]awsproto.Handler{}
	for _, group := range []map[string]awsproto.Handler{
		a.loadBalancerOps(), a.targetGroupOps(), a.attributeOps(), a.targetOps(),
		a.listenerOps(), a.listenerAttributeOps(), a.ruleOps(), a.tagOps(),
	} {
		maps.Copy(h, group)
	}
	return &awsproto.QueryService{Model: Model(), Handlers: h}
}

// Error kinds: the model's exception shapes (awsproto sends each with the
// model's error code and status, e.g. LoadBalancerNotFound 400).
const (
	errLBNotFound         errs.Code = "LoadBalancerNotFoundException"
	errTGNotFound         errs.Code = "TargetGroupNotFoundException"
	errListenerNotFound   errs.Code = "ListenerNotFoundException"
	errRuleNotFound       errs.Code = "RuleNotFoundException"
	errDuplicateLBName    errs.Code = "DuplicateLoadBalancerNameException"
	errDuplicateTGName    errs.Code = "DuplicateTargetGroupNameException"
	errDuplicateListener  errs.Code = "DuplicateListenerException"
	errDuplicateTagKeys   errs.Code = "DuplicateTagKeysException"
	errPriorityInUse      errs.Code = "PriorityInUseException"
	errResourceInUse      errs.Code = "ResourceInUseException"
	errInvalidConfig      errs.Code = "InvalidConfigurationRequestException"
	errInvalidTarget      errs.Code = "InvalidTargetException"
	errInvalidAction      errs.Code = "InvalidLoadBalancerActionException"
	errIncompatible       errs.Code = "IncompatibleProtocolsException"
	errUnsupportedProto   errs.Code = "UnsupportedProtocolException"
	errOpNotPermitted     errs.Code = "OperationNotPermittedException"
	errTGAssociation      errs.Code = "TargetGroupAssociationLimitException"
	errTooManyLBs         errs.Code = "TooManyLoadBalancersException"
	errTooManyTGs         errs.Code = "TooManyTargetGroupsException"
	errTooManyListeners   errs.Code = "TooManyListenersException"
	errTooManyRules       errs.Code = "TooManyRulesException"
	errTooManyTargets     errs.Code = "TooManyTargetsException"
	errTooManyTags        errs.Code = "TooManyTagsException"
	errTooManyActions     errs.Code = "TooManyActionsException"
	errTooManyUniqueTGs   errs.Code = "TooManyUniqueTargetGroupsPerLoadBalancerException"
	errTooManyRegistering errs.Code = "TooManyRegistrationsForTargetIdException"
)

// Quotas (the AWS defaults per region and account).
const (
	maxLoadBalancers      = 50
	maxTargetGroups       = 3000
	maxListenersPerLB     = 50
	maxRulesPerLB         = 100 // not counting default rules
	maxTargetsPerTG       = 1000
	maxTagsPerResource    = 50
	maxTGsPerAction       = 5
	maxTGsPerALB          = 100 // unique, over every action of the load balancer's listeners and rules
	maxConditionValues    = 5   // over all conditions of a rule
	maxValuesPerCondition = 3
	maxRegistrationsByID  = 100
)

func validation(format string, args ...any) error { return errs.New(ValidationError, format, args...) }

// newID is a fresh 16-hex-digit resource ID.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (a *API) at() model.Time { return model.At(a.now()) }

// update runs fn in a write transaction.
func (a *API) update(ctx context.Context, fn func(store.Tx) error) error {
	_, err := a.st.Update(ctx, fn)
	return err
}

// view runs fn in a read transaction.
func (a *API) view(ctx context.Context, fn func(store.ReadTx) error) error {
	return a.st.View(ctx, fn)
}

// --- ARNs -------------------------------------------------------------------

func (a *API) arnOf(resource string) string { return a.prefix() + resource }

func (a *API) prefix() string {
	p := a.scope.Partition
	if p == "" {
		p = "aws"
	}
	return "arn:" + p + ":elasticloadbalancing:" + a.scope.Region + ":" + a.scope.Account + ":"
}

// lbKind is "app" or "net", the ARN path segment of a load balancer type.
func lbKind(typ string) string {
	if typ == store.LBTypeNetwork {
		return "net"
	}
	return "app"
}

func (a *API) lbARN(typ, name, id string) string {
	return a.arnOf("loadbalancer/" + lbKind(typ) + "/" + name + "/" + id)
}
func (a *API) tgARN(name, id string) string { return a.arnOf("targetgroup/" + name + "/" + id) }
func (a *API) listenerARN(lb *store.LoadBalancerRecord, id string) string {
	return a.arnOf("listener/" + lbKind(lb.Type) + "/" + lb.Name + "/" + lb.ID + "/" + id)
}
func (a *API) ruleARN(lb *store.LoadBalancerRecord, lid, id string) string {
	return a.arnOf("listener-rule/" + lbKind(lb.Type) + "/" + lb.Name + "/" + lb.ID + "/" + lid + "/" + id)
}

// ref is a parsed ELBv2 ARN: the IDs it names (LB, listener, rule: the
// last parts of the path; target group: TG).
type ref struct {
	kind                   string // loadbalancer, targetgroup, listener, listener-rule
	lb, listener, rule, tg string
	ours                   bool // in this server's partition, region and account
}

// parseARN parses an ELBv2 ARN of kind (or any kind when kind is ""). A
// string that is not an ARN, or an ARN of another kind, is a
// ValidationError; an ARN of another region or account parses with
// ours=false (its resource is then "not found").
func (a *API) parseARN(s, kind string) (ref, error) {
	p, err := arn.Parse(s)
	if err != nil {
		return ref{}, validation("'%s' must be in ARN format", s)
	}
	parts := strings.Split(p.Resource, "/")
	r := ref{kind: parts[0]}
	ok := p.Service == "elasticloadbalancing"
	switch r.kind {
	case "loadbalancer":
		ok = ok && len(parts) == 4 && (parts[1] == "app" || parts[1] == "net")
		if ok {
			r.lb = parts[3]
		}
	case "targetgroup":
		ok = ok && len(parts) == 3
		if ok {
			r.tg = parts[2]
		}
	case "listener":
		ok = ok && len(parts) == 5 && (parts[1] == "app" || parts[1] == "net")
		if ok {
			r.lb, r.listener = parts[3], parts[4]
		}
	case "listener-rule":
		ok = ok && len(parts) == 6 && (parts[1] == "app" || parts[1] == "net")
		if ok {
			r.lb, r.listener, r.rule = parts[3], parts[4], parts[5]
		}
	default:
		ok = false
	}
	if !ok || (kind != "" && r.kind != kind) {
		what := map[string]string{"loadbalancer": "load balancer", "targetgroup": "target group", "listener": "listener", "listener-rule": "listener rule", "": "resource"}[kind]
		return ref{}, validation("'%s' is not a valid %s ARN", s, what)
	}
	r.ours = p.Partition == a.partition() && p.Region == a.scope.Region && p.Account == a.scope.Account
	return r, nil
}

func (a *API) partition() string {
	if a.scope.Partition == "" {
		return "aws"
	}
	return a.scope.Partition
}

// --- paging -----------------------------------------------------------------

const defaultPageSize = 400

// page returns items[from marker] up to size and the next marker ("" at
// the end). Markers are the key of the first item of the next page.
func page[T any](items []T, key func(T) string, marker string, size *int32) ([]T, string, error) {
	n := defaultPageSize
	if size != nil {
		n = int(*size)
	}
	start := 0
	if marker != "" {
		start = -1
		for i, it := range items {
			if key(it) == marker {
				start = i
				break
			}
		}
		if start < 0 {
			return nil, "", validation("The marker '%s' is not valid", marker)
		}
	}
	end := min(start+n, len(items))
	next := ""
	if end < len(items) {
		next = key(items[end])
	}
	return items[start:end], next, nil
}
