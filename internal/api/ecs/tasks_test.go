package ecs_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

func TestStopTaskAndRelease(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	ci := e.register("web", 1024, 1024)
	ciARN := aws.ToString(ci.ContainerInstanceArn)
	e.simpleTaskDef("web", 1024, 512, model.PortMapping{ContainerPort: aws.Int32(80), HostPort: aws.Int32(80)})
	tk := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web")}).Tasks[0]
	taskARN := aws.ToString(tk.TaskArn)
	e.agentReports("web", taskARN, model.StatusRunning)
	if c := e.cluster("web"); c.RunningTasksCount != 1 || c.PendingTasksCount != 0 {
		t.Errorf("after RUNNING: cluster running %d pending %d", c.RunningTasksCount, c.PendingTasksCount)
	}

	before := time.Now().Add(-time.Second)
	out, err := e.ECS.StopTask(e.ctx(), &awsecs.StopTaskInput{Cluster: aws.String("web"), Task: aws.String(taskARN[len(taskARN)-32:])})
	if err != nil {
		t.Fatal(err)
	}
	st := out.Task
	if aws.ToString(st.DesiredStatus) != "STOPPED" || aws.ToString(st.LastStatus) != "RUNNING" || st.StopCode != types.TaskStopCodeUserInitiated ||
		aws.ToString(st.StoppedReason) != "Task stopped by user" || st.StoppingAt == nil || st.StoppingAt.Before(before) || st.Version != tk.Version+2 {
		t.Errorf("StopTask = %+v", st)
	}
	// A second stop keeps the first reason.
	if out, err = e.ECS.StopTask(e.ctx(), &awsecs.StopTaskInput{Cluster: aws.String("web"), Task: aws.String(taskARN), Reason: aws.String("again")}); err != nil ||
		aws.ToString(out.Task.StoppedReason) != "Task stopped by user" {
		t.Errorf("second StopTask = %+v %v", out, err)
	}
	got := e.describeInstance("web", ciARN)
	if got.RunningTasksCount != 0 || tkResInt(got.RemainingResources, "CPU") != 0 {
		t.Errorf("stopping task: running %d remaining %+v", got.RunningTasksCount, got.RemainingResources)
	}
	// Until the agent says STOPPED the task holds its resources.
	run := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web")})
	if len(run.Tasks) != 0 || !slices.Equal(tkFailures(run.Failures), []string{"RESOURCE:CPU " + ciARN}) {
		t.Errorf("RunTask while stopping = %+v", tkFailures(run.Failures))
	}

	e.agentReports("web", taskARN, model.StatusStopped)
	got = e.describeInstance("web", ciARN)
	if tkResInt(got.RemainingResources, "CPU") != 1024 || tkResInt(got.RemainingResources, "MEMORY") != 1024 ||
		slices.Contains(tkResSet(got.RemainingResources, "PORTS"), "80") || got.PendingTasksCount != 0 {
		t.Errorf("after STOPPED: %+v pending %d", got.RemainingResources, got.PendingTasksCount)
	}
	if c := e.cluster("web"); c.RunningTasksCount != 0 {
		t.Errorf("cluster running %d after STOPPED", c.RunningTasksCount)
	}
	if run = e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web")}); len(run.Tasks) != 1 {
		t.Errorf("RunTask after release = %v", tkFailures(run.Failures))
	}
	// A stopped task stays describable.
	if d := e.describeTask("web", taskARN); aws.ToString(d.LastStatus) != "STOPPED" {
		t.Errorf("stopped task = %+v", d)
	}

	// A task stopped with a reason before it ran.
	out, err = e.ECS.StopTask(e.ctx(), &awsecs.StopTaskInput{Cluster: aws.String("web"), Task: run.Tasks[0].TaskArn, Reason: aws.String("deploy cancelled")})
	if err != nil || aws.ToString(out.Task.StoppedReason) != "deploy cancelled" || aws.ToString(out.Task.LastStatus) != "PENDING" {
		t.Errorf("StopTask with reason = %+v %v", out, err)
	}

	_, err = e.ECS.StopTask(e.ctx(), &awsecs.StopTaskInput{Cluster: aws.String("web"), Task: aws.String(strings.Repeat("f", 32))})
	tkWantErr(t, err, "InvalidParameterException", "The referenced task was not found.")
	_, err = e.ECS.StopTask(e.ctx(), &awsecs.StopTaskInput{Cluster: aws.String("nope"), Task: aws.String(taskARN)})
	tkWantErr(t, err, "ClusterNotFoundException", "Cluster not found.")
}

func TestStartTask(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	a := e.register("web", 1024, 1024)
	b := e.register("web", 1024, 1024)
	small := e.register("web", 64, 1024)
	gone := e.register("web", 1024, 1024)
	if _, err := e.ECS.DeregisterContainerInstance(e.ctx(), &awsecs.DeregisterContainerInstanceInput{Cluster: aws.String("web"), ContainerInstance: gone.ContainerInstanceArn}); err != nil {
		t.Fatal(err)
	}
	e.simpleTaskDef("web", 512, 128)
	missing := strings.Repeat("d", 32)
	refs := []string{aws.ToString(a.ContainerInstanceArn), aws.ToString(b.ContainerInstanceArn)[len(aws.ToString(b.ContainerInstanceArn))-32:],
		aws.ToString(small.ContainerInstanceArn), missing, aws.ToString(gone.ContainerInstanceArn), aws.ToString(a.ContainerInstanceArn)}
	out, err := e.ECS.StartTask(e.ctx(), &awsecs.StartTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web"),
		ContainerInstances: refs, StartedBy: aws.String("my-scheduler"), Group: aws.String("batch")})
	if err != nil {
		t.Fatal(err)
	}
	var hosts []string
	for _, tk := range out.Tasks {
		hosts = append(hosts, aws.ToString(tk.ContainerInstanceArn))
		if aws.ToString(tk.Group) != "batch" || aws.ToString(tk.StartedBy) != "my-scheduler" || tk.LaunchType != types.LaunchTypeEc2 {
			t.Errorf("task = %+v", tk)
		}
	}
	wantHosts := []string{aws.ToString(a.ContainerInstanceArn), aws.ToString(b.ContainerInstanceArn), aws.ToString(a.ContainerInstanceArn)}
	if !slices.Equal(hosts, wantHosts) {
		t.Errorf("hosts = %v, want %v", hosts, wantHosts)
	}
	wantFails := []string{
		"MISSING " + e.scope.ContainerInstance("web", missing),
		"INACTIVE " + aws.ToString(gone.ContainerInstanceArn),
		"RESOURCE:CPU " + aws.ToString(small.ContainerInstanceArn),
	}
	if got := tkFailures(out.Failures); !slices.Equal(got, wantFails) {
		t.Errorf("failures = %v, want %v", got, wantFails)
	}
	// a is now full: listing it again is a RESOURCE failure, not a third task.
	out, err = e.ECS.StartTask(e.ctx(), &awsecs.StartTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web"), ContainerInstances: []string{aws.ToString(a.ContainerInstanceArn)}})
	if err != nil || len(out.Tasks) != 0 || !slices.Equal(tkFailures(out.Failures), []string{"RESOURCE:CPU " + aws.ToString(a.ContainerInstanceArn)}) {
		t.Errorf("StartTask on a full node = %+v %v", out, err)
	}

	_, err = e.ECS.StartTask(e.ctx(), &awsecs.StartTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web"), ContainerInstances: []string{}})
	tkWantErr(t, err, "InvalidParameterException", "")
	_, err = e.ECS.StartTask(e.ctx(), &awsecs.StartTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web"), ContainerInstances: make([]string, 11)})
	tkWantErr(t, err, "InvalidParameterException", "")
	_, err = e.ECS.StartTask(e.ctx(), &awsecs.StartTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web"),
		ContainerInstances: []string{missing}, StartedBy: aws.String(strings.Repeat("s", 37))})
	tkWantErr(t, err, "InvalidParameterException", "")
	_, err = e.ECS.StartTask(e.ctx(), &awsecs.StartTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("nosuch"), ContainerInstances: []string{missing}})
	tkWantErr(t, err, "ClientException", "TaskDefinition not found.")
}

func TestDescribeTasks(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	e.register("web", 4096, 4096)
	e.simpleTaskDef("web", 1, 1)
	out := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web"), Count: aws.Int32(2),
		Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	a, b := aws.ToString(out.Tasks[0].TaskArn), aws.ToString(out.Tasks[1].TaskArn)
	missing := strings.Repeat("e", 32)
	otherCluster := e.scope.Task("other", strings.Repeat("1", 32))
	d, err := e.ECS.DescribeTasks(e.ctx(), &awsecs.DescribeTasksInput{Cluster: aws.String("web"), Tasks: []string{b, missing, a[len(a)-32:], otherCluster}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Tasks) != 2 || aws.ToString(d.Tasks[0].TaskArn) != b || aws.ToString(d.Tasks[1].TaskArn) != a || d.Tasks[0].Tags != nil {
		t.Errorf("tasks = %+v", d.Tasks)
	}
	wantFails := []string{"MISSING " + e.scope.Task("web", missing), "MISSING " + otherCluster}
	if got := tkFailures(d.Failures); !slices.Equal(got, wantFails) {
		t.Errorf("failures = %v, want %v", got, wantFails)
	}
	if got := e.describeTask("web", a); len(got.Tags) != 1 || aws.ToString(got.Tags[0].Key) != "k" {
		t.Errorf("tags = %+v", got.Tags)
	}
	_, err = e.ECS.DescribeTasks(e.ctx(), &awsecs.DescribeTasksInput{Cluster: aws.String("web"), Tasks: []string{}})
	tkWantErr(t, err, "InvalidParameterException", "Tasks cannot be empty.")
	_, err = e.ECS.DescribeTasks(e.ctx(), &awsecs.DescribeTasksInput{Cluster: aws.String("web"), Tasks: make([]string, 101)})
	tkWantErr(t, err, "InvalidParameterException", "")
	_, err = e.ECS.DescribeTasks(e.ctx(), &awsecs.DescribeTasksInput{Cluster: aws.String("nope"), Tasks: []string{a}})
	tkWantErr(t, err, "ClusterNotFoundException", "Cluster not found.")
}

func tkListTasks(t *testing.T, e *tkEnv, in awsecs.ListTasksInput) []string {
	t.Helper()
	if in.Cluster == nil {
		in.Cluster = aws.String("web")
	}
	in.MaxResults = aws.Int32(2)
	var arns []string
	p := awsecs.NewListTasksPaginator(e.ECS, &in)
	for p.HasMorePages() {
		page, err := p.NextPage(e.ctx())
		if err != nil {
			t.Fatalf("ListTasks %+v: %v", in, err)
		}
		arns = append(arns, page.TaskArns...)
	}
	slices.Sort(arns)
	return arns
}

func TestListTasks(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	ci1 := e.register("web", 4096, 4096)
	ci2 := e.register("web", 4096, 4096, tkAttr("second", ""))
	ext := e.register("web", 4096, 4096, tkAttr("ecs.capability.external", ""))
	e.simpleTaskDef("web", 1, 1)
	e.simpleTaskDef("batch", 1, 1)
	arns := func(ts ...[]types.Task) []string {
		var out []string
		for _, list := range ts {
			for _, tk := range list {
				out = append(out, aws.ToString(tk.TaskArn))
			}
		}
		slices.Sort(out)
		return out
	}
	web := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web"), Count: aws.Int32(3),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:second !exists")}}}).Tasks
	batch := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("batch"), Count: aws.Int32(2), StartedBy: aws.String("cron"),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:second exists")}}}).Tasks
	external := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("batch"), LaunchType: types.LaunchTypeExternal}).Tasks
	if _, err := e.ECS.StopTask(e.ctx(), &awsecs.StopTaskInput{Cluster: aws.String("web"), Task: web[0].TaskArn}); err != nil {
		t.Fatal(err)
	}
	e.createCluster("empty")

	cases := []struct {
		name string
		in   awsecs.ListTasksInput
		want []string
	}{
		{"default is desired RUNNING", awsecs.ListTasksInput{}, arns(web[1:], batch, external)},
		{"STOPPED", awsecs.ListTasksInput{DesiredStatus: types.DesiredStatusStopped}, arns(web[:1])},
		{"PENDING matches nothing", awsecs.ListTasksInput{DesiredStatus: types.DesiredStatusPending}, nil},
		{"family", awsecs.ListTasksInput{Family: aws.String("batch")}, arns(batch, external)},
		{"startedBy", awsecs.ListTasksInput{StartedBy: aws.String("cron")}, arns(batch)},
		{"containerInstance ARN", awsecs.ListTasksInput{ContainerInstance: ci2.ContainerInstanceArn}, arns(batch)},
		{"containerInstance id", awsecs.ListTasksInput{ContainerInstance: aws.String(aws.ToString(ci1.ContainerInstanceArn)[len(aws.ToString(ci1.ContainerInstanceArn))-32:])}, arns(web[1:])},
		{"launchType", awsecs.ListTasksInput{LaunchType: types.LaunchTypeExternal}, arns(external)},
		{"external instance", awsecs.ListTasksInput{ContainerInstance: ext.ContainerInstanceArn}, arns(external)},
		{"another cluster", awsecs.ListTasksInput{Cluster: aws.String("empty")}, nil},
	}
	for _, c := range cases {
		if got := tkListTasks(t, e, c.in); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}

	_, err := e.ECS.ListTasks(e.ctx(), &awsecs.ListTasksInput{Cluster: aws.String("web"), ServiceName: aws.String("nosuch")})
	tkWantErr(t, err, "ServiceNotFoundException", "Service not found.")
	// A service's tasks are found by its name.
	e.update(func(tx store.Tx) error {
		return store.PutJSON(tx, store.ServiceKey("web", "api"), &store.ServiceRecord{Cluster: "web", Service: model.Service{ServiceName: "api", Status: "ACTIVE"}})
	})
	if got := tkListTasks(t, e, awsecs.ListTasksInput{ServiceName: aws.String("api")}); len(got) != 0 {
		t.Errorf("service with no tasks lists %v", got)
	}
	_, err = e.ECS.ListTasks(e.ctx(), &awsecs.ListTasksInput{Cluster: aws.String("web"), MaxResults: aws.Int32(0)})
	tkWantErr(t, err, "InvalidParameterException", "")
	_, err = e.ECS.ListTasks(e.ctx(), &awsecs.ListTasksInput{Cluster: aws.String("nope")})
	tkWantErr(t, err, "ClusterNotFoundException", "")
}

func TestTasksAndInstancesSurviveRestart(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	ci := e.register("web", 1024, 1024, tkAttr("stack", "prod"))
	ciARN := aws.ToString(ci.ContainerInstanceArn)
	e.simpleTaskDef("web", 512, 256)
	in := &awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web"), ClientToken: aws.String("restart-token")}
	tk := e.runTask(in).Tasks[0]

	e.restart()

	got := e.describeInstance("web", ciARN)
	if tkResInt(got.RemainingResources, "CPU") != 512 || got.RunningTasksCount != 1 {
		t.Errorf("instance after restart = %+v", got)
	}
	if v, _ := tkAttrValue(got.Attributes, "stack"); v != "prod" {
		t.Errorf("attributes after restart = %+v", got.Attributes)
	}
	d := e.describeTask("web", aws.ToString(tk.TaskArn))
	if aws.ToString(d.LastStatus) != "PENDING" || aws.ToString(d.ContainerInstanceArn) != ciARN || d.Version != tk.Version {
		t.Errorf("task after restart = %+v", d)
	}
	if again := e.runTask(in); len(again.Tasks) != 1 || aws.ToString(again.Tasks[0].TaskArn) != aws.ToString(tk.TaskArn) {
		t.Errorf("client token forgotten across restart: %+v", again.Tasks)
	}
	// The claim survives: one more task fits, then the node is full.
	out := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web"), Count: aws.Int32(2)})
	if len(out.Tasks) != 1 || len(out.Failures) != 1 {
		t.Errorf("after restart placed %d, failures %v", len(out.Tasks), tkFailures(out.Failures))
	}
}

// A task that moves on from STOPPED to DELETED does not take its claim back.
func TestDeletedTaskHoldsNothing(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	ci := e.register("web", 1024, 1024)
	e.simpleTaskDef("web", 512, 512, model.PortMapping{ContainerPort: aws.Int32(80), HostPort: aws.Int32(80)})
	tk := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web")}).Tasks[0]
	e.agentReports("web", aws.ToString(tk.TaskArn), model.StatusStopped)
	e.agentReports("web", aws.ToString(tk.TaskArn), model.StatusDeleted)
	got := e.describeInstance("web", aws.ToString(ci.ContainerInstanceArn))
	if tkResInt(got.RemainingResources, "CPU") != 1024 || slices.Contains(tkResSet(got.RemainingResources, "PORTS"), "80") ||
		got.RunningTasksCount != 0 || got.PendingTasksCount != 0 {
		t.Errorf("after DELETED: remaining %+v running %d pending %d", got.RemainingResources, got.RunningTasksCount, got.PendingTasksCount)
	}
}
