package ecs_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/quayside/quayside/internal/server/servertest"
)

// svcWantErr fails unless err is the API error code with message msg ("" =
// any message).
func svcWantErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got error %v, want %s", err, code)
	}
	if ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("got %s %q, want %s %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

// svcEnv is a harness with a cluster "c1" and task definitions: "web"
// (bridge, container web mapping port 80, revisions 1 and 2), "vpc"
// (awsvpc, EC2 and FARGATE).
type svcEnv struct {
	*servertest.Harness
	ctx  context.Context
	web1 string
	web2 string
	vpc  string
}

func svcSetup(t *testing.T) *svcEnv {
	t.Helper()
	h := servertest.Start(t)
	e := &svcEnv{Harness: h, ctx: h.Ctx()}
	if _, err := h.ECS.CreateCluster(e.ctx, &ecs.CreateClusterInput{ClusterName: aws.String("c1")}); err != nil {
		t.Fatal(err)
	}
	e.web1 = e.register(t, "web", "", nil)
	e.web2 = e.register(t, "web", "", nil)
	e.vpc = e.register(t, "vpc", types.NetworkModeAwsvpc, []types.Compatibility{types.CompatibilityEc2, types.CompatibilityFargate})
	return e
}

func (e *svcEnv) register(t *testing.T, family string, mode types.NetworkMode, requires []types.Compatibility) string {
	t.Helper()
	in := &ecs.RegisterTaskDefinitionInput{
		Family:      aws.String(family),
		NetworkMode: mode,
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("web"), Image: aws.String("web:1"), Memory: aws.Int32(64),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80)}},
		}},
		RequiresCompatibilities: requires,
	}
	if len(requires) > 0 {
		in.Cpu, in.Memory = aws.String("256"), aws.String("512")
	}
	out, err := e.ECS.RegisterTaskDefinition(e.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

// create makes service name in c1 from the web task definition with the
// given desired count, after mod changes the request.
func (e *svcEnv) create(t *testing.T, name string, desired int32, mod func(*ecs.CreateServiceInput)) (*types.Service, error) {
	t.Helper()
	in := &ecs.CreateServiceInput{Cluster: aws.String("c1"), ServiceName: aws.String(name),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(desired)}
	if mod != nil {
		mod(in)
	}
	out, err := e.ECS.CreateService(e.ctx, in)
	if err != nil {
		return nil, err
	}
	return out.Service, nil
}

func (e *svcEnv) mustCreate(t *testing.T, name string, desired int32, mod func(*ecs.CreateServiceInput)) *types.Service {
	t.Helper()
	s, err := e.create(t, name, desired, mod)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *svcEnv) describe(t *testing.T, names ...string) *ecs.DescribeServicesOutput {
	t.Helper()
	out, err := e.ECS.DescribeServices(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("c1"), Services: names})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *svcEnv) activeServices(t *testing.T) int32 {
	t.Helper()
	out, err := e.ECS.DescribeClusters(e.ctx, &ecs.DescribeClustersInput{Clusters: []string{"c1"}})
	if err != nil || len(out.Clusters) != 1 {
		t.Fatalf("describe cluster: %v %+v", err, out)
	}
	return out.Clusters[0].ActiveServicesCount
}

var deploymentIDRE = regexp.MustCompile(`^ecs-svc/[1-9][0-9]{18}$`)

func TestCreateServiceResponse(t *testing.T) {
	e := svcSetup(t)
	s := e.mustCreate(t, "api", 2, func(in *ecs.CreateServiceInput) {
		in.Tags = []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}
	})
	check := func(what string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s: service %+v", what, s)
		}
	}
	check("arn", aws.ToString(s.ServiceArn) == "arn:aws:ecs:us-east-1:000000000000:service/c1/api")
	check("cluster", aws.ToString(s.ClusterArn) == "arn:aws:ecs:us-east-1:000000000000:cluster/c1")
	check("status", aws.ToString(s.Status) == "ACTIVE" && s.DesiredCount == 2 && s.RunningCount == 0 && s.PendingCount == 0)
	check("launch type", s.LaunchType == types.LaunchTypeEc2 && aws.ToString(s.PlatformVersion) == "" && s.CapacityProviderStrategy == nil)
	check("task definition", aws.ToString(s.TaskDefinition) == e.web2)
	check("scheduling", s.SchedulingStrategy == types.SchedulingStrategyReplica && s.DeploymentController.Type == types.DeploymentControllerTypeEcs)
	dc := s.DeploymentConfiguration
	check("deployment configuration", aws.ToInt32(dc.MinimumHealthyPercent) == 100 && aws.ToInt32(dc.MaximumPercent) == 200 &&
		dc.DeploymentCircuitBreaker != nil && !dc.DeploymentCircuitBreaker.Enable)
	check("defaults", s.PropagateTags == types.PropagateTagsNone && !s.EnableExecuteCommand && !s.EnableECSManagedTags &&
		s.AvailabilityZoneRebalancing == types.AvailabilityZoneRebalancingEnabled && aws.ToInt32(s.HealthCheckGracePeriodSeconds) == 0)
	check("lists", s.Events != nil && len(s.Events) == 0 && s.PlacementConstraints != nil && s.PlacementStrategy != nil && s.LoadBalancers != nil)
	check("created", aws.ToString(s.CreatedBy) == "arn:aws:iam::000000000000:root" && s.CreatedAt != nil &&
		time.Since(*s.CreatedAt) < time.Minute && s.RoleArn == nil)
	check("tags", len(s.Tags) == 1)
	if len(s.Deployments) != 1 {
		t.Fatalf("deployments: %+v", s.Deployments)
	}
	d := s.Deployments[0]
	id := aws.ToString(d.Id)
	check("deployment", deploymentIDRE.MatchString(id) && aws.ToString(d.Status) == "PRIMARY" &&
		aws.ToString(d.TaskDefinition) == e.web2 && d.DesiredCount == 2 && d.RunningCount == 0 && d.FailedTasks == 0 &&
		d.LaunchType == types.LaunchTypeEc2 && d.CreatedAt != nil && d.UpdatedAt != nil)
	check("rollout", d.RolloutState == types.DeploymentRolloutStateInProgress &&
		aws.ToString(d.RolloutStateReason) == "ECS deployment "+id+" in progress.")
	if n := e.activeServices(t); n != 1 {
		t.Errorf("activeServicesCount %d, want 1", n)
	}
}

func TestCreateServiceVariants(t *testing.T) {
	e := svcSetup(t)
	f := e.mustCreate(t, "far", 1, func(in *ecs.CreateServiceInput) {
		in.TaskDefinition, in.LaunchType = aws.String(e.vpc), types.LaunchTypeFargate
		in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
			Subnets: []string{"subnet-1"}, AssignPublicIp: types.AssignPublicIpEnabled}}
	})
	if f.LaunchType != types.LaunchTypeFargate || aws.ToString(f.PlatformVersion) != "LATEST" ||
		f.Deployments[0].NetworkConfiguration == nil || f.NetworkConfiguration == nil {
		t.Errorf("fargate service: %+v", f)
	}
	net := func(subnet string) *types.NetworkConfiguration {
		return &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{subnet}}}
	}
	v := e.mustCreate(t, "vpc", 1, func(in *ecs.CreateServiceInput) {
		in.TaskDefinition, in.NetworkConfiguration = aws.String(e.vpc), net("a")
	})
	if v.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp != types.AssignPublicIpDisabled {
		t.Errorf("awsvpc service: %+v", v.NetworkConfiguration.AwsvpcConfiguration)
	}
	for _, c := range []struct {
		subnet string
		want   int
	}{{"a", 1}, {"b", 2}} {
		out, err := e.ECS.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c1"), Service: aws.String("vpc"), NetworkConfiguration: net(c.subnet)})
		if err != nil || len(out.Service.Deployments) != c.want {
			t.Errorf("update to subnet %s: %v, want %d deployments", c.subnet, err, c.want)
		}
	}
	d := e.mustCreate(t, "daemon", 0, func(in *ecs.CreateServiceInput) {
		in.DesiredCount, in.SchedulingStrategy = nil, types.SchedulingStrategyDaemon
		in.PlacementConstraints = []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance}}
	})
	dc := d.DeploymentConfiguration
	if aws.ToInt32(dc.MinimumHealthyPercent) != 0 || aws.ToInt32(dc.MaximumPercent) != 100 || len(d.PlacementConstraints) != 1 {
		t.Errorf("daemon service: %+v", d)
	}
	lb := e.mustCreate(t, "lb", 1, func(in *ecs.CreateServiceInput) {
		in.Role = aws.String("ecsServiceRole")
		in.LoadBalancers = []types.LoadBalancer{{TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/tg/1"),
			ContainerName: aws.String("web"), ContainerPort: aws.Int32(80)}}
		in.PlacementStrategy = []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("attribute:ecs.availability-zone")},
			{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("memory")}}
	})
	if aws.ToString(lb.RoleArn) != "arn:aws:iam::000000000000:role/ecsServiceRole" || len(lb.LoadBalancers) != 1 || len(lb.PlacementStrategy) != 2 {
		t.Errorf("load-balanced service: %+v", lb)
	}
}

func TestCreateServiceErrors(t *testing.T) {
	e := svcSetup(t)
	if _, err := e.ECS.CreateCluster(e.ctx, &ecs.CreateClusterInput{ClusterName: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ECS.DeleteCluster(e.ctx, &ecs.DeleteClusterInput{Cluster: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}
	inactive := e.register(t, "old", "", nil)
	if _, err := e.ECS.DeregisterTaskDefinition(e.ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(inactive)}); err != nil {
		t.Fatal(err)
	}
	e.mustCreate(t, "taken", 0, nil)
	lb := func(container string, port int32) []types.LoadBalancer {
		return []types.LoadBalancer{{TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/tg/1"),
			ContainerName: aws.String(container), ContainerPort: aws.Int32(port)}}
	}
	tooMany := make([]types.PlacementConstraint, 11)
	for i := range tooMany {
		tooMany[i] = types.PlacementConstraint{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.os-type == linux")}
	}
	const ip = "InvalidParameterException"
	cases := []struct {
		name, code, msg string
		mod             func(*ecs.CreateServiceInput)
	}{
		{"duplicate", ip, "Creation of service was not idempotent.", func(in *ecs.CreateServiceInput) { in.ServiceName = aws.String("taken") }},
		{"bad name", ip, "", func(in *ecs.CreateServiceInput) { in.ServiceName = aws.String("no spaces") }},
		{"missing cluster", "ClusterNotFoundException", "Cluster not found.", func(in *ecs.CreateServiceInput) { in.Cluster = aws.String("nope") }},
		{"inactive cluster", "ClientException", "The referenced cluster was inactive.", func(in *ecs.CreateServiceInput) { in.Cluster = aws.String("gone") }},
		{"unknown task definition", "ClientException", "TaskDefinition not found.", func(in *ecs.CreateServiceInput) { in.TaskDefinition = aws.String("ghost:1") }},
		{"inactive task definition", "ClientException", "TaskDefinition is inactive", func(in *ecs.CreateServiceInput) { in.TaskDefinition = aws.String(inactive) }},
		{"no task definition", ip, "", func(in *ecs.CreateServiceInput) { in.TaskDefinition = nil }},
		{"no desired count", ip, "", func(in *ecs.CreateServiceInput) { in.DesiredCount = nil }},
		{"negative desired count", ip, "", func(in *ecs.CreateServiceInput) { in.DesiredCount = aws.Int32(-1) }},
		{"daemon with desired count", ip, "The daemon scheduling strategy does not support a desired count for services. Remove the desired count value and try again",
			func(in *ecs.CreateServiceInput) { in.SchedulingStrategy = types.SchedulingStrategyDaemon }},
		{"daemon with strategy", ip, "The daemon scheduling strategy does not support placement strategies. Remove the placement strategy and try again",
			func(in *ecs.CreateServiceInput) {
				in.SchedulingStrategy, in.DesiredCount = types.SchedulingStrategyDaemon, nil
				in.PlacementStrategy = []types.PlacementStrategy{{Type: types.PlacementStrategyTypeRandom}}
			}},
		{"daemon above 100", ip, "", func(in *ecs.CreateServiceInput) {
			in.SchedulingStrategy, in.DesiredCount = types.SchedulingStrategyDaemon, nil
			in.DeploymentConfiguration = &types.DeploymentConfiguration{MaximumPercent: aws.Int32(200)}
		}},
		{"launch type and capacity providers", ip, "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.",
			func(in *ecs.CreateServiceInput) {
				in.LaunchType = types.LaunchTypeEc2
				in.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE")}}
			}},
		{"awsvpc without network", ip, "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
			func(in *ecs.CreateServiceInput) { in.TaskDefinition = aws.String(e.vpc) }},
		{"network for bridge", ip, "Network Configuration is not valid for the given networkMode of this task definition.", func(in *ecs.CreateServiceInput) {
			in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"s"}}}
		}},
		{"fargate on EC2-only definition", ip, "Task definition does not support launch_type FARGATE.", func(in *ecs.CreateServiceInput) {
			in.LaunchType = types.LaunchTypeFargate
		}},
		{"platform version on EC2", ip, "The platform version must be null when specifying an EC2 launch type.", func(in *ecs.CreateServiceInput) {
			in.PlatformVersion = aws.String("1.4.0")
		}},
		{"unknown container", ip, "The container api does not exist in the task definition.", func(in *ecs.CreateServiceInput) { in.LoadBalancers = lb("api", 80) }},
		{"unmapped port", ip, "The container web did not have a container port 8080 defined.", func(in *ecs.CreateServiceInput) { in.LoadBalancers = lb("web", 8080) }},
		{"role without load balancer", ip, "", func(in *ecs.CreateServiceInput) { in.Role = aws.String("r") }},
		{"bad binpack field", ip, "", func(in *ecs.CreateServiceInput) {
			in.PlacementStrategy = []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("instanceId")}}
		}},
		{"too many constraints", ip, "", func(in *ecs.CreateServiceInput) { in.PlacementConstraints = tooMany }},
		{"long client token", ip, "", func(in *ecs.CreateServiceInput) { in.ClientToken = aws.String(fmt.Sprintf("%037d", 1)) }},
		{"reserved tag", ip, "", func(in *ecs.CreateServiceInput) {
			in.Tags = []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("v")}}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.create(t, "new", 1, c.mod)
			svcWantErr(t, err, c.code, c.msg)
		})
	}
	if out := e.describe(t, "new"); len(out.Services) != 0 || e.activeServices(t) != 1 {
		t.Fatalf("a failed create left a service: %+v", out)
	}
}

func TestCreateServiceClientToken(t *testing.T) {
	e := svcSetup(t)
	tok := func(in *ecs.CreateServiceInput) { in.ClientToken = aws.String("token-1") }
	first := e.mustCreate(t, "idem", 1, tok)
	again := e.mustCreate(t, "idem", 1, tok)
	if aws.ToString(again.Deployments[0].Id) != aws.ToString(first.Deployments[0].Id) {
		t.Errorf("retry made a new service: %+v", again)
	}
	_, err := e.create(t, "idem", 2, tok)
	svcWantErr(t, err, "InvalidParameterException", "Creation of service was not idempotent.")
	_, err = e.create(t, "idem", 1, nil)
	svcWantErr(t, err, "InvalidParameterException", "Creation of service was not idempotent.")
	if n := e.activeServices(t); n != 1 {
		t.Errorf("activeServicesCount %d, want 1", n)
	}
}

func TestUpdateServiceDeployments(t *testing.T) {
	e := svcSetup(t)
	e.mustCreate(t, "app", 1, func(in *ecs.CreateServiceInput) { in.TaskDefinition = aws.String(e.web1) })
	update := func(in *ecs.UpdateServiceInput) *types.Service {
		t.Helper()
		in.Cluster, in.Service = aws.String("c1"), aws.String("app")
		out, err := e.ECS.UpdateService(e.ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return out.Service
	}
	s := update(&ecs.UpdateServiceInput{DesiredCount: aws.Int32(3)})
	if s.DesiredCount != 3 || len(s.Deployments) != 1 || s.Deployments[0].DesiredCount != 3 {
		t.Fatalf("scale only: %+v", s.Deployments)
	}
	first := aws.ToString(s.Deployments[0].Id)
	s = update(&ecs.UpdateServiceInput{
		PlacementStrategy:             []types.PlacementStrategy{{Type: types.PlacementStrategyTypeRandom}},
		DeploymentConfiguration:       &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50)},
		HealthCheckGracePeriodSeconds: aws.Int32(30), PropagateTags: types.PropagateTagsService, EnableExecuteCommand: aws.Bool(true),
	})
	if len(s.Deployments) != 1 || len(s.PlacementStrategy) != 1 || aws.ToInt32(s.DeploymentConfiguration.MinimumHealthyPercent) != 50 ||
		aws.ToInt32(s.DeploymentConfiguration.MaximumPercent) != 200 || aws.ToInt32(s.HealthCheckGracePeriodSeconds) != 30 ||
		s.PropagateTags != types.PropagateTagsService || !s.EnableExecuteCommand {
		t.Fatalf("in-place update: %+v", s)
	}
	s = update(&ecs.UpdateServiceInput{TaskDefinition: aws.String("web")})
	if len(s.Deployments) != 2 || aws.ToString(s.TaskDefinition) != e.web2 {
		t.Fatalf("new task definition: %+v", s.Deployments)
	}
	p, old := s.Deployments[0], s.Deployments[1]
	if aws.ToString(p.Status) != "PRIMARY" || aws.ToString(p.TaskDefinition) != e.web2 || p.DesiredCount != 3 ||
		aws.ToString(p.Id) == first || !deploymentIDRE.MatchString(aws.ToString(p.Id)) || p.RolloutState != types.DeploymentRolloutStateInProgress {
		t.Errorf("new PRIMARY: %+v", p)
	}
	if aws.ToString(old.Status) != "ACTIVE" || aws.ToString(old.Id) != first || aws.ToString(old.TaskDefinition) != e.web1 {
		t.Errorf("old deployment: %+v", old)
	}
	// The service scheduler drops a replaced deployment once it has no
	// task left (at once here: the cluster has no instance), so what
	// follows looks at the PRIMARY deployment.
	second := aws.ToString(p.Id)
	s = update(&ecs.UpdateServiceInput{TaskDefinition: aws.String(e.web2)})
	if aws.ToString(s.Deployments[0].Id) != second {
		t.Errorf("same task definition started a deployment: %+v", s.Deployments)
	}
	s = update(&ecs.UpdateServiceInput{ForceNewDeployment: true})
	if len(s.Deployments) < 2 || aws.ToString(s.Deployments[0].Id) == second ||
		aws.ToString(s.Deployments[1].Id) != second || aws.ToString(s.Deployments[1].Status) != "ACTIVE" {
		t.Errorf("forced deployment: %+v", s.Deployments)
	}
	if got := e.describe(t, "app").Services[0]; aws.ToString(got.Deployments[0].Id) != aws.ToString(s.Deployments[0].Id) {
		t.Errorf("describe after update: %+v", got.Deployments)
	}
}

func TestUpdateServiceErrors(t *testing.T) {
	e := svcSetup(t)
	e.mustCreate(t, "app", 1, nil)
	e.mustCreate(t, "dmn", 0, func(in *ecs.CreateServiceInput) {
		in.DesiredCount, in.SchedulingStrategy = nil, types.SchedulingStrategyDaemon
	})
	e.mustCreate(t, "bye", 0, nil)
	if _, err := e.ECS.DeleteService(e.ctx, &ecs.DeleteServiceInput{Cluster: aws.String("c1"), Service: aws.String("bye")}); err != nil {
		t.Fatal(err)
	}
	old := e.register(t, "old", "", nil)
	if _, err := e.ECS.DeregisterTaskDefinition(e.ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(old)}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, code, msg string
		in              ecs.UpdateServiceInput
	}{
		{"missing", "ServiceNotFoundException", "Service not found.", ecs.UpdateServiceInput{Service: aws.String("ghost"), DesiredCount: aws.Int32(1)}},
		{"deleted", "ServiceNotActiveException", "Service was not ACTIVE.", ecs.UpdateServiceInput{Service: aws.String("bye"), DesiredCount: aws.Int32(1)}},
		{"daemon desired count", "InvalidParameterException", "", ecs.UpdateServiceInput{Service: aws.String("dmn"), DesiredCount: aws.Int32(2)}},
		{"inactive task definition", "ClientException", "TaskDefinition is inactive", ecs.UpdateServiceInput{Service: aws.String("app"), TaskDefinition: aws.String(old)}},
		{"awsvpc without network", "InvalidParameterException", "", ecs.UpdateServiceInput{Service: aws.String("app"), TaskDefinition: aws.String(e.vpc)}},
		{"missing cluster", "ClusterNotFoundException", "", ecs.UpdateServiceInput{Cluster: aws.String("nope"), Service: aws.String("app")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			if in.Cluster == nil {
				in.Cluster = aws.String("c1")
			}
			_, err := e.ECS.UpdateService(e.ctx, &in)
			svcWantErr(t, err, c.code, c.msg)
		})
	}
	if s := e.describe(t, "app").Services[0]; len(s.Deployments) != 1 || aws.ToString(s.TaskDefinition) != e.web2 {
		t.Errorf("failed updates changed the service: %+v", s)
	}
}

func TestDeleteServiceAndWaitInactive(t *testing.T) {
	e := svcSetup(t)
	e.mustCreate(t, "app", 2, nil)
	del := func(force bool) (*types.Service, error) {
		out, err := e.ECS.DeleteService(e.ctx, &ecs.DeleteServiceInput{Cluster: aws.String("c1"), Service: aws.String("app"), Force: aws.Bool(force)})
		if err != nil {
			return nil, err
		}
		return out.Service, nil
	}
	_, err := del(false)
	svcWantErr(t, err, "InvalidParameterException", "The service cannot be stopped while it is scaled above 0.")
	s, err := del(true)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(s.Status) != "DRAINING" || s.DesiredCount != 0 {
		t.Errorf("delete response: %+v", s)
	}
	if n := e.activeServices(t); n != 0 {
		t.Errorf("activeServicesCount %d after delete", n)
	}
	list, err := e.ECS.ListServices(e.ctx, &ecs.ListServicesInput{Cluster: aws.String("c1")})
	if err != nil || len(list.ServiceArns) != 0 {
		t.Errorf("deleted service still listed: %v %v", err, list)
	}
	w := ecs.NewServicesInactiveWaiter(e.ECS, func(o *ecs.ServicesInactiveWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 50*time.Millisecond
	})
	if err := w.Wait(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("c1"), Services: []string{"app"}}, 5*time.Second); err != nil {
		t.Fatalf("services-inactive: %v", err)
	}
	if again, err := del(false); err != nil || aws.ToString(again.Status) != "INACTIVE" {
		t.Errorf("delete of an inactive service: %v %+v", err, again)
	}
	_, err = e.ECS.DeleteService(e.ctx, &ecs.DeleteServiceInput{Cluster: aws.String("c1"), Service: aws.String("ghost")})
	svcWantErr(t, err, "ServiceNotFoundException", "Service not found.")
	// An INACTIVE name can be used again, and an empty cluster deleted.
	if s := e.mustCreate(t, "app", 0, nil); aws.ToString(s.Status) != "ACTIVE" {
		t.Errorf("recreated service: %+v", s)
	}
	if _, err := del(false); err != nil {
		t.Fatal(err)
	}
	if err := w.Wait(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("c1"), Services: []string{"app"}}, 5*time.Second); err != nil {
		t.Fatalf("services-inactive: %v", err)
	}
	if _, err := e.ECS.DeleteCluster(e.ctx, &ecs.DeleteClusterInput{Cluster: aws.String("c1")}); err != nil {
		t.Errorf("delete cluster after its services: %v", err)
	}
}

func TestDescribeServices(t *testing.T) {
	e := svcSetup(t)
	e.mustCreate(t, "tagged", 0, func(in *ecs.CreateServiceInput) {
		in.Tags = []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}
	})
	arn := "arn:aws:ecs:us-east-1:000000000000:service/c1/tagged"
	out, err := e.ECS.DescribeServices(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("c1"),
		Services: []string{"tagged", arn, "ghost"},
		Include:  []types.ServiceField{types.ServiceFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Services) != 2 || len(out.Services[0].Tags) != 1 || aws.ToString(out.Services[1].ServiceArn) != arn {
		t.Errorf("services: %+v", out.Services)
	}
	if len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" ||
		aws.ToString(out.Failures[0].Arn) != "arn:aws:ecs:us-east-1:000000000000:service/c1/ghost" {
		t.Errorf("failures: %+v", out.Failures)
	}
	if plain := e.describe(t, "tagged"); len(plain.Services[0].Tags) != 0 || plain.Failures == nil {
		t.Errorf("tags without include: %+v", plain)
	}
	names := make([]string, 11)
	for i := range names {
		names[i] = fmt.Sprintf("s%d", i)
	}
	_, err = e.ECS.DescribeServices(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("c1"), Services: names})
	svcWantErr(t, err, "InvalidParameterException", "")
	_, err = e.ECS.DescribeServices(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("nope"), Services: []string{"tagged"}})
	svcWantErr(t, err, "ClusterNotFoundException", "Cluster not found.")
}

func TestListServicesPaginates(t *testing.T) {
	e := svcSetup(t)
	want := map[string]bool{}
	for i := range 25 {
		s := e.mustCreate(t, fmt.Sprintf("svc-%02d", i), 0, nil)
		want[aws.ToString(s.ServiceArn)] = true
	}
	e.mustCreate(t, "dmn", 0, func(in *ecs.CreateServiceInput) {
		in.DesiredCount, in.SchedulingStrategy = nil, types.SchedulingStrategyDaemon
	})
	p := ecs.NewListServicesPaginator(e.ECS, &ecs.ListServicesInput{Cluster: aws.String("c1"),
		SchedulingStrategy: types.SchedulingStrategyReplica, MaxResults: aws.Int32(10)})
	var sizes []int
	got := map[string]bool{}
	for p.HasMorePages() {
		page, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(page.ServiceArns))
		for _, a := range page.ServiceArns {
			if got[a] || !want[a] {
				t.Errorf("unexpected or repeated %s", a)
			}
			got[a] = true
		}
	}
	if fmt.Sprint(sizes) != "[10 10 5]" || len(got) != 25 {
		t.Errorf("page sizes %v, %d services", sizes, len(got))
	}
	first, err := e.ECS.ListServices(e.ctx, &ecs.ListServicesInput{Cluster: aws.String("c1")})
	if err != nil || len(first.ServiceArns) != 10 || first.NextToken == nil {
		t.Errorf("default page: %v %d %v", err, len(first.ServiceArns), first.NextToken)
	}
	daemons, err := e.ECS.ListServices(e.ctx, &ecs.ListServicesInput{Cluster: aws.String("c1"), SchedulingStrategy: types.SchedulingStrategyDaemon})
	if err != nil || len(daemons.ServiceArns) != 1 {
		t.Errorf("daemon filter: %v %v", err, daemons)
	}
	fargate, err := e.ECS.ListServices(e.ctx, &ecs.ListServicesInput{Cluster: aws.String("c1"), LaunchType: types.LaunchTypeFargate})
	if err != nil || len(fargate.ServiceArns) != 0 {
		t.Errorf("fargate filter: %v %v", err, fargate)
	}
	_, err = e.ECS.ListServices(e.ctx, &ecs.ListServicesInput{Cluster: aws.String("c1"), MaxResults: aws.Int32(101)})
	svcWantErr(t, err, "InvalidParameterException", "")
	_, err = e.ECS.ListServices(e.ctx, &ecs.ListServicesInput{Cluster: aws.String("nope")})
	svcWantErr(t, err, "ClusterNotFoundException", "")
}

func TestListServicesByNamespace(t *testing.T) {
	e := svcSetup(t)
	_, err := e.ECS.ListServicesByNamespace(e.ctx, &ecs.ListServicesByNamespaceInput{Namespace: aws.String("ns.local")})
	svcWantErr(t, err, "NamespaceNotFoundException", "")
	for i := range 3 {
		e.mustCreate(t, fmt.Sprintf("sc-%d", i), 0, func(in *ecs.CreateServiceInput) {
			in.ServiceConnectConfiguration = &types.ServiceConnectConfiguration{Enabled: true, Namespace: aws.String("ns.local")}
		})
	}
	e.mustCreate(t, "plain", 0, nil)
	p := ecs.NewListServicesByNamespacePaginator(e.ECS, &ecs.ListServicesByNamespaceInput{Namespace: aws.String("ns.local"), MaxResults: aws.Int32(2)})
	var arns []string
	for p.HasMorePages() {
		page, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, page.ServiceArns...)
	}
	if len(arns) != 3 {
		t.Errorf("services in namespace: %v", arns)
	}
	if s := e.describe(t, "sc-0").Services[0]; s.Deployments[0].ServiceConnectConfiguration == nil {
		t.Errorf("deployment lost its service connect configuration: %+v", s.Deployments[0])
	}
}

func TestServicesSurviveRestart(t *testing.T) {
	e := svcSetup(t)
	created := e.mustCreate(t, "durable", 1, nil)
	if _, err := e.ECS.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c1"), Service: aws.String("durable"),
		TaskDefinition: aws.String(e.web1)}); err != nil {
		t.Fatal(err)
	}
	e.Restart()
	s := e.describe(t, "durable").Services[0]
	// The replaced deployment may be gone (it has no task to drain).
	if aws.ToString(s.Status) != "ACTIVE" || aws.ToString(s.Deployments[0].TaskDefinition) != e.web1 ||
		aws.ToString(s.Deployments[0].Id) == aws.ToString(created.Deployments[0].Id) ||
		// model.Time can lose up to 1 ms each time a record is decoded and
		// stored again (reported); allow for that drift.
		s.CreatedAt.Sub(*created.CreatedAt).Abs() > 5*time.Millisecond {
		t.Errorf("after restart: %s, %d deployments, created %v (was %v)", aws.ToString(s.Status), len(s.Deployments), s.CreatedAt, created.CreatedAt)
	}
	list, err := e.ECS.ListServices(e.ctx, &ecs.ListServicesInput{Cluster: aws.String("c1")})
	if err != nil || len(list.ServiceArns) != 1 {
		t.Errorf("list after restart: %v %v", err, list)
	}
}

// Fargate capacity providers run the LATEST platform version unless one is
// chosen, and going back from them to a launch type (an empty strategy)
// lands on FARGATE with the platform version and public IP still valid.
func TestServiceFargateCapacityProviders(t *testing.T) {
	e := svcSetup(t)
	if _, err := e.ECS.PutClusterCapacityProviders(e.ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("c1"),
		CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"}, DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{}}); err != nil {
		t.Fatal(err)
	}
	spot := []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1}}
	public := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
		Subnets: []string{"subnet-1"}, AssignPublicIp: types.AssignPublicIpEnabled}}
	s := e.mustCreate(t, "spot", 1, func(in *ecs.CreateServiceInput) {
		in.TaskDefinition, in.CapacityProviderStrategy, in.NetworkConfiguration = aws.String(e.vpc), spot, public
	})
	if aws.ToString(s.PlatformVersion) != "LATEST" || aws.ToString(s.Deployments[0].PlatformVersion) != "LATEST" {
		t.Errorf("spot service platform version: %q", aws.ToString(s.PlatformVersion))
	}
	e.mustCreate(t, "pinned", 1, func(in *ecs.CreateServiceInput) {
		in.TaskDefinition, in.CapacityProviderStrategy, in.NetworkConfiguration = aws.String(e.vpc), spot, public
		in.PlatformVersion = aws.String("1.4.0")
	})
	out, err := e.ECS.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c1"), Service: aws.String("pinned"),
		CapacityProviderStrategy: []types.CapacityProviderStrategyItem{}})
	if err != nil {
		t.Fatalf("back to the launch type: %v", err)
	}
	if u := out.Service; u.LaunchType != types.LaunchTypeFargate || u.CapacityProviderStrategy != nil || aws.ToString(u.PlatformVersion) != "1.4.0" {
		t.Errorf("after an empty strategy: %s %+v %q", u.LaunchType, u.CapacityProviderStrategy, aws.ToString(u.PlatformVersion))
	}
	out, err = e.ECS.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c1"), Service: aws.String("pinned"), DesiredCount: aws.Int32(2)})
	if err != nil || out.Service.DesiredCount != 2 {
		t.Fatalf("later update: %v", err)
	}
	ec2 := e.mustCreate(t, "ec2", 1, nil)
	if aws.ToString(ec2.PlatformVersion) != "" {
		t.Errorf("EC2 service platform version: %q", aws.ToString(ec2.PlatformVersion))
	}
}
