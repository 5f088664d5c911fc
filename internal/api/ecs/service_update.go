package ecs

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

func (a *API) updateService(ctx context.Context, in *model.UpdateServiceRequest) (*model.UpdateServiceResponse, error) {
	out := &model.UpdateServiceResponse{}
	err := a.update(ctx, func(tx store.Tx) error {
		cluster, rec, err := activeClusterService(tx, in.Cluster, in.Service)
		if err != nil {
			return err
		}
		if rec.Status != model.StatusActive {
			return errs.New(errs.ServiceNotActive, "Service was not ACTIVE.")
		}
		if err := a.applyServiceUpdate(tx, cluster, rec, in); err != nil {
			return err
		}
		out.Service = new(serviceView(rec, false))
		return putService(tx, rec)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// applyServiceUpdate validates an UpdateService request against rec and applies
// it. A change of what the tasks run (see updateServiceSpec) or forceNewDeployment
// starts a new PRIMARY deployment; desiredCount alone rescales the current
// one; the other members change in place.
func (a *API) applyServiceUpdate(tx store.ReadTx, cluster *model.Cluster, rec *store.ServiceRecord, in *model.UpdateServiceRequest) error {
	if err := checkServiceDesiredCount(rec.SchedulingStrategy, in.DesiredCount, false); err != nil {
		return err
	}
	spec, changed, err := updateServiceSpec(tx, cluster, rec, in)
	if err != nil {
		return err
	}
	if err := spec.validate(); err != nil {
		return err
	}
	if slices.Contains(changed, "loadBalancers") || slices.Contains(changed, "taskDefinition") {
		if err := spec.checkTargetGroups(tx); err != nil {
			return err
		}
	}
	if len(changed) > 0 && spec.controller != model.DeploymentControllerTypeEcs {
		return errs.New(errs.InvalidParameter, "Unable to update %s on services with a %s deployment controller.", strings.Join(changed, ", "), spec.controller)
	}
	now := model.At(a.now())
	rec.ThrottleFrom = now // an update resets the launch throttle
	inputs := serviceUpdateInputs(rec, in)
	applyServiceSpec(rec, spec)
	rec.DeploymentController = &model.DeploymentController{Type: spec.controller}
	applyServiceInPlace(rec, in)
	if in.DesiredCount != nil {
		rec.DesiredCount = *in.DesiredCount
		if d := primaryDeployment(rec); d != nil {
			d.DesiredCount, d.UpdatedAt = rec.DesiredCount, now
		}
	}
	if in.ServiceConnectConfiguration != nil {
		rec.ServiceConnect = in.ServiceConnectConfiguration
	}
	if (len(changed) > 0 || in.ForceNewDeployment) && spec.controller == model.DeploymentControllerTypeEcs {
		startDeployment(rec, newServiceDeployment(spec, inputs, rec.DesiredCount, now), now)
	}
	return nil
}

// updateServiceSpec is the stored service's configuration with the request's
// changes, and the names of the changed members that start a new
// deployment: taskDefinition, networkConfiguration, platformVersion,
// loadBalancers, serviceRegistries, capacityProviderStrategy,
// serviceConnectConfiguration, volumeConfigurations and
// vpcLatticeConfigurations. Placement changes apply in place, as the
// UpdateService reference says.
func updateServiceSpec(tx store.ReadTx, cluster *model.Cluster, rec *store.ServiceRecord, in *model.UpdateServiceRequest) (*serviceSpec, []string, error) {
	spec := storedServiceSpec(rec)
	var changed []string
	note := func(name string, differs bool) {
		if differs {
			changed = append(changed, name)
		}
	}
	td, err := updateServiceTaskDefinition(tx, rec, in.TaskDefinition)
	if err != nil {
		return nil, nil, err
	}
	note("taskDefinition", td != nil && td.TaskDefinitionArn != rec.TaskDefinition)
	spec.td = td
	if in.NetworkConfiguration != nil {
		nc := withServiceNetworkDefaults(in.NetworkConfiguration)
		note("networkConfiguration", !sameServiceJSON(nc, spec.network))
		spec.network = nc
	}
	if in.PlatformVersion != "" {
		note("platformVersion", in.PlatformVersion != spec.platformVersion)
		spec.platformVersion = in.PlatformVersion
	}
	if in.LoadBalancers != nil {
		note("loadBalancers", !sameServiceJSON(in.LoadBalancers, spec.loadBalancers))
		spec.loadBalancers = in.LoadBalancers
	}
	if in.ServiceRegistries != nil {
		note("serviceRegistries", !sameServiceJSON(in.ServiceRegistries, spec.registries))
		spec.registries = in.ServiceRegistries
	}
	differs, err := updateServiceCapacity(spec, cluster, in.CapacityProviderStrategy)
	if err != nil {
		return nil, nil, err
	}
	note("capacityProviderStrategy", differs)
	if in.PlacementConstraints != nil {
		spec.constraints = in.PlacementConstraints
	}
	if in.PlacementStrategy != nil {
		spec.strategy = in.PlacementStrategy
	}
	if in.DeploymentController != nil && in.DeploymentController.Type != "" {
		spec.controller = in.DeploymentController.Type
	}
	spec.deployment = mergeServiceDeploymentConfiguration(spec.deployment, in.DeploymentConfiguration)
	note("serviceConnectConfiguration", in.ServiceConnectConfiguration != nil && !sameServiceJSON(in.ServiceConnectConfiguration, rec.ServiceConnect))
	primary := primaryDeployment(rec)
	if primary == nil {
		primary = &model.Deployment{}
	}
	note("volumeConfigurations", in.VolumeConfigurations != nil && !sameServiceJSON(in.VolumeConfigurations, primary.VolumeConfigurations))
	note("vpcLatticeConfigurations", in.VpcLatticeConfigurations != nil && !sameServiceJSON(in.VpcLatticeConfigurations, primary.VpcLatticeConfigurations))
	return spec, changed, nil
}

// storedServiceSpec is the configuration a stored service runs with. The role is
// left out: UpdateService cannot change it and it was checked on create.
func storedServiceSpec(rec *store.ServiceRecord) *serviceSpec {
	ctrl := model.DeploymentControllerTypeEcs
	if rec.DeploymentController != nil && rec.DeploymentController.Type != "" {
		ctrl = rec.DeploymentController.Type
	}
	dc := rec.DeploymentConfiguration
	if dc == nil {
		dc = withServiceDeploymentDefaults(nil, rec.SchedulingStrategy)
	}
	return &serviceSpec{
		scheduling:      rec.SchedulingStrategy,
		controller:      ctrl,
		launchType:      rec.LaunchType,
		capacity:        rec.CapacityProviderStrategy,
		platformVersion: rec.PlatformVersion,
		network:         rec.NetworkConfiguration,
		loadBalancers:   rec.LoadBalancers,
		registries:      rec.ServiceRegistries,
		constraints:     rec.PlacementConstraints,
		strategy:        rec.PlacementStrategy,
		deployment:      dc,
	}
}

// updateServiceTaskDefinition resolves the definition an update runs: the one
// named (which must be ACTIVE) or the service's current one.
func updateServiceTaskDefinition(tx store.ReadTx, rec *store.ServiceRecord, ref string) (*store.TaskDefinitionRecord, error) {
	if ref == "" {
		return currentServiceTaskDefinition(tx, rec)
	}
	return serviceTaskDefinition(tx, ref)
}

// updateServiceCapacity applies a capacityProviderStrategy from
// UpdateService: a list replaces the launch type; an empty list goes back
// to the launch type the strategy stood for (FARGATE for Fargate capacity
// providers, else EC2), keeping the platform version valid for it. It
// reports whether the strategy changed.
func updateServiceCapacity(spec *serviceSpec, cluster *model.Cluster, set []model.CapacityProviderStrategyItem) (bool, error) {
	if set == nil {
		return false, nil
	}
	if len(set) == 0 {
		if len(spec.capacity) == 0 {
			return false, nil
		}
		spec.launchType = model.LaunchTypeEc2
		if spec.usesFargate() {
			spec.launchType = model.LaunchTypeFargate
		}
		spec.capacity = nil
		return true, nil
	}
	if err := checkServiceLaunchChoice("", set); err != nil {
		return false, err
	}
	if err := validateCapacityProviders(cluster.CapacityProviders, set); err != nil {
		return false, err
	}
	differs := !sameServiceJSON(set, spec.capacity)
	spec.capacity, spec.launchType = set, ""
	spec.defaultPlatformVersion()
	return differs, nil
}

// serviceUpdateInputs are the request-only members a new deployment gets: the
// request's values, else the current PRIMARY deployment's.
func serviceUpdateInputs(rec *store.ServiceRecord, in *model.UpdateServiceRequest) serviceDeploymentInputs {
	out := serviceDeploymentInputs{serviceConnect: cmp.Or(in.ServiceConnectConfiguration, rec.ServiceConnect)}
	if d := primaryDeployment(rec); d != nil {
		out.volumes, out.lattice = d.VolumeConfigurations, d.VpcLatticeConfigurations
	}
	if in.VolumeConfigurations != nil {
		out.volumes = in.VolumeConfigurations
	}
	if in.VpcLatticeConfigurations != nil {
		out.lattice = in.VpcLatticeConfigurations
	}
	return out
}

// applyServiceInPlace sets the members that change without a new deployment.
// availabilityZoneRebalancing keeps its value when not given, or becomes
// DISABLED if it never had one.
func applyServiceInPlace(rec *store.ServiceRecord, in *model.UpdateServiceRequest) {
	rec.HealthCheckGracePeriodSeconds = cmp.Or(in.HealthCheckGracePeriodSeconds, rec.HealthCheckGracePeriodSeconds)
	rec.PropagateTags = cmp.Or(in.PropagateTags, rec.PropagateTags)
	if in.EnableExecuteCommand != nil {
		rec.EnableExecuteCommand = *in.EnableExecuteCommand
	}
	if in.EnableECSManagedTags != nil {
		rec.EnableECSManagedTags = *in.EnableECSManagedTags
	}
	rec.AvailabilityZoneRebalancing = cmp.Or(in.AvailabilityZoneRebalancing, rec.AvailabilityZoneRebalancing, model.AvailabilityZoneRebalancingDisabled)
}
