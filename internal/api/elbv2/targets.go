package elbv2

import (
	"context"
	"net/netip"
	"strconv"
	"strings"

	"github.com/quayside/quayside/internal/api/awsproto"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/store"
)

func (a *API) targetOps() map[string]awsproto.Handler {
	return map[string]awsproto.Handler{
		"RegisterTargets":      awsproto.Typed(a.registerTargets),
		"DeregisterTargets":    awsproto.Typed(a.deregisterTargets),
		"DescribeTargetHealth": awsproto.Typed(a.describeTargetHealth),
	}
}

// targetPort is the port a target description means: its own, else the
// group's.
func targetPort(tg *store.TargetGroupRecord, t TargetDescription) int32 {
	if t.Port != nil {
		return *t.Port
	}
	return tg.Port
}

func quoteList(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = "'" + id + "'"
	}
	return strings.Join(q, ", ")
}

// node is where an instance target runs.
type node struct {
	address string // empty: 127.0.0.1
	zone    string // its ecs.availability-zone
}

// runningInstances maps the EC2 instance IDs of the container instances
// that can take traffic (ACTIVE or DRAINING) to their nodes.
func runningInstances(tx store.ReadTx) (map[string]node, error) {
	ids := map[string]node{}
	err := store.ScanJSON(tx, store.InstancesPrefix, "", func(_ string, ci *store.InstanceRecord) (bool, error) {
		if ci.Ec2InstanceId != "" && (ci.Status == "ACTIVE" || ci.Status == "DRAINING") {
			ids[ci.Ec2InstanceId] = node{address: ci.Address, zone: store.AttributeValue(ci.Attributes, "ecs.availability-zone")}
		}
		return true, nil
	})
	return ids, err
}

// checkTargets validates target descriptions for tg: instance targets must
// be the EC2 instance of a live container instance, ip targets IPv4
// addresses. An instance target's Availability Zone is its instance's, not
// the caller's to give. It returns the instance targets' nodes.
func checkTargets(tx store.ReadTx, tg *store.TargetGroupRecord, ts []TargetDescription) (nodes map[string]node, err error) {
	var bad []string
	var running map[string]node
	for _, t := range ts {
		if t.Port != nil && (*t.Port < 1 || *t.Port > 65535) {
			return nil, validation("Port '%d' of target '%s' must be between 1 and 65535", *t.Port, t.Id)
		}
		switch tg.TargetType {
		case store.TargetTypeIP:
			ip, err := netip.ParseAddr(t.Id)
			if err != nil || !ip.Is4() || ip.IsUnspecified() || ip.IsMulticast() {
				return nil, errs.New(errInvalidTarget, "The IP address '%s' is not a valid IPv4 address", t.Id)
			}
		default:
			if !strings.HasPrefix(t.Id, "i-") {
				return nil, validation("The instance ID '%s' is malformed", t.Id)
			}
			if t.AvailabilityZone != "" {
				return nil, validation("An Availability Zone cannot be specified for target '%s': target group '%s' has target type 'instance'", t.Id, tg.Name)
			}
			if running == nil {
				if running, err = runningInstances(tx); err != nil {
					return nil, err
				}
			}
			if _, ok := running[t.Id]; !ok {
				bad = append(bad, t.Id)
			}
		}
	}
	if len(bad) > 0 {
		return nil, errs.New(errInvalidTarget, "The following targets are not in a running state and cannot be registered: %s", quoteList(bad))
	}
	return running, nil
}

func (a *API) registerTargets(ctx context.Context, in *RegisterTargetsInput) (*RegisterTargetsOutput, error) {
	if len(in.Targets) == 0 {
		return nil, validation("At least one target must be specified")
	}
	now := a.now()
	err := a.update(ctx, func(tx store.Tx) error {
		tg, err := a.getTG(tx, in.TargetGroupArn)
		if err != nil {
			return err
		}
		nodes, err := checkTargets(tx, tg, in.Targets)
		if err != nil {
			return err
		}
		existing, err := scanAll[store.TargetRecord](tx, store.TargetsOfKey(tg.ID))
		if err != nil {
			return err
		}
		count := len(existing)
		for _, t := range in.Targets {
			az, host := t.AvailabilityZone, ""
			if n, ok := nodes[t.Id]; ok {
				az, host = n.zone, n.address
			}
			created, err := store.RegisterTarget(tx, tg.ID, t.Id, targetPort(tg, t), az, host, now)
			if err != nil {
				return err
			}
			if created {
				if count++; count > maxTargetsPerTG {
					return errs.New(errTooManyTargets, "You have reached the maximum number of targets (%d) for target group '%s'", maxTargetsPerTG, tg.Arn)
				}
			}
		}
		return checkRegistrationsByID(tx, tg, in.Targets)
	})
	if err != nil {
		return nil, err
	}
	return &RegisterTargetsOutput{}, nil
}

func (a *API) deregisterTargets(ctx context.Context, in *DeregisterTargetsInput) (*DeregisterTargetsOutput, error) {
	if len(in.Targets) == 0 {
		return nil, validation("At least one target must be specified")
	}
	now := a.now()
	err := a.update(ctx, func(tx store.Tx) error {
		tg, err := a.getTG(tx, in.TargetGroupArn)
		if err != nil {
			return err
		}
		used, err := store.TargetGroupUsers(tx)
		if err != nil {
			return err
		}
		// A target that is not registered (or not on that port) is
		// skipped: AWS answers 200 and changes nothing, so that tools
		// tearing down an attachment that is already gone succeed.
		for _, t := range in.Targets {
			if _, err := store.DeregisterTarget(tx, tg, t.Id, targetPort(tg, t), len(used[tg.ID]) > 0, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &DeregisterTargetsOutput{}, nil
}

// Descriptions DescribeTargetHealth gives a state and reason when the data
// plane wrote none.
var healthDescriptions = map[string]string{
	store.ReasonRegistrationInProgress:   "Target registration is in progress",
	store.ReasonInitialHealthChecking:    "Initial health checks in progress",
	store.ReasonDeregistrationInProgress: "Target deregistration is in progress",
	store.ReasonNotRegistered:            "Target is not registered to the target group",
	store.ReasonNotInUse:                 "Target group is not configured to receive traffic from the load balancer",
	store.ReasonFailedHealthChecks:       "Health checks failed",
	store.ReasonTimeout:                  "Request timed out",
	store.ReasonResponseCodeMismatch:     "Health checks failed with these codes",
	store.ReasonInvalidState:             "Target is in the stopped state",
	store.ReasonHealthCheckDisabled:      "Health checks are disabled",
	store.ReasonInternalError:            "Health checks failed due to an internal error",
}

func (a *API) describeTargetHealth(ctx context.Context, in *DescribeTargetHealthInput) (*DescribeTargetHealthOutput, error) {
	var tg *store.TargetGroupRecord
	var recs []*store.TargetRecord
	var inUse bool
	err := a.view(ctx, func(tx store.ReadTx) (err error) {
		if tg, err = a.getTG(tx, in.TargetGroupArn); err != nil {
			return err
		}
		used, err := store.TargetGroupUsers(tx)
		if err != nil {
			return err
		}
		inUse = len(used[tg.ID]) > 0
		recs, err = scanAll[store.TargetRecord](tx, store.TargetsOfKey(tg.ID))
		return err
	})
	if err != nil {
		return nil, err
	}
	anomalies := includesAnomalies(tg, in.Include)
	out := &DescribeTargetHealthOutput{TargetHealthDescriptions: []TargetHealthDescription{}}
	described := func(r *store.TargetRecord) TargetHealthDescription {
		d := healthOut(tg, r, inUse)
		if anomalies {
			d.AnomalyDetection = anomalyOut(r)
		}
		return d
	}
	if len(in.Targets) == 0 {
		for _, r := range recs {
			out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, described(r))
		}
		return out, nil
	}
	for _, t := range in.Targets {
		found := false
		for _, r := range recs {
			if r.ID == t.Id && (t.Port == nil || *t.Port == r.Port) {
				out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, described(r))
				found = true
			}
		}
		if !found {
			r := &store.TargetRecord{ID: t.Id, Port: targetPort(tg, t), AvailabilityZone: t.AvailabilityZone,
				State: store.TargetUnused, Reason: store.ReasonNotRegistered}
			out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, healthOut(tg, r, true))
		}
	}
	return out, nil
}

// includesAnomalies: Include names AnomalyDetection (or All) and the group
// is one the Application Load Balancer's anomaly detection watches (HTTP).
func includesAnomalies(tg *store.TargetGroupRecord, include []DescribeTargetHealthInputIncludeEnum) bool {
	if tg.Protocol == store.ProtocolTCP {
		return false
	}
	for _, v := range include {
		if v == DescribeTargetHealthInputIncludeEnumAnomalyDetection || v == DescribeTargetHealthInputIncludeEnumAll {
			return true
		}
	}
	return false
}

// anomalyOut is what the data plane last found of the target: normal
// until it found otherwise ("If no anomalies were detected, the result is
// normal").
func anomalyOut(r *store.TargetRecord) *AnomalyDetection {
	ad := &AnomalyDetection{Result: AnomalyResultEnumNormal, MitigationInEffect: MitigationInEffectEnumNo}
	if r.Anomaly == store.AnomalyAnomalous {
		ad.Result = AnomalyResultEnumAnomalous
	}
	if r.Mitigating {
		ad.MitigationInEffect = MitigationInEffectEnumYes
	}
	return ad
}

// healthOut is a target's health as DescribeTargetHealth shows it: the
// record's state, except that targets of a group nothing routes to are
// unused (Target.NotInUse) unless they are draining.
func healthOut(tg *store.TargetGroupRecord, r *store.TargetRecord, inUse bool) TargetHealthDescription {
	state, reason, desc := r.State, r.Reason, r.Description
	if !inUse && state != store.TargetDraining {
		state, reason, desc = store.TargetUnused, store.ReasonNotInUse, ""
	}
	if state == "" {
		state, reason = store.TargetInitial, store.ReasonRegistrationInProgress
	}
	if desc == "" {
		desc = healthDescriptions[reason]
	}
	port := tg.HealthCheck.Port
	if port == "" || port == "traffic-port" {
		port = strconv.Itoa(int(r.Port))
	}
	th := &TargetHealth{State: TargetHealthStateEnum(state)}
	if state != store.TargetHealthy {
		th.Reason, th.Description = TargetHealthReasonEnum(reason), desc
	}
	return TargetHealthDescription{
		Target:          &TargetDescription{Id: r.ID, Port: ptr(r.Port), AvailabilityZone: r.AvailabilityZone},
		HealthCheckPort: port,
		TargetHealth:    th,
	}
}

func ptr[T any](v T) *T { return &v }

// checkRegistrationsByID enforces AWS's quota on how often one target (an
// instance on many ports, as ECS's dynamic host ports do) is registered
// with one load balancer, across the target groups it forwards to. It runs
// after the registrations were written, in the same transaction.
func checkRegistrationsByID(tx store.ReadTx, tg *store.TargetGroupRecord, ts []TargetDescription) error {
	users, err := store.TargetGroupUsers(tx)
	if err != nil {
		return err
	}
	groupsOf := map[string][]string{} // load balancer ARN -> its target group IDs
	for g, lbs := range users {
		for _, lb := range lbs {
			groupsOf[lb] = append(groupsOf[lb], g)
		}
	}
	seen := map[string]bool{}
	for _, t := range ts {
		if seen[t.Id] {
			continue
		}
		seen[t.Id] = true
		for _, lb := range users[tg.ID] {
			n := 0
			for _, g := range groupsOf[lb] {
				if err := tx.Scan(store.TargetsOfKey(g)+t.Id+"/", "", func(store.KV) (bool, error) {
					n++
					return true, nil
				}); err != nil {
					return err
				}
			}
			if n > maxRegistrationsByID {
				return errs.New(errTooManyRegistering, "You've reached the limit on the number of times target '%s' can be registered with load balancer '%s' (%d)", t.Id, lb, maxRegistrationsByID)
			}
		}
	}
	return nil
}
