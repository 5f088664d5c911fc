package ecs_test

// Placement through the SDK: strategies, constraints, the query language's
// errors, StartTask's explanations, GPUs, and that a placement sees the
// caller's own registrations.

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/quayside/quayside/internal/model"
)

func tkHosts(ts []types.Task) map[string]int {
	out := map[string]int{}
	for _, tk := range ts {
		out[aws.ToString(tk.ContainerInstanceArn)]++
	}
	return out
}

func TestRunTaskStrategiesThroughTheSDK(t *testing.T) {
	e := startTK(t)
	e.simpleTaskDef("web", 16, 512)
	// cluster makes a cluster of six instances in three zones with 1, 2, ...
	// 6 GiB, and returns their ARNs.
	cluster := func(name string) []string {
		e.createCluster(name)
		var ids []string
		for i := range 6 {
			ci := e.register(name, 4096, int32(1024*(i+1)), tkAttr("ecs.availability-zone", fmt.Sprintf("us-east-1%c", 'a'+i%3)))
			ids = append(ids, aws.ToString(ci.ContainerInstanceArn))
		}
		return ids
	}
	strategy := func(typ types.PlacementStrategyType, field string) types.PlacementStrategy {
		s := types.PlacementStrategy{Type: typ}
		if field != "" {
			s.Field = aws.String(field)
		}
		return s
	}
	run := func(cluster string, count int32, ss ...types.PlacementStrategy) []types.Task {
		return e.runTask(&awsecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("web"), Count: aws.Int32(count), PlacementStrategy: ss}).Tasks
	}

	// binpack memory: the 1 GiB node first (two tasks), then the 2 GiB one.
	ids := cluster("binpack")
	if h := tkHosts(run("binpack", 3, strategy(types.PlacementStrategyTypeBinpack, "memory"))); h[ids[0]] != 2 || h[ids[1]] != 1 {
		t.Errorf("binpack memory: %v", h)
	}

	// spread across zones: six tasks, two per zone.
	cluster("zones")
	perZone := map[string]int{}
	for _, tk := range run("zones", 6, strategy(types.PlacementStrategyTypeSpread, "attribute:ecs.availability-zone")) {
		perZone[aws.ToString(tk.AvailabilityZone)]++
	}
	if perZone["us-east-1a"] != 2 || perZone["us-east-1b"] != 2 || perZone["us-east-1c"] != 2 {
		t.Errorf("spread by zone: %v", perZone)
	}

	// spread over instances (host is instanceId): one task on each.
	cluster("hosts")
	if h := tkHosts(run("hosts", 6, strategy(types.PlacementStrategyTypeSpread, "host"))); len(h) != 6 {
		t.Errorf("spread by host: %v", h)
	}

	// Several strategies: zones first, then binpack memory among the zones
	// with the fewest tasks: 1 GiB (a), 2 GiB (b), 3 GiB (c), then a's
	// 1 GiB node again (512 MiB left) and b's 2 GiB one.
	ids = cluster("mix")
	got := tkHosts(run("mix", 5, strategy(types.PlacementStrategyTypeSpread, "attribute:ecs.availability-zone"), strategy(types.PlacementStrategyTypeBinpack, "memory")))
	if want := map[string]int{ids[0]: 2, ids[1]: 2, ids[2]: 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("spread zone then binpack memory: %v, want %v", got, want)
	}

	// random goes anywhere there is room.
	cluster("random")
	if h := tkHosts(run("random", 10, strategy(types.PlacementStrategyTypeRandom, ""))); len(h) < 2 {
		t.Errorf("random: %v", h)
	}
}

func TestRunTaskQueryLanguageErrors(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	e.register("web", 4096, 4096)
	e.simpleTaskDef("web", 16, 16)
	for expr, where := range map[string]string{
		"attribute:stack ==":                          "position 18",
		"attribute:stack == prod and":                 "position 27",
		"color == red":                                "unknown subject \"color\"",
		"runningTasksCount > many":                    "expected an integer",
		"attribute:x =~ 'a(?=b)'":                     "look-ahead",
		"(attribute:a exists":                         "expected \")\"",
		strings.Repeat("attribute:a exists and ", 90): "2000",
	} {
		_, err := e.ECS.RunTask(e.ctx(), &awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web"),
			PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String(expr)}}})
		tkWantErr(t, err, "InvalidParameterException", "")
		if !strings.Contains(tkErrMessage(err), where) {
			t.Errorf("%q: message %q does not say %q", expr, tkErrMessage(err), where)
		}
	}
	// The filter of ListContainerInstances answers the same way.
	_, err := e.ECS.ListContainerInstances(e.ctx(), &awsecs.ListContainerInstancesInput{Cluster: aws.String("web"), Filter: aws.String("agentVersion =~ 1")})
	tkWantErr(t, err, "InvalidParameterException", "")
	if !strings.Contains(tkErrMessage(err), "cannot be used with agentVersion") {
		t.Errorf("message = %q", tkErrMessage(err))
	}
}

func TestStartTaskSaysWhy(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	small := e.register("web", 256, 4096)
	labelled := e.register("web", 4096, 4096, tkAttr("stack", "prod"))
	draining := e.register("web", 4096, 4096)
	if _, err := e.ECS.UpdateContainerInstancesState(e.ctx(), &awsecs.UpdateContainerInstancesStateInput{Cluster: aws.String("web"),
		ContainerInstances: []string{aws.ToString(draining.ContainerInstanceArn)}, Status: types.ContainerInstanceStatusDraining}); err != nil {
		t.Fatal(err)
	}
	e.putTaskDef(model.TaskDefinition{Family: "picky", RequiresAttributes: []model.Attribute{{Name: "stack"}},
		ContainerDefinitions: []model.ContainerDefinition{{Name: "a", Image: "x", Cpu: 512, Memory: aws.Int32(64)}}})
	out, err := e.ECS.StartTask(e.ctx(), &awsecs.StartTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("picky"),
		ContainerInstances: []string{aws.ToString(small.ContainerInstanceArn), aws.ToString(labelled.ContainerInstanceArn), aws.ToString(draining.ContainerInstanceArn)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tasks) != 1 || aws.ToString(out.Tasks[0].ContainerInstanceArn) != aws.ToString(labelled.ContainerInstanceArn) {
		t.Errorf("tasks = %+v", out.Tasks)
	}
	got := map[string]string{}
	for _, f := range out.Failures {
		got[aws.ToString(f.Reason)] = aws.ToString(f.Detail)
	}
	want := map[string]string{
		"ATTRIBUTE": "The task definition requires attribute stack, which the container instance lacks.",
		"DRAINING":  "The container instance is DRAINING; tasks are placed only on ACTIVE instances.",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("failures = %v, want %v", got, want)
	}
	// With the attribute it is the CPU the small node lacks, and it says how much.
	if _, err := e.ECS.PutAttributes(e.ctx(), &awsecs.PutAttributesInput{Cluster: aws.String("web"), Attributes: []types.Attribute{
		{Name: aws.String("stack"), Value: aws.String("dev"), TargetId: small.ContainerInstanceArn}}}); err != nil {
		t.Fatal(err)
	}
	out, err = e.ECS.StartTask(e.ctx(), &awsecs.StartTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("picky"),
		ContainerInstances: []string{aws.ToString(small.ContainerInstanceArn)}})
	if err != nil || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "RESOURCE:CPU" ||
		aws.ToString(out.Failures[0].Detail) != "The task needs 512 CPU units; 256 remain on the container instance." {
		t.Errorf("StartTask on the small node = %+v %v", out, err)
	}
}

// A placement sees what the caller did just before: registrations,
// attributes, draining.
func TestRunTaskSeesTheCallersWrites(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	e.simpleTaskDef("web", 16, 16)
	for i := range 10 {
		ci := e.register("web", 4096, 4096)
		out := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web"),
			PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("ec2InstanceId == " + aws.ToString(ci.Ec2InstanceId))}}})
		if len(out.Tasks) != 1 {
			t.Fatalf("round %d: RunTask right after registering placed nothing: %v", i, tkFailures(out.Failures))
		}
		if _, err := e.ECS.UpdateContainerInstancesState(e.ctx(), &awsecs.UpdateContainerInstancesStateInput{Cluster: aws.String("web"),
			ContainerInstances: []string{aws.ToString(ci.ContainerInstanceArn)}, Status: types.ContainerInstanceStatusDraining}); err != nil {
			t.Fatal(err)
		}
	}
	// Every instance is draining now.
	_, err := e.ECS.RunTask(e.ctx(), &awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web")})
	tkWantErr(t, err, "InvalidParameterException", "No Container Instances were found in your cluster.")
}

func TestRunTaskGPUs(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	out, err := e.ECS.RegisterContainerInstance(e.ctx(), &awsecs.RegisterContainerInstanceInput{
		Cluster: aws.String("web"),
		TotalResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 4096},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 4096},
			{Name: aws.String("GPU"), Type: aws.String("STRINGSET"), StringSetValue: []string{"GPU-0", "GPU-1", "GPU-2"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ci := out.ContainerInstance
	e.putTaskDef(model.TaskDefinition{Family: "cuda", ContainerDefinitions: []model.ContainerDefinition{{Name: "a", Image: "x", Memory: aws.Int32(64),
		ResourceRequirements: []model.ResourceRequirement{{Type: model.ResourceTypeGpu, Value: "2"}}}}})
	run := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("cuda"), Count: aws.Int32(2)})
	if len(run.Tasks) != 1 || !slices.Equal(tkFailures(run.Failures), []string{"RESOURCE:GPU " + aws.ToString(ci.ContainerInstanceArn)}) {
		t.Errorf("two tasks of two GPUs on three: %d placed, %v", len(run.Tasks), tkFailures(run.Failures))
	}
	left := tkResSet(e.describeInstance("web", aws.ToString(ci.ContainerInstanceArn)).RemainingResources, "GPU")
	if !slices.Equal(left, []string{"GPU-2"}) {
		t.Errorf("GPUs left = %v", left)
	}
	e.agentReports("web", aws.ToString(run.Tasks[0].TaskArn), "STOPPED")
	left = tkResSet(e.describeInstance("web", aws.ToString(ci.ContainerInstanceArn)).RemainingResources, "GPU")
	if !slices.Equal(left, []string{"GPU-0", "GPU-1", "GPU-2"}) {
		t.Errorf("GPUs after the task stopped = %v", left)
	}
}

// Many concurrent RunTask calls with different strategies and counts never
// overcommit any instance, and the books add up.
func TestRunTaskConcurrentStrategiesNeverOvercommit(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	var cis []string
	for i := range 4 {
		ci := e.register("web", 1024, 1024, tkAttr("ecs.availability-zone", fmt.Sprintf("us-east-1%c", 'a'+i%2)))
		cis = append(cis, aws.ToString(ci.ContainerInstanceArn))
	}
	e.simpleTaskDef("web", 100, 60)
	strategies := [][]types.PlacementStrategy{
		nil,
		{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("cpu")}},
		{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("attribute:ecs.availability-zone")}, {Type: types.PlacementStrategyTypeBinpack, Field: aws.String("memory")}},
		{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("instanceId")}},
	}
	placed := make([]int, 24)
	errc := make(chan error, 24)
	done := make(chan struct{})
	for w := range 24 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 3 {
				out, err := e.ECS.RunTask(e.ctx(), &awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web"),
					Count: aws.Int32(int32(1 + w%4)), PlacementStrategy: strategies[w%4]})
				if err != nil {
					errc <- err
					return
				}
				placed[w] += len(out.Tasks)
			}
		}()
	}
	for range 24 {
		<-done
	}
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	total := 0
	for _, n := range placed {
		total += n
	}
	if total != 40 { // 4 instances × 10 tasks of 100 CPU units
		t.Errorf("placed %d tasks, want 40", total)
	}
	for _, arn := range cis {
		ci := e.describeInstance("web", arn)
		cpu, mem := tkResInt(ci.RemainingResources, "CPU"), tkResInt(ci.RemainingResources, "MEMORY")
		if cpu < 0 || mem < 0 || cpu != 1024-100*ci.RunningTasksCount || mem != 1024-60*ci.RunningTasksCount {
			t.Errorf("%s: %d tasks, CPU %d and memory %d left", arn, ci.RunningTasksCount, cpu, mem)
		}
	}
}
