package ecs

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// Deployment statuses inside Service.deployments.
const (
	deploymentPrimary = "PRIMARY"
	deploymentActive  = "ACTIVE"
)

const maxServiceEvents = 100

// serviceTaskDefinition resolves the task definition a service is created
// or updated with: it must exist and be ACTIVE.
func serviceTaskDefinition(tx store.ReadTx, ref string) (*store.TaskDefinitionRecord, error) {
	td, err := findTaskDefinition(tx, ref)
	if err != nil {
		return nil, err
	}
	if td == nil {
		return nil, errs.New(errs.Client, "TaskDefinition not found.")
	}
	if td.Status != model.TaskDefinitionStatusActive {
		return nil, errs.New(errs.Client, "TaskDefinition is inactive")
	}
	return td, nil
}

// currentServiceTaskDefinition reads the definition a stored service runs, whatever
// its status (a service keeps running a deregistered revision).
func currentServiceTaskDefinition(tx store.ReadTx, rec *store.ServiceRecord) (*store.TaskDefinitionRecord, error) {
	if rec.TaskDefinition == "" {
		return nil, nil
	}
	return findTaskDefinition(tx, rec.TaskDefinition)
}

// readService finds a service of cluster by name or ARN, whatever its
// status, or ServiceNotFoundException. An ARN of another cluster, region or
// account is InvalidParameterException.
func readService(tx store.ReadTx, cluster, ref string) (*store.ServiceRecord, error) {
	name, err := childRef(ref, "service", cluster)
	if err != nil {
		return nil, err
	}
	missing := errs.New(errs.ServiceNotFound, "Service not found.")
	if !validName(name) {
		return nil, missing
	}
	return readRecord(tx, store.ServiceKey(cluster, name), ref, missing,
		func(s *store.ServiceRecord) string { return s.ServiceArn })
}

// activeClusterService reads the service ref of the ACTIVE cluster that
// clusterRef names.
func activeClusterService(tx store.ReadTx, clusterRef, ref string) (*model.Cluster, *store.ServiceRecord, error) {
	cluster, err := activeCluster(tx, clusterRef)
	if err != nil {
		return nil, nil, err
	}
	rec, err := readService(tx, cluster.ClusterName, ref)
	return cluster, rec, err
}

func putService(tx store.Tx, rec *store.ServiceRecord) error {
	return store.PutJSON(tx, store.ServiceKey(rec.Cluster, rec.ServiceName), rec)
}

// adjustActiveServices moves the cluster's activeServicesCount by delta in
// the same transaction as the service change that causes it.
func adjustActiveServices(tx store.Tx, cluster string, delta int32) error {
	c := new(model.Cluster)
	_, ok, err := store.GetJSON(tx, store.ClusterKey(cluster), c)
	if err != nil || !ok {
		return err
	}
	c.ActiveServicesCount = max(0, c.ActiveServicesCount+delta)
	return store.PutJSON(tx, store.ClusterKey(cluster), c)
}

// newDeploymentID returns "ecs-svc/" and 19 decimal digits.
func newDeploymentID() string {
	const lo = 1_000_000_000_000_000_000
	return "ecs-svc/" + strconv.FormatUint(lo+rand.Uint64N(9*lo), 10)
}

// withServiceDeploymentDefaults fills what CreateService leaves out of a
// deploymentConfiguration: REPLICA min 100 / max 200, DAEMON min 0 / max
// 100, the circuit breaker off and the ROLLING strategy.
func withServiceDeploymentDefaults(given *model.DeploymentConfiguration, s model.SchedulingStrategy) *model.DeploymentConfiguration {
	dc := model.DeploymentConfiguration{}
	if given != nil {
		dc = *given
	}
	lo, hi := int32(100), int32(200)
	if s == model.SchedulingStrategyDaemon {
		lo, hi = 0, 100
	}
	if dc.MinimumHealthyPercent == nil {
		dc.MinimumHealthyPercent = &lo
	}
	if dc.MaximumPercent == nil {
		dc.MaximumPercent = &hi
	}
	if dc.DeploymentCircuitBreaker == nil {
		dc.DeploymentCircuitBreaker = &model.DeploymentCircuitBreaker{}
	}
	if dc.Strategy == "" {
		dc.Strategy = model.DeploymentStrategyRolling
	}
	return &dc
}

// mergeServiceDeploymentConfiguration applies the members UpdateService sets to
// the stored configuration.
func mergeServiceDeploymentConfiguration(old, set *model.DeploymentConfiguration) *model.DeploymentConfiguration {
	if set == nil {
		return old
	}
	dc := *old
	dc.MinimumHealthyPercent = cmp.Or(set.MinimumHealthyPercent, dc.MinimumHealthyPercent)
	dc.MaximumPercent = cmp.Or(set.MaximumPercent, dc.MaximumPercent)
	dc.DeploymentCircuitBreaker = cmp.Or(set.DeploymentCircuitBreaker, dc.DeploymentCircuitBreaker)
	dc.Alarms = cmp.Or(set.Alarms, dc.Alarms)
	dc.Strategy = cmp.Or(set.Strategy, dc.Strategy)
	dc.BakeTimeInMinutes = cmp.Or(set.BakeTimeInMinutes, dc.BakeTimeInMinutes)
	dc.LinearConfiguration = cmp.Or(set.LinearConfiguration, dc.LinearConfiguration)
	dc.CanaryConfiguration = cmp.Or(set.CanaryConfiguration, dc.CanaryConfiguration)
	if set.LifecycleHooks != nil {
		dc.LifecycleHooks = set.LifecycleHooks
	}
	return &dc
}

// withServiceNetworkDefaults returns nc with assignPublicIp DISABLED when
// it is not given, as ECS shows it.
func withServiceNetworkDefaults(nc *model.NetworkConfiguration) *model.NetworkConfiguration {
	if nc == nil || nc.AwsvpcConfiguration == nil || nc.AwsvpcConfiguration.AssignPublicIp != "" {
		return nc
	}
	vpc := *nc.AwsvpcConfiguration
	vpc.AssignPublicIp = model.AssignPublicIpDisabled
	return &model.NetworkConfiguration{AwsvpcConfiguration: &vpc}
}

// serviceRoleARN turns a role name (optionally with a path, "/foo/bar") or ARN
// into an ARN.
func serviceRoleARN(partition, account, role string) string {
	if role == "" || arn.IsARN(role) {
		return role
	}
	return "arn:" + partition + ":iam::" + account + ":role/" + strings.TrimPrefix(role, "/")
}

// serviceDeploymentInputs are the members of a deployment that come from the
// request rather than from the spec.
type serviceDeploymentInputs struct {
	serviceConnect *model.ServiceConnectConfiguration
	volumes        []model.ServiceVolumeConfiguration
	lattice        []model.VpcLatticeConfiguration
}

// newServiceDeployment is a PRIMARY deployment of spec, rolling out now.
func newServiceDeployment(spec *serviceSpec, in serviceDeploymentInputs, desired int32, now model.Time) model.Deployment {
	id := newDeploymentID()
	d := model.Deployment{
		Id:                          id,
		Status:                      deploymentPrimary,
		DesiredCount:                desired,
		CreatedAt:                   now,
		UpdatedAt:                   now,
		LaunchType:                  spec.launchType,
		CapacityProviderStrategy:    spec.capacity,
		PlatformVersion:             spec.platformVersion,
		NetworkConfiguration:        spec.network,
		RolloutState:                model.DeploymentRolloutStateInProgress,
		RolloutStateReason:          "ECS deployment " + id + " in progress.",
		ServiceConnectConfiguration: in.serviceConnect,
		VolumeConfigurations:        in.volumes,
		VpcLatticeConfigurations:    in.lattice,
	}
	if spec.td != nil {
		d.TaskDefinition = spec.td.TaskDefinitionArn
	}
	return d
}

// primaryDeployment returns the PRIMARY deployment of rec, or nil.
func primaryDeployment(rec *store.ServiceRecord) *model.Deployment {
	i := slices.IndexFunc(rec.Deployments, func(d model.Deployment) bool { return d.Status == deploymentPrimary })
	if i < 0 {
		return nil
	}
	return &rec.Deployments[i]
}

// startDeployment makes d the PRIMARY deployment of rec; the previous
// PRIMARY becomes ACTIVE until its tasks are replaced.
func startDeployment(rec *store.ServiceRecord, d model.Deployment, now model.Time) {
	for i := range rec.Deployments {
		if rec.Deployments[i].Status == deploymentPrimary {
			rec.Deployments[i].Status = deploymentActive
			rec.Deployments[i].UpdatedAt = now
		}
	}
	rec.Deployments = append([]model.Deployment{d}, rec.Deployments...)
}

// serviceView is the service as the API shows it: tags only when asked
// for, at most 100 events (they are kept newest first).
func serviceView(rec *store.ServiceRecord, withTags bool) model.Service {
	s := rec.Service
	s.Tags = nil
	if withTags {
		s.Tags = nonNil(rec.Tags)
	}
	s.Events = nonNil(s.Events)
	if len(s.Events) > maxServiceEvents {
		s.Events = s.Events[:maxServiceEvents]
	}
	s.Deployments = nonNil(s.Deployments)
	return s
}

// serviceRequestHash fingerprints a request for idempotent retries.
func serviceRequestHash(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// sameServiceJSON compares two values by their wire form, so nil and empty lists
// and decoded-versus-stored copies compare as ECS would.
func sameServiceJSON(a, b any) bool {
	x, errA := json.Marshal(a)
	y, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(emptyServiceJSON(x), emptyServiceJSON(y))
}

func emptyServiceJSON(b []byte) []byte {
	switch string(b) {
	case "null", "[]", "{}":
		return nil
	}
	return b
}
