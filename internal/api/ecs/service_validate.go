package ecs

import (
	"slices"
	"strings"

	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// Limits of a service's configuration [facts §7].
const (
	maxServiceLoadBalancers     = 5
	maxServiceRegistries        = 1
	maxServiceCapacityProviders = 20
	maxServiceSubnets           = 16
	maxServiceSecurityGroups    = 5
	maxServiceClientToken       = 36
)

// serviceSpec is a service's configuration after defaults: what its tasks
// run with. CreateService builds it from the request; UpdateService from
// the stored service with the request's changes. validate checks the rules
// that tie its fields together.
type serviceSpec struct {
	scheduling      model.SchedulingStrategy
	controller      model.DeploymentControllerType
	launchType      model.LaunchType
	capacity        []model.CapacityProviderStrategyItem
	platformVersion string
	network         *model.NetworkConfiguration
	loadBalancers   []model.LoadBalancer
	registries      []model.ServiceRegistry
	constraints     []model.PlacementConstraint
	strategy        []model.PlacementStrategy
	role            string
	deployment      *model.DeploymentConfiguration
	td              *store.TaskDefinitionRecord // nil for the EXTERNAL controller
}

func (s *serviceSpec) validate() error {
	checks := []func() error{
		s.checkScheduling, s.checkCompatibility, s.checkPlatformVersion, s.checkNetwork,
		s.checkLoadBalancers, s.checkRole, s.checkRegistries, s.checkPlacement, s.checkDeploymentConfiguration,
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (s *serviceSpec) daemon() bool { return s.scheduling == model.SchedulingStrategyDaemon }

// usesFargate reports whether the service's tasks run on Fargate: the
// FARGATE launch type or a strategy of Fargate capacity providers.
func (s *serviceSpec) usesFargate() bool {
	if s.launchType == model.LaunchTypeFargate {
		return true
	}
	return slices.ContainsFunc(s.capacity, func(i model.CapacityProviderStrategyItem) bool {
		return strings.HasPrefix(i.CapacityProvider, "FARGATE")
	})
}

// defaultPlatformVersion gives Fargate tasks (launch type or capacity
// providers) the LATEST platform version when none was chosen.
func (s *serviceSpec) defaultPlatformVersion() {
	if s.usesFargate() && s.platformVersion == "" {
		s.platformVersion = "LATEST"
	}
}

func (s *serviceSpec) checkScheduling() error {
	if !s.daemon() {
		return nil
	}
	switch {
	case s.controller != model.DeploymentControllerTypeEcs:
		return errs.New(errs.InvalidParameter, "The daemon scheduling strategy does not support the %s deployment controller. Use the REPLICA scheduling strategy and try again.", s.controller)
	case s.usesFargate():
		return errs.New(errs.InvalidParameter, "The daemon scheduling strategy does not support the FARGATE launch type. Change the launch type and try again.")
	case len(s.strategy) > 0:
		return errs.New(errs.InvalidParameter, "The daemon scheduling strategy does not support placement strategies. Remove the placement strategy and try again")
	}
	return nil
}

// checkCompatibility refuses a launch type the task definition cannot use.
func (s *serviceSpec) checkCompatibility() error {
	if s.td == nil || len(s.td.Compatibilities) == 0 {
		return nil
	}
	want := s.launchType
	if s.usesFargate() {
		want = model.LaunchTypeFargate
	}
	if want == "" || slices.Contains(s.td.Compatibilities, model.Compatibility(want)) {
		return nil
	}
	return errs.New(errs.InvalidParameter, "Task definition does not support launch_type %s.", want)
}

func (s *serviceSpec) checkPlatformVersion() error {
	if s.platformVersion != "" && (s.launchType == model.LaunchTypeEc2 || s.launchType == model.LaunchTypeExternal) {
		return errs.New(errs.InvalidParameter, "The platform version must be null when specifying an %s launch type.", s.launchType)
	}
	return nil
}

func (s *serviceSpec) networkMode() model.NetworkMode {
	switch {
	case s.td != nil && s.td.NetworkMode != "":
		return s.td.NetworkMode
	case s.usesFargate():
		return model.NetworkModeAwsvpc
	}
	return model.NetworkModeBridge
}

func (s *serviceSpec) checkNetwork() error {
	if s.td == nil {
		return nil
	}
	awsvpc := s.networkMode() == model.NetworkModeAwsvpc
	hasConfig := s.network != nil && s.network.AwsvpcConfiguration != nil
	switch {
	case awsvpc && !hasConfig:
		return errs.New(errs.InvalidParameter, "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	case !awsvpc && hasConfig:
		return errs.New(errs.InvalidParameter, "Network Configuration is not valid for the given networkMode of this task definition.")
	case !hasConfig:
		return nil
	}
	return checkServiceAwsvpc(s.network.AwsvpcConfiguration, s.usesFargate())
}

func checkServiceAwsvpc(c *model.AwsVpcConfiguration, fargate bool) error {
	switch {
	case len(c.Subnets) == 0:
		return errs.New(errs.InvalidParameter, "subnets can not be empty.")
	case len(c.Subnets) > maxServiceSubnets:
		return errs.New(errs.InvalidParameter, "subnets can have at most %d items.", maxServiceSubnets)
	case len(c.SecurityGroups) > maxServiceSecurityGroups:
		return errs.New(errs.InvalidParameter, "securityGroups can have at most %d items.", maxServiceSecurityGroups)
	case c.AssignPublicIp == model.AssignPublicIpEnabled && !fargate:
		return errs.New(errs.InvalidParameter, "Assign public IP is not supported for this launch type.")
	}
	return nil
}

func (s *serviceSpec) checkLoadBalancers() error {
	if len(s.loadBalancers) > maxServiceLoadBalancers {
		return errs.New(errs.InvalidParameter, "loadBalancers can have at most %d items.", maxServiceLoadBalancers)
	}
	for _, lb := range s.loadBalancers {
		if err := checkServiceLoadBalancer(lb, s.td); err != nil {
			return err
		}
	}
	return nil
}

func checkServiceLoadBalancer(lb model.LoadBalancer, td *store.TaskDefinitionRecord) error {
	switch {
	case lb.TargetGroupArn == "" && lb.LoadBalancerName == "":
		return errs.New(errs.InvalidParameter, "Either a target group ARN or a load balancer name must be specified.")
	case lb.TargetGroupArn != "" && lb.LoadBalancerName != "":
		return errs.New(errs.InvalidParameter, "The load balancer name must be omitted when a target group ARN is specified.")
	case lb.ContainerName == "":
		return errs.New(errs.InvalidParameter, "Container Name can not be blank.")
	case lb.ContainerPort == nil:
		return errs.New(errs.InvalidParameter, "Container Port can not be blank.")
	}
	if td == nil {
		return nil
	}
	return checkServiceContainerPort(td, lb.ContainerName, *lb.ContainerPort)
}

// checkServiceContainerPort checks that the task definition has the named
// container and that it maps containerPort.
func checkServiceContainerPort(td *store.TaskDefinitionRecord, name string, port int32) error {
	i := slices.IndexFunc(td.ContainerDefinitions, func(c model.ContainerDefinition) bool { return c.Name == name })
	if i < 0 {
		return errs.New(errs.InvalidParameter, "The container %s does not exist in the task definition.", name)
	}
	mapped := slices.ContainsFunc(td.ContainerDefinitions[i].PortMappings, func(p model.PortMapping) bool {
		return p.ContainerPort != nil && *p.ContainerPort == port
	})
	if !mapped {
		return errs.New(errs.InvalidParameter, "The container %s did not have a container port %d defined.", name, port)
	}
	return nil
}

func (s *serviceSpec) checkRole() error {
	switch {
	case s.role == "":
		return nil
	case len(s.loadBalancers) == 0:
		return errs.New(errs.InvalidParameter, "A role can only be specified for services that use a load balancer.")
	case s.networkMode() == model.NetworkModeAwsvpc:
		return errs.New(errs.InvalidParameter, "You cannot specify an IAM role for services that require a service linked role.")
	}
	return nil
}

func (s *serviceSpec) checkRegistries() error {
	if len(s.registries) > maxServiceRegistries {
		return errs.New(errs.InvalidParameter, "Only one service registry can be associated with a service.")
	}
	for _, r := range s.registries {
		if r.RegistryArn == "" {
			return errs.New(errs.InvalidParameter, "The service registry ARN can not be blank.")
		}
		if s.td != nil && r.ContainerName != "" && !slices.ContainsFunc(s.td.ContainerDefinitions, func(c model.ContainerDefinition) bool { return c.Name == r.ContainerName }) {
			return errs.New(errs.InvalidParameter, "The container %s does not exist in the task definition.", r.ContainerName)
		}
	}
	return nil
}

func (s *serviceSpec) checkPlacement() error {
	fromDefinition := 0
	if s.td != nil {
		fromDefinition = len(s.td.PlacementConstraints)
	}
	if _, _, err := parseConstraints(s.constraints, fromDefinition); err != nil {
		return err
	}
	return checkStrategies(s.strategy)
}

func (s *serviceSpec) checkDeploymentConfiguration() error {
	dc := s.deployment
	if dc == nil {
		return nil
	}
	lo, hi := serviceInt32(dc.MinimumHealthyPercent), serviceInt32(dc.MaximumPercent)
	switch {
	case lo < 0 || hi < 0:
		return errs.New(errs.InvalidParameter, "The deployment configuration percentages cannot be negative.")
	case s.daemon() && hi > 100:
		return errs.New(errs.InvalidParameter, "The daemon scheduling strategy does not support values above 100 for maximumPercent on a deployment configuration. Change the maximumPercent value to 100, and try again")
	case lo > hi:
		return errs.New(errs.InvalidParameter, "The minimumHealthyPercent cannot be greater than the maximumPercent of a deployment configuration.")
	}
	return nil
}

func serviceInt32(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

// checkServiceLaunchChoice refuses a request that names both a launch type and a
// capacity provider strategy.
func checkServiceLaunchChoice(lt model.LaunchType, capacity []model.CapacityProviderStrategyItem) error {
	if lt != "" && len(capacity) > 0 {
		return errs.New(errs.InvalidParameter, "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
	}
	if len(capacity) > maxServiceCapacityProviders {
		return errs.New(errs.InvalidParameter, "A capacity provider strategy can contain at most %d capacity providers.", maxServiceCapacityProviders)
	}
	return nil
}

// checkServiceClientToken applies the CreateService clientToken rule: up to 36
// ASCII characters from 33 to 126.
func checkServiceClientToken(tok string) error {
	if len(tok) > maxServiceClientToken {
		return errs.New(errs.InvalidParameter, "clientToken can have at most %d characters.", maxServiceClientToken)
	}
	for _, r := range tok {
		if r < 33 || r > 126 {
			return errs.New(errs.InvalidParameter, "clientToken can contain only ASCII characters from 33 to 126.")
		}
	}
	return nil
}

// checkServiceDesiredCount applies the scheduling strategy's desiredCount rule:
// required (and not negative) for REPLICA on create, refused for DAEMON.
func checkServiceDesiredCount(s model.SchedulingStrategy, n *int32, required bool) error {
	switch {
	case s == model.SchedulingStrategyDaemon && n != nil:
		return errs.New(errs.InvalidParameter, "The daemon scheduling strategy does not support a desired count for services. Remove the desired count value and try again")
	case s == model.SchedulingStrategyDaemon:
		return nil
	case n == nil && required:
		return errs.New(errs.InvalidParameter, "The desired count must be specified for a service that uses the REPLICA scheduling strategy.")
	case n != nil && *n < 0:
		return errs.New(errs.InvalidParameter, "The desired count cannot be negative.")
	}
	return nil
}
