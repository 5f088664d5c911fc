package ecs

import (
	"cmp"
	"context"
	"slices"

	"github.com/quayside/quayside/internal/api/awsproto"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

func (a *API) serviceOps() map[string]awsproto.Handler {
	return map[string]awsproto.Handler{
		"CreateService":           awsproto.Typed(a.createService),
		"UpdateService":           awsproto.Typed(a.updateService),
		"DeleteService":           awsproto.Typed(a.deleteService),
		"DescribeServices":        awsproto.Typed(a.describeServices),
		"ListServices":            awsproto.Typed(a.listServices),
		"ListServicesByNamespace": awsproto.Typed(a.listServicesByNamespace),
	}
}

const (
	maxDescribeServices = 10
	servicePageDefault  = 10
	servicePageMax      = 100
)

func (a *API) createService(ctx context.Context, in *model.CreateServiceRequest) (*model.CreateServiceResponse, error) {
	if err := checkCreateRequest(in); err != nil {
		return nil, err
	}
	out := &model.CreateServiceResponse{}
	err := a.update(ctx, func(tx store.Tx) error {
		cluster, err := readCluster(tx, in.Cluster)
		if err != nil {
			return err
		}
		if cluster.Status != model.StatusActive {
			return errs.New(errs.Client, "The referenced cluster was inactive.")
		}
		existing, err := a.replaceableService(tx, cluster.ClusterName, in)
		if err != nil || existing != nil {
			if existing != nil {
				out.Service = new(serviceView(existing, len(existing.Tags) > 0))
			}
			return err
		}
		rec, err := a.newService(ctx, tx, cluster, in)
		if err != nil {
			return err
		}
		if err := adjustActiveServices(tx, cluster.ClusterName, +1); err != nil {
			return err
		}
		out.Service = new(serviceView(rec, len(rec.Tags) > 0))
		return putService(tx, rec)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkCreateRequest applies the rules that need nothing from the store.
func checkCreateRequest(in *model.CreateServiceRequest) error {
	if !validName(in.ServiceName) {
		return errs.New(errs.InvalidParameter, "Service name can have up to 255 characters; valid characters are letters (upper and lower case), numbers, hyphens and underscores.")
	}
	if err := checkServiceClientToken(in.ClientToken); err != nil {
		return err
	}
	if err := checkServiceLaunchChoice(in.LaunchType, in.CapacityProviderStrategy); err != nil {
		return err
	}
	sched := in.SchedulingStrategy
	if sched == "" {
		sched = model.SchedulingStrategyReplica
	}
	if err := checkServiceDesiredCount(sched, in.DesiredCount, true); err != nil {
		return err
	}
	ctrl := createController(in)
	if in.TaskDefinition == "" && ctrl != model.DeploymentControllerTypeExternal {
		return errs.New(errs.InvalidParameter, "A task definition must be specified for a service that uses the %s deployment controller.", ctrl)
	}
	return validateTags(in.Tags)
}

func createController(in *model.CreateServiceRequest) model.DeploymentControllerType {
	if in.DeploymentController != nil && in.DeploymentController.Type != "" {
		return in.DeploymentController.Type
	}
	return model.DeploymentControllerTypeEcs
}

// replaceableService checks the name against the cluster's services. An
// ACTIVE service with the same name is an error unless this is a retry
// with the same clientToken and parameters (then it is returned); a
// DRAINING one is an error until its tasks have stopped; an INACTIVE one is
// replaced.
func (a *API) replaceableService(tx store.Tx, cluster string, in *model.CreateServiceRequest) (*store.ServiceRecord, error) {
	old := new(store.ServiceRecord)
	_, ok, err := store.GetJSON(tx, store.ServiceKey(cluster, in.ServiceName), old)
	if err != nil || !ok {
		return nil, err
	}
	switch old.Status {
	case model.StatusActive:
		if in.ClientToken != "" && old.ClientToken == in.ClientToken && old.RequestHash == serviceRequestHash(in) {
			return old, nil
		}
		return nil, errs.New(errs.InvalidParameter, "Creation of service was not idempotent.")
	case model.StatusDraining:
		return nil, errs.New(errs.InvalidParameter, "Unable to Start a service that is still Draining.")
	}
	return nil, nil
}

// newService validates a CreateService request against the cluster and the
// task definition and returns the service it creates.
func (a *API) newService(ctx context.Context, tx store.ReadTx, cluster *model.Cluster, in *model.CreateServiceRequest) (*store.ServiceRecord, error) {
	spec, err := a.createServiceSpec(tx, cluster, in)
	if err != nil {
		return nil, err
	}
	if err := spec.validate(); err != nil {
		return nil, err
	}
	if err := spec.checkTargetGroups(tx); err != nil {
		return nil, err
	}
	now := model.At(a.now())
	rec := &store.ServiceRecord{
		Cluster:        cluster.ClusterName,
		ServiceConnect: in.ServiceConnectConfiguration,
		ClientToken:    in.ClientToken,
		RequestHash:    serviceRequestHash(in),
	}
	rec.Service = model.Service{
		ServiceArn:                    a.scope.Service(cluster.ClusterName, in.ServiceName),
		ServiceName:                   in.ServiceName,
		ClusterArn:                    cluster.ClusterArn,
		Status:                        model.StatusActive,
		CreatedAt:                     now,
		CreatedBy:                     a.principal(ctx),
		DeploymentController:          &model.DeploymentController{Type: spec.controller},
		SchedulingStrategy:            spec.scheduling,
		HealthCheckGracePeriodSeconds: new(serviceInt32(in.HealthCheckGracePeriodSeconds)),
		EnableECSManagedTags:          in.EnableECSManagedTags,
		EnableExecuteCommand:          in.EnableExecuteCommand,
		PropagateTags:                 cmp.Or(in.PropagateTags, model.PropagateTagsNone),
		AvailabilityZoneRebalancing:   cmp.Or(in.AvailabilityZoneRebalancing, model.AvailabilityZoneRebalancingEnabled),
		RoleArn:                       serviceRoleARN(a.scope.Partition, a.scope.Account, in.Role),
		Events:                        []model.ServiceEvent{},
		Deployments:                   []model.Deployment{},
		Tags:                          in.Tags,
	}
	if in.DesiredCount != nil {
		rec.DesiredCount = *in.DesiredCount
	}
	applyServiceSpec(rec, spec)
	if spec.controller == model.DeploymentControllerTypeEcs {
		inputs := serviceDeploymentInputs{in.ServiceConnectConfiguration, in.VolumeConfigurations, in.VpcLatticeConfigurations}
		rec.Deployments = []model.Deployment{newServiceDeployment(spec, inputs, rec.DesiredCount, now)}
	}
	return rec, nil
}

// createServiceSpec is the configuration a CreateService request asks for, with
// the defaults filled in.
func (a *API) createServiceSpec(tx store.ReadTx, cluster *model.Cluster, in *model.CreateServiceRequest) (*serviceSpec, error) {
	spec := &serviceSpec{
		scheduling:      cmp.Or(in.SchedulingStrategy, model.SchedulingStrategyReplica),
		controller:      createController(in),
		launchType:      in.LaunchType,
		capacity:        in.CapacityProviderStrategy,
		platformVersion: in.PlatformVersion,
		network:         withServiceNetworkDefaults(in.NetworkConfiguration),
		loadBalancers:   in.LoadBalancers,
		registries:      in.ServiceRegistries,
		constraints:     in.PlacementConstraints,
		strategy:        in.PlacementStrategy,
		role:            in.Role,
	}
	spec.deployment = withServiceDeploymentDefaults(in.DeploymentConfiguration, spec.scheduling)
	if spec.launchType == "" && len(spec.capacity) == 0 {
		if len(cluster.DefaultCapacityProviderStrategy) > 0 {
			spec.capacity = slices.Clone(cluster.DefaultCapacityProviderStrategy)
		} else {
			spec.launchType = model.LaunchTypeEc2
		}
	}
	if len(in.CapacityProviderStrategy) > 0 {
		if err := validateCapacityProviders(cluster.CapacityProviders, in.CapacityProviderStrategy); err != nil {
			return nil, err
		}
	}
	spec.defaultPlatformVersion()
	if in.TaskDefinition != "" {
		td, err := serviceTaskDefinition(tx, in.TaskDefinition)
		if err != nil {
			return nil, err
		}
		spec.td = td
	}
	return spec, nil
}

// applyServiceSpec copies the task-facing configuration into the service.
func applyServiceSpec(rec *store.ServiceRecord, spec *serviceSpec) {
	rec.LaunchType = spec.launchType
	rec.CapacityProviderStrategy = spec.capacity
	rec.PlatformVersion = spec.platformVersion
	rec.NetworkConfiguration = spec.network
	rec.LoadBalancers = nonNil(spec.loadBalancers)
	rec.ServiceRegistries = nonNil(spec.registries)
	rec.PlacementConstraints = nonNil(spec.constraints)
	rec.PlacementStrategy = nonNil(spec.strategy)
	rec.DeploymentConfiguration = spec.deployment
	rec.TaskDefinition = ""
	if spec.td != nil {
		rec.TaskDefinition = spec.td.TaskDefinitionArn
	}
}

func (a *API) deleteService(ctx context.Context, in *model.DeleteServiceRequest) (*model.DeleteServiceResponse, error) {
	out := &model.DeleteServiceResponse{}
	err := a.update(ctx, func(tx store.Tx) error {
		_, rec, err := activeClusterService(tx, in.Cluster, in.Service)
		if err != nil {
			return err
		}
		shown, err := drainService(tx, rec, in.Force != nil && *in.Force)
		if err != nil {
			return err
		}
		out.Service = new(serviceView(shown, false))
		return putService(tx, rec)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// drainService is DeleteService on rec: an ACTIVE service goes DRAINING
// (scaled to 0, refused for a scaled-up REPLICA service without force).
// The service controller (internal/ctrl/service) stops its tasks and makes
// it INACTIVE once they are all STOPPING or STOPPED. It returns the
// service as the response shows it; rec is what to store. Deleting a
// DRAINING or INACTIVE service again changes nothing and returns it.
func drainService(tx store.Tx, rec *store.ServiceRecord, force bool) (*store.ServiceRecord, error) {
	if rec.Status != model.StatusActive {
		return rec, nil
	}
	if rec.SchedulingStrategy == model.SchedulingStrategyReplica && rec.DesiredCount > 0 && !force {
		return nil, errs.New(errs.InvalidParameter, "The service cannot be stopped while it is scaled above 0.")
	}
	rec.DesiredCount = 0
	if d := primaryDeployment(rec); d != nil {
		d.DesiredCount = 0
	}
	rec.Status = model.StatusDraining
	if err := adjustActiveServices(tx, rec.Cluster, -1); err != nil {
		return nil, err
	}
	return rec, nil
}
