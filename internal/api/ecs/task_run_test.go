package ecs_test

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/quayside/quayside/internal/model"
)

var (
	tkTaskARNRE      = regexp.MustCompile(`^arn:aws:ecs:us-east-1:123456789012:task/web/([0-9a-f]{32})$`)
	tkContainerARNRE = regexp.MustCompile(`^arn:aws:ecs:us-east-1:123456789012:container/web/([0-9a-f]{32})/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

func tkFailures(fs []types.Failure) []string {
	var out []string
	for _, f := range fs {
		out = append(out, aws.ToString(f.Reason)+" "+aws.ToString(f.Arn))
	}
	return out
}

func TestRunTask(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	ci := e.register("web", 1024, 2048, tkAttr("ecs.availability-zone", "us-east-1a"))
	td := e.simpleTaskDef("web", 256, 512, model.PortMapping{ContainerPort: aws.Int32(80), HostPort: aws.Int32(8080)})

	out := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web"), StartedBy: aws.String("ci/job-1")})
	if len(out.Tasks) != 1 || out.Failures == nil || len(out.Failures) != 0 {
		t.Fatalf("RunTask = %+v", out)
	}
	tk := out.Tasks[0]
	m := tkTaskARNRE.FindStringSubmatch(aws.ToString(tk.TaskArn))
	if m == nil {
		t.Fatalf("taskArn = %s", aws.ToString(tk.TaskArn))
	}
	checks := map[string][2]string{
		"lastStatus":           {aws.ToString(tk.LastStatus), "PENDING"},
		"desiredStatus":        {aws.ToString(tk.DesiredStatus), "RUNNING"},
		"group":                {aws.ToString(tk.Group), "family:web"},
		"startedBy":            {aws.ToString(tk.StartedBy), "ci/job-1"},
		"launchType":           {string(tk.LaunchType), "EC2"},
		"taskDefinitionArn":    {aws.ToString(tk.TaskDefinitionArn), td},
		"clusterArn":           {aws.ToString(tk.ClusterArn), e.scope.Cluster("web")},
		"containerInstanceArn": {aws.ToString(tk.ContainerInstanceArn), aws.ToString(ci.ContainerInstanceArn)},
		"availabilityZone":     {aws.ToString(tk.AvailabilityZone), "us-east-1a"},
		"cpu":                  {aws.ToString(tk.Cpu), "256"},
		"memory":               {aws.ToString(tk.Memory), "512"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
	if tk.Version != 1 || tk.CreatedAt == nil || tk.Overrides == nil || tk.Overrides.ContainerOverrides == nil || tk.Attachments == nil {
		t.Errorf("version %d createdAt %v overrides %+v attachments %v", tk.Version, tk.CreatedAt, tk.Overrides, tk.Attachments)
	}
	if len(tk.Containers) != 1 {
		t.Fatalf("containers = %+v", tk.Containers)
	}
	c := tk.Containers[0]
	cm := tkContainerARNRE.FindStringSubmatch(aws.ToString(c.ContainerArn))
	if cm == nil || cm[1] != m[1] || aws.ToString(c.TaskArn) != aws.ToString(tk.TaskArn) ||
		aws.ToString(c.Name) != "app" || aws.ToString(c.Image) != "nginx:latest" || aws.ToString(c.LastStatus) != "PENDING" ||
		aws.ToString(c.Cpu) != "256" || aws.ToString(c.Memory) != "512" || c.MemoryReservation != nil ||
		c.NetworkBindings == nil || c.NetworkInterfaces == nil {
		t.Errorf("container = %+v (arn %s)", c, aws.ToString(c.ContainerArn))
	}

	rem := e.describeInstance("web", aws.ToString(ci.ContainerInstanceArn))
	if tkResInt(rem.RemainingResources, "CPU") != 768 || tkResInt(rem.RemainingResources, "MEMORY") != 1536 ||
		!slices.Contains(tkResSet(rem.RemainingResources, "PORTS"), "8080") ||
		rem.RunningTasksCount != 1 || rem.PendingTasksCount != 1 {
		t.Errorf("instance after RunTask = remaining %+v running %d pending %d", rem.RemainingResources, rem.RunningTasksCount, rem.PendingTasksCount)
	}
	if c := e.cluster("web"); c.PendingTasksCount != 1 || c.RunningTasksCount != 0 {
		t.Errorf("cluster counts = pending %d running %d", c.PendingTasksCount, c.RunningTasksCount)
	}

	// The static host port is taken: a second copy cannot go on this node.
	out = e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web:1"), Count: aws.Int32(3)})
	if len(out.Tasks) != 0 || !slices.Equal(tkFailures(out.Failures), []string{"RESOURCE:PORTS " + aws.ToString(ci.ContainerInstanceArn)}) {
		t.Errorf("second RunTask = tasks %d failures %v", len(out.Tasks), tkFailures(out.Failures))
	}
}

func TestRunTaskPlacementReasons(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	small := e.register("web", 256, 4096)
	lowMem := e.register("web", 4096, 128)
	big := e.register("web", 4096, 4096, tkAttr("ecs.capability.docker-remote-api.1.44", ""))
	e.simpleTaskDef("cpu", 512, 256)
	out := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("cpu"), Count: aws.Int32(10)})
	if len(out.Tasks) != 8 {
		t.Errorf("placed %d, want 8 (4096/512 on the big node)", len(out.Tasks))
	}
	want := []string{
		"RESOURCE:CPU " + aws.ToString(small.ContainerInstanceArn),
		"RESOURCE:MEMORY " + aws.ToString(lowMem.ContainerInstanceArn),
		"RESOURCE:CPU " + aws.ToString(big.ContainerInstanceArn),
	}
	if got := tkFailures(out.Failures); !slices.Equal(got, want) {
		t.Errorf("failures = %v, want %v", got, want)
	}

	e.putTaskDef(model.TaskDefinition{Family: "needs", RequiresAttributes: []model.Attribute{{Name: "ecs.capability.docker-remote-api.1.44"}},
		ContainerDefinitions: []model.ContainerDefinition{{Name: "a", Image: "busybox", MemoryReservation: aws.Int32(64)}}})
	out = e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("needs"), Count: aws.Int32(2)})
	if len(out.Tasks) != 2 || aws.ToString(out.Tasks[0].ContainerInstanceArn) != aws.ToString(big.ContainerInstanceArn) {
		t.Errorf("requiresAttributes placement = %+v", out.Tasks)
	}
	for _, f := range out.Failures {
		t.Errorf("unexpected failure %s %s", aws.ToString(f.Reason), aws.ToString(f.Arn))
	}
	if got := aws.ToString(out.Tasks[0].Memory); got != "64" || aws.ToString(out.Tasks[0].Containers[0].MemoryReservation) != "64" {
		t.Errorf("memory = %s, container %+v", got, out.Tasks[0].Containers[0])
	}
	// The small node lacks the attribute; with no room on big it shows ATTRIBUTE.
	e.putTaskDef(model.TaskDefinition{Family: "needs-big", RequiresAttributes: []model.Attribute{{Name: "ecs.capability.docker-remote-api.1.44"}},
		Cpu: "8192", ContainerDefinitions: []model.ContainerDefinition{{Name: "a", Image: "busybox", Memory: aws.Int32(64)}}})
	out = e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("needs-big")})
	want = []string{
		"ATTRIBUTE " + aws.ToString(small.ContainerInstanceArn),
		"ATTRIBUTE " + aws.ToString(lowMem.ContainerInstanceArn),
		"RESOURCE:CPU " + aws.ToString(big.ContainerInstanceArn),
	}
	if got := tkFailures(out.Failures); len(out.Tasks) != 0 || !slices.Equal(got, want) {
		t.Errorf("failures = %v, want %v", got, want)
	}
}

func TestRunTaskUDPPorts(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	ci := e.register("web", 4096, 4096)
	e.putTaskDef(model.TaskDefinition{Family: "dns", NetworkMode: model.NetworkModeHost, ContainerDefinitions: []model.ContainerDefinition{{
		Name: "dns", Image: "coredns", Memory: aws.Int32(64),
		PortMappings: []model.PortMapping{{ContainerPort: aws.Int32(53), Protocol: model.TransportProtocolUdp}, {ContainerPort: aws.Int32(9153)}},
	}}})
	out := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("dns"), Count: aws.Int32(2)})
	if len(out.Tasks) != 1 || !slices.Equal(tkFailures(out.Failures), []string{"RESOURCE:PORTS " + aws.ToString(ci.ContainerInstanceArn)}) {
		t.Errorf("host-mode RunTask = %d tasks, failures %v", len(out.Tasks), tkFailures(out.Failures))
	}
	rem := e.describeInstance("web", aws.ToString(ci.ContainerInstanceArn)).RemainingResources
	if !slices.Equal(tkResSet(rem, "PORTS_UDP"), []string{"53"}) || !slices.Contains(tkResSet(rem, "PORTS"), "9153") {
		t.Errorf("remaining ports = %+v", rem)
	}
	// A definition needing only the UDP port fails on PORTS_UDP.
	e.putTaskDef(model.TaskDefinition{Family: "udp", ContainerDefinitions: []model.ContainerDefinition{{
		Name: "u", Image: "x", Memory: aws.Int32(8), PortMappings: []model.PortMapping{{ContainerPort: aws.Int32(53), HostPort: aws.Int32(53), Protocol: model.TransportProtocolUdp}},
	}}})
	out = e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("udp")})
	if !slices.Equal(tkFailures(out.Failures), []string{"RESOURCE:PORTS_UDP " + aws.ToString(ci.ContainerInstanceArn)}) {
		t.Errorf("failures = %v", tkFailures(out.Failures))
	}
	// Dynamic ports (hostPort 0) never conflict.
	e.simpleTaskDef("dyn", 1, 1, model.PortMapping{ContainerPort: aws.Int32(80), HostPort: aws.Int32(0)})
	if out = e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("dyn"), Count: aws.Int32(5)}); len(out.Tasks) != 5 {
		t.Errorf("dynamic ports: placed %d of 5: %v", len(out.Tasks), tkFailures(out.Failures))
	}
}

func TestRunTaskErrors(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	e.createCluster("empty")
	e.register("web", 4096, 4096)
	e.simpleTaskDef("web", 128, 128)
	e.putTaskDef(model.TaskDefinition{Family: "old", Status: model.TaskDefinitionStatusInactive,
		ContainerDefinitions: []model.ContainerDefinition{{Name: "a", Image: "x", Memory: aws.Int32(8)}}})
	e.putTaskDef(model.TaskDefinition{Family: "vpc", NetworkMode: model.NetworkModeAwsvpc,
		ContainerDefinitions: []model.ContainerDefinition{{Name: "a", Image: "x", Memory: aws.Int32(8)}}})
	e.putTaskDef(model.TaskDefinition{Family: "ec2only", Compatibilities: []model.Compatibility{model.CompatibilityEc2},
		ContainerDefinitions: []model.ContainerDefinition{{Name: "a", Image: "x", Memory: aws.Int32(8)}}})
	e.putTaskDef(model.TaskDefinition{Family: "fargate", Compatibilities: []model.Compatibility{model.CompatibilityEc2, "FARGATE"}, NetworkMode: model.NetworkModeAwsvpc,
		ContainerDefinitions: []model.ContainerDefinition{{Name: "a", Image: "x", Memory: aws.Int32(8)}}})
	vpc := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}
	cons := func(n int) []types.PlacementConstraint {
		out := make([]types.PlacementConstraint, n)
		for i := range out {
			out[i] = types.PlacementConstraint{Type: types.PlacementConstraintTypeDistinctInstance}
		}
		return out
	}
	bigOverride := &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("app"), Command: []string{strings.Repeat("x", 8200)}}}}
	cases := []struct {
		name      string
		in        awsecs.RunTaskInput
		code, msg string
	}{
		{"unknown cluster", awsecs.RunTaskInput{Cluster: aws.String("nope")}, "ClusterNotFoundException", "Cluster not found."},
		{"no instances", awsecs.RunTaskInput{Cluster: aws.String("empty")}, "InvalidParameterException", "No Container Instances were found in your cluster."},
		{"unknown definition", awsecs.RunTaskInput{TaskDefinition: aws.String("nosuch")}, "ClientException", "TaskDefinition not found."},
		{"unknown revision", awsecs.RunTaskInput{TaskDefinition: aws.String("web:7")}, "ClientException", "TaskDefinition not found."},
		{"inactive definition", awsecs.RunTaskInput{TaskDefinition: aws.String("old:1")}, "ClientException", "TaskDefinition is inactive"},
		{"inactive family", awsecs.RunTaskInput{TaskDefinition: aws.String("old")}, "ClientException", "TaskDefinition not found."},
		{"awsvpc without network", awsecs.RunTaskInput{TaskDefinition: aws.String("vpc")}, "InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified."},
		{"network on bridge", awsecs.RunTaskInput{NetworkConfiguration: vpc}, "InvalidParameterException", "Network Configuration is not valid for the given networkMode of this task definition."},
		{"empty subnets", awsecs.RunTaskInput{TaskDefinition: aws.String("vpc"), NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{}}}}, "InvalidParameterException", "subnets can not be empty."},
		{"count 0", awsecs.RunTaskInput{Count: aws.Int32(0)}, "InvalidParameterException", ""},
		{"count 11", awsecs.RunTaskInput{Count: aws.Int32(11)}, "InvalidParameterException", ""},
		{"startedBy chars", awsecs.RunTaskInput{StartedBy: aws.String("me and you")}, "InvalidParameterException", ""},
		{"startedBy length", awsecs.RunTaskInput{StartedBy: aws.String(strings.Repeat("a", 129))}, "InvalidParameterException", ""},
		{"group length", awsecs.RunTaskInput{Group: aws.String(strings.Repeat("g", 256))}, "InvalidParameterException", ""},
		{"client token chars", awsecs.RunTaskInput{ClientToken: aws.String("a b")}, "InvalidParameterException", ""},
		{"client token length", awsecs.RunTaskInput{ClientToken: aws.String(strings.Repeat("t", 65))}, "InvalidParameterException", ""},
		{"override unknown container", awsecs.RunTaskInput{Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("db")}}}},
			"InvalidParameterException", "Override for container named db is not a container in the TaskDefinition."},
		{"overrides too long", awsecs.RunTaskInput{Overrides: bigOverride}, "InvalidParameterException", ""},
		{"reserved tag", awsecs.RunTaskInput{Tags: []types.Tag{{Key: aws.String("AWS:x"), Value: aws.String("y")}}}, "InvalidParameterException", ""},
		{"propagate SERVICE", awsecs.RunTaskInput{PropagateTags: types.PropagateTagsService}, "InvalidParameterException", ""},
		{"fargate on EC2-only definition", awsecs.RunTaskInput{TaskDefinition: aws.String("ec2only"), LaunchType: types.LaunchTypeFargate}, "InvalidParameterException", "Task definition does not support launch_type FARGATE."},
		{"fargate", awsecs.RunTaskInput{TaskDefinition: aws.String("fargate"), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: vpc}, "UnsupportedFeatureException", ""},
		{"external on EC2-only definition", awsecs.RunTaskInput{TaskDefinition: aws.String("ec2only"), LaunchType: types.LaunchTypeExternal}, "InvalidParameterException", "Task definition does not support launch_type EXTERNAL."},
		{"launch type and capacity providers", awsecs.RunTaskInput{LaunchType: types.LaunchTypeEc2, CapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("cp")}}}, "InvalidParameterException", ""},
		{"capacity providers", awsecs.RunTaskInput{CapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("cp")}}}, "UnsupportedFeatureException", ""},
		{"eleven constraints", awsecs.RunTaskInput{PlacementConstraints: cons(11)}, "InvalidParameterException", ""},
		{"distinctInstance with expression", awsecs.RunTaskInput{PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance, Expression: aws.String("attribute:a exists")}}}, "InvalidParameterException", ""},
		{"memberOf without expression", awsecs.RunTaskInput{PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf}}}, "InvalidParameterException", ""},
		{"memberOf malformed", awsecs.RunTaskInput{PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:a ==")}}}, "InvalidParameterException", ""},
		{"memberOf too long", awsecs.RunTaskInput{PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:a == " + strings.Repeat("b", 2000))}}}, "InvalidParameterException", ""},
		{"binpack field", awsecs.RunTaskInput{PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("disk")}}}, "InvalidParameterException", ""},
		{"random with field", awsecs.RunTaskInput{PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeRandom, Field: aws.String("cpu")}}}, "InvalidParameterException", ""},
		{"spread field", awsecs.RunTaskInput{PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("rack")}}}, "InvalidParameterException", ""},
		{"six strategies", awsecs.RunTaskInput{PlacementStrategy: slices.Repeat([]types.PlacementStrategy{{Type: types.PlacementStrategyTypeRandom}}, 6)}, "InvalidParameterException", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			if in.Cluster == nil {
				in.Cluster = aws.String("web")
			}
			if in.TaskDefinition == nil {
				in.TaskDefinition = aws.String("web")
			}
			_, err := e.ECS.RunTask(e.ctx(), &in)
			tkWantErr(t, err, c.code, c.msg)
		})
	}
	// None of the refused calls placed anything.
	if c := e.cluster("web"); c.PendingTasksCount != 0 {
		t.Errorf("pendingTasksCount = %d after refused calls", c.PendingTasksCount)
	}
}

func TestRunTaskAcceptsStrategies(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	e.register("web", 4096, 4096)
	e.simpleTaskDef("web", 128, 128)
	out := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web"), PlacementStrategy: []types.PlacementStrategy{
		{Type: types.PlacementStrategyTypeSpread, Field: aws.String("attribute:ecs.availability-zone")},
		{Type: types.PlacementStrategyTypeSpread, Field: aws.String("instanceId")},
		{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("memory")},
		{Type: types.PlacementStrategyTypeRandom},
	}})
	if len(out.Tasks) != 1 {
		t.Errorf("RunTask with strategies = %+v", out)
	}
}

func TestRunTaskTooManyConstraintsWithDefinition(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	e.register("web", 4096, 4096, tkAttr("a", "1"))
	e.putTaskDef(model.TaskDefinition{Family: "c", ContainerDefinitions: []model.ContainerDefinition{{Name: "a", Image: "x", Memory: aws.Int32(8)}},
		PlacementConstraints: []model.TaskDefinitionPlacementConstraint{{Type: "memberOf", Expression: "attribute:a == 1"}}})
	ten := slices.Repeat([]types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:a exists")}}, 10)
	_, err := e.ECS.RunTask(e.ctx(), &awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("c"), PlacementConstraints: ten})
	tkWantErr(t, err, "InvalidParameterException", "")
	if out := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("c"), PlacementConstraints: ten[:9]}); len(out.Tasks) != 1 {
		t.Errorf("nine plus the definition's one: %+v", out)
	}
}

func TestRunTaskConstraints(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	dev := e.register("web", 4096, 4096, tkAttr("stack", "dev"))
	prod1 := e.register("web", 4096, 4096, tkAttr("stack", "prod"))
	prod2 := e.register("web", 4096, 4096, tkAttr("stack", "prod"))
	e.simpleTaskDef("web", 128, 128)
	memberOf := types.PlacementConstraint{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:stack == prod")}
	distinct := types.PlacementConstraint{Type: types.PlacementConstraintTypeDistinctInstance}

	out := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web"), Count: aws.Int32(3),
		PlacementConstraints: []types.PlacementConstraint{memberOf, distinct}})
	var hosts []string
	for _, tk := range out.Tasks {
		hosts = append(hosts, aws.ToString(tk.ContainerInstanceArn))
	}
	slices.Sort(hosts) // RunTask places at random by default
	want := []string{aws.ToString(prod1.ContainerInstanceArn), aws.ToString(prod2.ContainerInstanceArn)}
	slices.Sort(want)
	if !slices.Equal(hosts, want) {
		t.Errorf("hosts = %v", hosts)
	}
	want = []string{
		"MemberOf placement constraint unsatisfied. " + aws.ToString(dev.ContainerInstanceArn),
		"DistinctInstance placement constraint unsatisfied. " + aws.ToString(prod1.ContainerInstanceArn),
		"DistinctInstance placement constraint unsatisfied. " + aws.ToString(prod2.ContainerInstanceArn),
	}
	if got := tkFailures(out.Failures); !slices.Equal(got, want) {
		t.Errorf("failures = %v, want %v", got, want)
	}

	// distinctInstance counts the group's tasks already running; another group is free.
	out = e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web"), PlacementConstraints: []types.PlacementConstraint{distinct}})
	if len(out.Tasks) != 1 || aws.ToString(out.Tasks[0].ContainerInstanceArn) != aws.ToString(dev.ContainerInstanceArn) {
		t.Errorf("distinct in family:web = %+v", tkFailures(out.Failures))
	}
	out = e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web"), Group: aws.String("other"),
		PlacementConstraints: []types.PlacementConstraint{distinct, {Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:stack == dev")}}})
	if len(out.Tasks) != 1 || aws.ToString(out.Tasks[0].ContainerInstanceArn) != aws.ToString(dev.ContainerInstanceArn) {
		t.Errorf("distinct in group other = %+v", out.Tasks)
	}
	// task:group affinity.
	out = e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web"), Count: aws.Int32(2),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("task:group == other")}}})
	if len(out.Tasks) != 2 || aws.ToString(out.Tasks[1].ContainerInstanceArn) != aws.ToString(dev.ContainerInstanceArn) {
		t.Errorf("task:group affinity = %+v", tkFailures(out.Failures))
	}
	// The definition's own constraint binds too.
	e.putTaskDef(model.TaskDefinition{Family: "devonly", ContainerDefinitions: []model.ContainerDefinition{{Name: "a", Image: "x", Memory: aws.Int32(8)}},
		PlacementConstraints: []model.TaskDefinitionPlacementConstraint{{Type: "memberOf", Expression: "attribute:stack == dev"}}})
	out = e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("devonly"), PlacementConstraints: []types.PlacementConstraint{memberOf}})
	if len(out.Tasks) != 0 || len(out.Failures) != 3 {
		t.Errorf("contradictory constraints = %+v", tkFailures(out.Failures))
	}
}

func TestRunTaskOverridesAndNetwork(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	ci := e.register("web", 4096, 4096, tkAttr("ecs.availability-zone", "us-east-1c"))
	e.putTaskDef(model.TaskDefinition{Family: "multi", ContainerDefinitions: []model.ContainerDefinition{
		{Name: "app", Image: "app:1", Cpu: 100, Memory: aws.Int32(300), MemoryReservation: aws.Int32(200)},
		{Name: "side", Image: "side:1", Cpu: 50, Memory: aws.Int32(100)},
	}})
	out := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("multi"), Overrides: &types.TaskOverride{
		ContainerOverrides: []types.ContainerOverride{{Name: aws.String("app"), Cpu: aws.Int32(400), MemoryReservation: aws.Int32(500),
			Command: []string{"run", "--fast"}, Environment: []types.KeyValuePair{{Name: aws.String("MODE"), Value: aws.String("x")}}}},
	}})
	if len(out.Tasks) != 1 {
		t.Fatalf("RunTask = %v", tkFailures(out.Failures))
	}
	tk := out.Tasks[0]
	if aws.ToString(tk.Cpu) != "450" || aws.ToString(tk.Memory) != "600" {
		t.Errorf("task cpu %s memory %s, want 450 and 600 (reservation before limit)", aws.ToString(tk.Cpu), aws.ToString(tk.Memory))
	}
	if aws.ToString(tk.Containers[0].Cpu) != "400" || aws.ToString(tk.Containers[0].MemoryReservation) != "500" || aws.ToString(tk.Containers[0].Memory) != "300" {
		t.Errorf("app container = %+v", tk.Containers[0])
	}
	if o := tk.Overrides; len(o.ContainerOverrides) != 1 || !slices.Equal(o.ContainerOverrides[0].Command, []string{"run", "--fast"}) || o.InferenceAcceleratorOverrides == nil {
		t.Errorf("overrides recorded = %+v", o)
	}
	rem := e.describeInstance("web", aws.ToString(ci.ContainerInstanceArn)).RemainingResources
	if tkResInt(rem, "CPU") != 4096-450 || tkResInt(rem, "MEMORY") != 4096-600 {
		t.Errorf("remaining = %+v", rem)
	}

	// Task-level overrides of cpu and memory replace the sums.
	out = e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("multi"),
		Overrides: &types.TaskOverride{Cpu: aws.String("1 vCPU"), Memory: aws.String("1024")}})
	if len(out.Tasks) != 1 || aws.ToString(out.Tasks[0].Cpu) != "1024" || aws.ToString(out.Tasks[0].Memory) != "1024" {
		t.Errorf("task-level overrides = %+v %v", out.Tasks, tkFailures(out.Failures))
	}

	// awsvpc: PROVISIONING with a precreated ENI; its ports hold no host port.
	e.putTaskDef(model.TaskDefinition{Family: "vpc", NetworkMode: model.NetworkModeAwsvpc, ContainerDefinitions: []model.ContainerDefinition{{
		Name: "a", Image: "x", Memory: aws.Int32(8), PortMappings: []model.PortMapping{{ContainerPort: aws.Int32(443)}},
	}}})
	out = e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("vpc"), Count: aws.Int32(2),
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-0a", "subnet-0b"}, SecurityGroups: []string{"sg-1"}}}})
	if len(out.Tasks) != 2 {
		t.Fatalf("awsvpc RunTask = %v", tkFailures(out.Failures))
	}
	tk = out.Tasks[0]
	if aws.ToString(tk.LastStatus) != "PROVISIONING" || len(tk.Attachments) != 1 {
		t.Fatalf("awsvpc task = %+v", tk)
	}
	at := tk.Attachments[0]
	if aws.ToString(at.Type) != "ElasticNetworkInterface" || aws.ToString(at.Status) != "PRECREATED" || aws.ToString(at.Id) == "" ||
		len(at.Details) != 1 || aws.ToString(at.Details[0].Name) != "subnetId" || aws.ToString(at.Details[0].Value) != "subnet-0a" {
		t.Errorf("attachment = %+v", at)
	}
	if c := e.cluster("web"); c.PendingTasksCount != 4 {
		t.Errorf("pendingTasksCount = %d, want 4 (PROVISIONING counts as pending)", c.PendingTasksCount)
	}
}

func TestRunTaskTags(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	e.register("web", 4096, 4096)
	e.putTaskDef(model.TaskDefinition{Family: "tagged", ContainerDefinitions: []model.ContainerDefinition{{Name: "a", Image: "x", Memory: aws.Int32(8)}}},
		model.Tag{Key: "team", Value: "def"}, model.Tag{Key: "cost", Value: "42"})
	out := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("tagged"),
		Tags:          []types.Tag{{Key: aws.String("team"), Value: aws.String("run")}},
		PropagateTags: types.PropagateTagsTaskDefinition, EnableECSManagedTags: true, EnableExecuteCommand: true})
	tags := map[string]string{}
	for _, tg := range out.Tasks[0].Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	want := map[string]string{"team": "run", "cost": "42", "aws:ecs:clusterName": "web"}
	if len(tags) != len(want) || tags["team"] != "run" || tags["cost"] != "42" || tags["aws:ecs:clusterName"] != "web" {
		t.Errorf("tags = %v, want %v", tags, want)
	}
	if !out.Tasks[0].EnableExecuteCommand {
		t.Errorf("enableExecuteCommand not kept")
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	d, err := e.ECS.DescribeTasks(e.ctx(), &awsecs.DescribeTasksInput{Cluster: aws.String("web"), Tasks: []string{arn}})
	if err != nil || len(d.Tasks) != 1 || d.Tasks[0].Tags != nil {
		t.Errorf("describe without TAGS = %+v %v", d, err)
	}
	if got := e.describeTask("web", arn); len(got.Tags) != 3 {
		t.Errorf("describe with TAGS = %+v", got.Tags)
	}
	// Without propagateTags the definition's tags stay behind.
	out = e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("tagged")})
	if len(out.Tasks[0].Tags) != 0 {
		t.Errorf("tags without propagation = %+v", out.Tasks[0].Tags)
	}
}

func TestRunTaskClientToken(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	e.register("web", 4096, 4096)
	e.simpleTaskDef("web", 128, 128)
	in := &awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web"), Count: aws.Int32(2), ClientToken: aws.String("tok-1")}
	first := e.runTask(in)
	again := e.runTask(in)
	arns := func(ts []types.Task) []string {
		var out []string
		for _, tk := range ts {
			out = append(out, aws.ToString(tk.TaskArn))
		}
		return out
	}
	if len(first.Tasks) != 2 || !slices.Equal(arns(first.Tasks), arns(again.Tasks)) {
		t.Errorf("retry returned %v, first %v", arns(again.Tasks), arns(first.Tasks))
	}
	if c := e.cluster("web"); c.PendingTasksCount != 2 {
		t.Errorf("retry placed more tasks: pending %d", c.PendingTasksCount)
	}
	// The retry shows the tasks as they are now.
	if _, err := e.ECS.StopTask(e.ctx(), &awsecs.StopTaskInput{Cluster: aws.String("web"), Task: first.Tasks[0].TaskArn}); err != nil {
		t.Fatal(err)
	}
	if again = e.runTask(in); aws.ToString(again.Tasks[0].DesiredStatus) != "STOPPED" {
		t.Errorf("retry after stop = %+v", again.Tasks[0])
	}

	diff := *in
	diff.Count = aws.Int32(1)
	_, err := e.ECS.RunTask(e.ctx(), &diff)
	tkWantErr(t, err, "ConflictException", "")
	var ce *types.ConflictException
	if !errors.As(err, &ce) || !slices.Equal(ce.ResourceIds, arns(first.Tasks)) {
		t.Errorf("ConflictException resourceIds = %+v, want %v", ce, arns(first.Tasks))
	}
	// Tokens are per cluster... and a new token runs new tasks.
	other := *in
	other.ClientToken = aws.String("tok-2")
	if out := e.runTask(&other); len(out.Tasks) != 2 || slices.Contains(arns(first.Tasks), aws.ToString(out.Tasks[0].TaskArn)) {
		t.Errorf("new token = %+v", arns(out.Tasks))
	}
}

func TestRunTaskExternalLaunchType(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	ext := e.register("web", 4096, 4096, tkAttr("ecs.capability.external", ""))
	e.simpleTaskDef("web", 128, 128)
	_, err := e.ECS.RunTask(e.ctx(), &awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web")})
	tkWantErr(t, err, "InvalidParameterException", "No Container Instances were found in your cluster.")
	out := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web"), LaunchType: types.LaunchTypeExternal})
	if len(out.Tasks) != 1 || out.Tasks[0].LaunchType != types.LaunchTypeExternal ||
		aws.ToString(out.Tasks[0].ContainerInstanceArn) != aws.ToString(ext.ContainerInstanceArn) {
		t.Errorf("EXTERNAL RunTask = %+v", out)
	}
}

// Concurrent RunTask calls never overcommit an instance: 20 calls each
// wanting 256 CPU units of a 1024-unit node place exactly four tasks.
func TestRunTaskConcurrentNoOvercommit(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	ci := e.register("web", 1024, 8192)
	e.simpleTaskDef("web", 256, 64)
	var (
		mu       sync.Mutex
		placed   int
		failures []string
		wg       sync.WaitGroup
	)
	for range 20 {
		wg.Go(func() {
			out, err := e.ECS.RunTask(e.ctx(), &awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web")})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failures = append(failures, err.Error())
				return
			}
			placed += len(out.Tasks)
			failures = append(failures, tkFailures(out.Failures)...)
		})
	}
	wg.Wait()
	if placed != 4 || len(failures) != 16 {
		t.Fatalf("placed %d with %d failures: %v", placed, len(failures), failures)
	}
	for _, f := range failures {
		if f != "RESOURCE:CPU "+aws.ToString(ci.ContainerInstanceArn) {
			t.Errorf("failure %q", f)
		}
	}
	got := e.describeInstance("web", aws.ToString(ci.ContainerInstanceArn))
	if tkResInt(got.RemainingResources, "CPU") != 0 || got.RunningTasksCount != 4 {
		t.Errorf("instance = remaining %+v running %d", got.RemainingResources, got.RunningTasksCount)
	}
}
