package ecs_test

import (
	"fmt"
	"regexp"
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

var (
	tkInstanceARNRE = regexp.MustCompile(`^arn:aws:ecs:us-east-1:123456789012:container-instance/web/[0-9a-f]{32}$`)
	tkEC2IDRE       = regexp.MustCompile(`^i-[0-9a-f]{17}$`)
)

func tkAttr(name, value string) types.Attribute {
	a := types.Attribute{Name: aws.String(name)}
	if value != "" {
		a.Value = aws.String(value)
	}
	return a
}

func tkAttrValue(ats []types.Attribute, name string) (string, bool) {
	for _, a := range ats {
		if aws.ToString(a.Name) == name {
			return aws.ToString(a.Value), true
		}
	}
	return "", false
}

func TestRegisterContainerInstance(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	before := time.Now().Add(-time.Second)
	ci := e.register("web", 2048, 4096, tkAttr("stack", "prod"), tkAttr("com.amazonaws.ecs.capability.privileged-container", ""))

	if !tkInstanceARNRE.MatchString(aws.ToString(ci.ContainerInstanceArn)) {
		t.Errorf("containerInstanceArn = %s", aws.ToString(ci.ContainerInstanceArn))
	}
	if !tkEC2IDRE.MatchString(aws.ToString(ci.Ec2InstanceId)) {
		t.Errorf("ec2InstanceId = %s", aws.ToString(ci.Ec2InstanceId))
	}
	if aws.ToString(ci.Status) != "ACTIVE" || !ci.AgentConnected || ci.Version != 1 {
		t.Errorf("status %s agentConnected %v version %d", aws.ToString(ci.Status), ci.AgentConnected, ci.Version)
	}
	if ci.RegisteredAt == nil || ci.RegisteredAt.Before(before) {
		t.Errorf("registeredAt = %v", ci.RegisteredAt)
	}
	for _, rs := range [][]types.Resource{ci.RegisteredResources, ci.RemainingResources} {
		if tkResInt(rs, "CPU") != 2048 || tkResInt(rs, "MEMORY") != 4096 || len(tkResSet(rs, "PORTS")) != 5 || tkResSet(rs, "PORTS_UDP") == nil {
			t.Errorf("resources = %+v", rs)
		}
	}
	if v, ok := tkAttrValue(ci.Attributes, "stack"); !ok || v != "prod" {
		t.Errorf("attributes = %+v", ci.Attributes)
	}
	if aws.ToString(ci.VersionInfo.AgentVersion) != "1.80.0" {
		t.Errorf("versionInfo = %+v", ci.VersionInfo)
	}
	if n := e.cluster("web").RegisteredContainerInstancesCount; n != 1 {
		t.Errorf("registeredContainerInstancesCount = %d", n)
	}
}

func TestRegisterDefaultsAndIdentityDocument(t *testing.T) {
	e := startTK(t)
	e.createCluster("default")
	doc := `{"instanceId":"i-0123456789abcdef0","availabilityZone":"us-east-1b","instanceType":"m5.large","imageId":"ami-1234abcd","architecture":"x86_64"}`
	out, err := e.ECS.RegisterContainerInstance(e.ctx(), &awsecs.RegisterContainerInstanceInput{
		InstanceIdentityDocument: aws.String(doc),
		Attributes:               []types.Attribute{tkAttr("ecs.instance-type", "custom.large")},
	})
	if err != nil {
		t.Fatal(err)
	}
	ci := out.ContainerInstance
	if aws.ToString(ci.Ec2InstanceId) != "i-0123456789abcdef0" {
		t.Errorf("ec2InstanceId = %s", aws.ToString(ci.Ec2InstanceId))
	}
	for name, want := range map[string]string{
		"ecs.availability-zone": "us-east-1b", "ecs.ami-id": "ami-1234abcd", "ecs.cpu-architecture": "x86_64",
		"ecs.instance-type": "custom.large", // what the agent sends wins
	} {
		if v, _ := tkAttrValue(ci.Attributes, name); v != want {
			t.Errorf("%s = %q, want %q", name, v, want)
		}
	}
	rs := ci.RegisteredResources
	if tkResInt(rs, "CPU") != 0 || tkResInt(rs, "MEMORY") != 0 || tkResSet(rs, "PORTS") == nil {
		t.Errorf("registeredResources = %+v", rs)
	}
	if !strings.Contains(aws.ToString(ci.ContainerInstanceArn), ":container-instance/default/") {
		t.Errorf("arn = %s", aws.ToString(ci.ContainerInstanceArn))
	}
}

func TestRegisterContainerInstanceErrors(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	res := func(name, typ string, v int32, set ...string) types.Resource {
		return types.Resource{Name: aws.String(name), Type: aws.String(typ), IntegerValue: v, StringSetValue: set}
	}
	many := make([]types.Attribute, 11)
	for i := range many {
		many[i] = tkAttr(fmt.Sprintf("custom%d", i), "x")
	}
	manyPorts := make([]string, 101)
	for i := range manyPorts {
		manyPorts[i] = fmt.Sprint(1000 + i)
	}
	cases := []struct {
		name string
		in   awsecs.RegisterContainerInstanceInput
		code string
	}{
		{"unknown cluster", awsecs.RegisterContainerInstanceInput{Cluster: aws.String("nope")}, "ClusterNotFoundException"},
		{"cpu as a set", awsecs.RegisterContainerInstanceInput{TotalResources: []types.Resource{res("CPU", "STRINGSET", 0, "1")}}, "InvalidParameterException"},
		{"negative memory", awsecs.RegisterContainerInstanceInput{TotalResources: []types.Resource{res("MEMORY", "INTEGER", -5)}}, "InvalidParameterException"},
		{"bad port", awsecs.RegisterContainerInstanceInput{TotalResources: []types.Resource{res("PORTS", "STRINGSET", 0, "http")}}, "InvalidParameterException"},
		{"too many ports", awsecs.RegisterContainerInstanceInput{TotalResources: []types.Resource{res("PORTS", "STRINGSET", 0, manyPorts...)}}, "InvalidParameterException"},
		{"duplicate resource", awsecs.RegisterContainerInstanceInput{TotalResources: []types.Resource{res("CPU", "INTEGER", 1), res("CPU", "INTEGER", 2)}}, "InvalidParameterException"},
		{"bad attribute name", awsecs.RegisterContainerInstanceInput{Attributes: []types.Attribute{tkAttr("bad name", "x")}}, "InvalidParameterException"},
		{"attribute value with edge space", awsecs.RegisterContainerInstanceInput{Attributes: []types.Attribute{tkAttr("a", " x")}}, "InvalidParameterException"},
		{"eleven custom attributes", awsecs.RegisterContainerInstanceInput{Attributes: many}, "AttributeLimitExceededException"},
		{"reserved tag", awsecs.RegisterContainerInstanceInput{Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}}, "InvalidParameterException"},
		{"bad identity document", awsecs.RegisterContainerInstanceInput{InstanceIdentityDocument: aws.String("{")}, "InvalidParameterException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			if in.Cluster == nil {
				in.Cluster = aws.String("web")
			}
			_, err := e.ECS.RegisterContainerInstance(e.ctx(), &in)
			tkWantErr(t, err, c.code, "")
		})
	}
	if n := e.cluster("web").RegisteredContainerInstancesCount; n != 0 {
		t.Errorf("failed registrations counted: %d", n)
	}
}

func TestReregisterContainerInstance(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	ci := e.register("web", 1024, 2048, tkAttr("stack", "prod"))
	ciARN := aws.ToString(ci.ContainerInstanceArn)
	td := e.simpleTaskDef("web", 256, 512, model.PortMapping{ContainerPort: aws.Int32(80), HostPort: aws.Int32(8080)})
	e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String(td)})

	out, err := e.ECS.RegisterContainerInstance(e.ctx(), &awsecs.RegisterContainerInstanceInput{
		Cluster:              aws.String("web"),
		ContainerInstanceArn: aws.String(ciARN),
		TotalResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 2048},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 4096},
			{Name: aws.String("PORTS"), Type: aws.String("STRINGSET"), StringSetValue: []string{"22"}},
		},
		Attributes: []types.Attribute{tkAttr("ecs.os-type", "linux")},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := out.ContainerInstance
	if aws.ToString(got.ContainerInstanceArn) != ciARN || got.Version != ci.Version+2 {
		t.Errorf("arn %s version %d (was %d)", aws.ToString(got.ContainerInstanceArn), got.Version, ci.Version)
	}
	rem := got.RemainingResources
	if tkResInt(rem, "CPU") != 2048-256 || tkResInt(rem, "MEMORY") != 4096-512 || !slices.Equal(tkResSet(rem, "PORTS"), []string{"22", "8080"}) {
		t.Errorf("remaining after re-register = %+v", rem)
	}
	if v, _ := tkAttrValue(got.Attributes, "stack"); v != "prod" {
		t.Errorf("custom attribute lost: %+v", got.Attributes)
	}
	if n := e.cluster("web").RegisteredContainerInstancesCount; n != 1 {
		t.Errorf("re-registration counted again: %d", n)
	}

	_, err = e.ECS.RegisterContainerInstance(e.ctx(), &awsecs.RegisterContainerInstanceInput{
		Cluster: aws.String("web"), ContainerInstanceArn: aws.String(e.scope.ContainerInstance("web", strings.Repeat("0", 32))),
	})
	tkWantErr(t, err, "ClientException", "Referenced container instance "+strings.Repeat("0", 32)+" not registered.")

	idle := e.register("web", 1024, 1024)
	if _, err := e.ECS.DeregisterContainerInstance(e.ctx(), &awsecs.DeregisterContainerInstanceInput{
		Cluster: aws.String("web"), ContainerInstance: idle.ContainerInstanceArn,
	}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ECS.RegisterContainerInstance(e.ctx(), &awsecs.RegisterContainerInstanceInput{
		Cluster: aws.String("web"), ContainerInstanceArn: idle.ContainerInstanceArn,
	})
	id := aws.ToString(idle.ContainerInstanceArn)[len(aws.ToString(idle.ContainerInstanceArn))-32:]
	tkWantErr(t, err, "ClientException", "Container instance "+id+" is inactive.")
}

func TestDeregisterContainerInstance(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	busy := e.register("web", 1024, 2048)
	idle := e.register("web", 1024, 2048)
	td := e.simpleTaskDef("web", 1024, 256)
	run := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String(td),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("ec2InstanceId == " + aws.ToString(busy.Ec2InstanceId))}}})
	if len(run.Tasks) != 1 || aws.ToString(run.Tasks[0].ContainerInstanceArn) != aws.ToString(busy.ContainerInstanceArn) {
		t.Fatalf("task not on the first instance: %+v", run)
	}

	_, err := e.ECS.DeregisterContainerInstance(e.ctx(), &awsecs.DeregisterContainerInstanceInput{
		Cluster: aws.String("web"), ContainerInstance: busy.ContainerInstanceArn,
	})
	tkWantErr(t, err, "InvalidParameterException", "Found running tasks on the instance.")

	out, err := e.ECS.DeregisterContainerInstance(e.ctx(), &awsecs.DeregisterContainerInstanceInput{
		Cluster: aws.String("web"), ContainerInstance: busy.ContainerInstanceArn, Force: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.ContainerInstance.Status) != "INACTIVE" || out.ContainerInstance.AgentConnected {
		t.Errorf("after forced deregistration: %+v", out.ContainerInstance)
	}
	if got := e.describeTask("web", aws.ToString(run.Tasks[0].TaskArn)); aws.ToString(got.DesiredStatus) != "RUNNING" {
		t.Errorf("orphaned task changed: %+v", got)
	}

	idleID := aws.ToString(idle.ContainerInstanceArn)[len(aws.ToString(idle.ContainerInstanceArn))-32:]
	if _, err := e.ECS.DeregisterContainerInstance(e.ctx(), &awsecs.DeregisterContainerInstanceInput{
		Cluster: aws.String("web"), ContainerInstance: aws.String(idleID),
	}); err != nil {
		t.Fatal(err)
	}
	if n := e.cluster("web").RegisteredContainerInstancesCount; n != 0 {
		t.Errorf("registeredContainerInstancesCount = %d", n)
	}
	// Deregistering again is harmless and does not count twice.
	if _, err := e.ECS.DeregisterContainerInstance(e.ctx(), &awsecs.DeregisterContainerInstanceInput{
		Cluster: aws.String("web"), ContainerInstance: aws.String(idleID),
	}); err != nil {
		t.Fatal(err)
	}
	if n := e.cluster("web").RegisteredContainerInstancesCount; n != 0 {
		t.Errorf("registeredContainerInstancesCount after repeat = %d", n)
	}
	_, err = e.ECS.DeregisterContainerInstance(e.ctx(), &awsecs.DeregisterContainerInstanceInput{
		Cluster: aws.String("web"), ContainerInstance: aws.String("0123"),
	})
	tkWantErr(t, err, "ClientException", "Referenced container instance 0123 not found.")
	_, err = e.ECS.DeregisterContainerInstance(e.ctx(), &awsecs.DeregisterContainerInstanceInput{
		Cluster: aws.String("nope"), ContainerInstance: aws.String(idleID),
	})
	tkWantErr(t, err, "ClusterNotFoundException", "Cluster not found.")

	list, err := e.ECS.ListContainerInstances(e.ctx(), &awsecs.ListContainerInstancesInput{Cluster: aws.String("web")})
	if err != nil || len(list.ContainerInstanceArns) != 0 {
		t.Errorf("INACTIVE instances listed: %v %v", list.ContainerInstanceArns, err)
	}
	// Still describable.
	if got := e.describeInstance("web", idleID); aws.ToString(got.Status) != "INACTIVE" {
		t.Errorf("described status = %s", aws.ToString(got.Status))
	}
}

func TestDescribeContainerInstances(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	out, err := e.ECS.RegisterContainerInstance(e.ctx(), &awsecs.RegisterContainerInstanceInput{
		Cluster: aws.String("web"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("blue")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ciARN := aws.ToString(out.ContainerInstance.ContainerInstanceArn)
	missingID := strings.Repeat("a", 32)
	otherARN := e.scope.ContainerInstance("other", strings.Repeat("b", 32))

	d, err := e.ECS.DescribeContainerInstances(e.ctx(), &awsecs.DescribeContainerInstancesInput{
		Cluster: aws.String("web"), ContainerInstances: []string{ciARN, missingID, otherARN},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.ContainerInstances) != 1 || d.ContainerInstances[0].Tags != nil || d.ContainerInstances[0].HealthStatus != nil {
		t.Errorf("describe without include = %+v", d.ContainerInstances)
	}
	wantFails := []string{e.scope.ContainerInstance("web", missingID) + " MISSING", otherARN + " MISSING"}
	var gotFails []string
	for _, f := range d.Failures {
		gotFails = append(gotFails, aws.ToString(f.Arn)+" "+aws.ToString(f.Reason))
	}
	if !slices.Equal(gotFails, wantFails) {
		t.Errorf("failures = %v, want %v", gotFails, wantFails)
	}

	d, err = e.ECS.DescribeContainerInstances(e.ctx(), &awsecs.DescribeContainerInstancesInput{
		Cluster: aws.String("web"), ContainerInstances: []string{ciARN},
		Include: []types.ContainerInstanceField{types.ContainerInstanceFieldTags, types.ContainerInstanceFieldContainerInstanceHealth},
	})
	if err != nil {
		t.Fatal(err)
	}
	ci := d.ContainerInstances[0]
	if len(ci.Tags) != 1 || aws.ToString(ci.Tags[0].Value) != "blue" || ci.HealthStatus == nil || ci.HealthStatus.OverallStatus == "" {
		t.Errorf("describe with include = tags %+v health %+v", ci.Tags, ci.HealthStatus)
	}
	if len(d.Failures) != 0 {
		t.Errorf("failures = %+v", d.Failures)
	}

	_, err = e.ECS.DescribeContainerInstances(e.ctx(), &awsecs.DescribeContainerInstancesInput{Cluster: aws.String("web"), ContainerInstances: []string{}})
	tkWantErr(t, err, "InvalidParameterException", "")
	_, err = e.ECS.DescribeContainerInstances(e.ctx(), &awsecs.DescribeContainerInstancesInput{Cluster: aws.String("web"), ContainerInstances: make([]string, 101)})
	tkWantErr(t, err, "InvalidParameterException", "")
	_, err = e.ECS.DescribeContainerInstances(e.ctx(), &awsecs.DescribeContainerInstancesInput{ContainerInstances: []string{ciARN}})
	tkWantErr(t, err, "ClusterNotFoundException", "Cluster not found.")
}

func tkListInstances(t *testing.T, e *tkEnv, in awsecs.ListContainerInstancesInput) []string {
	t.Helper()
	in.Cluster = aws.String("web")
	var arns []string
	p := awsecs.NewListContainerInstancesPaginator(e.ECS, &in)
	for p.HasMorePages() {
		page, err := p.NextPage(e.ctx())
		if err != nil {
			t.Fatalf("ListContainerInstances %+v: %v", in, err)
		}
		arns = append(arns, page.ContainerInstanceArns...)
	}
	return arns
}

func TestListContainerInstances(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	var all []string
	var cis []types.ContainerInstance
	for i := range 5 {
		stack := []string{"prod", "dev"}[i%2]
		ci := e.register("web", 1024, 1024, tkAttr("stack", stack), tkAttr("ecs.availability-zone", fmt.Sprintf("us-east-1%c", 'a'+i)))
		cis = append(cis, ci)
		all = append(all, aws.ToString(ci.ContainerInstanceArn))
	}
	slices.Sort(all) // listing is in id order
	if got := tkListInstances(t, e, awsecs.ListContainerInstancesInput{MaxResults: aws.Int32(2)}); !slices.Equal(got, all) {
		t.Errorf("paginated list = %v, want %v", got, all)
	}

	// Drain one, give one a GPU attribute, put a task on one.
	if _, err := e.ECS.UpdateContainerInstancesState(e.ctx(), &awsecs.UpdateContainerInstancesStateInput{
		Cluster: aws.String("web"), ContainerInstances: []string{aws.ToString(cis[4].ContainerInstanceArn)}, Status: types.ContainerInstanceStatusDraining,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ECS.PutAttributes(e.ctx(), &awsecs.PutAttributesInput{Cluster: aws.String("web"), Attributes: []types.Attribute{
		{Name: aws.String("gpu"), TargetId: cis[1].ContainerInstanceArn},
	}}); err != nil {
		t.Fatal(err)
	}
	td := e.simpleTaskDef("web", 100, 100)
	e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String(td), Group: aws.String("databases"),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("ec2InstanceId == " + aws.ToString(cis[0].Ec2InstanceId))}}})

	arn := func(is ...int) []string {
		var out []string
		for _, i := range is {
			out = append(out, aws.ToString(cis[i].ContainerInstanceArn))
		}
		slices.Sort(out)
		return out
	}
	cases := []struct {
		status types.ContainerInstanceStatus
		filter string
		want   []string
	}{
		{"DRAINING", "", arn(4)},
		{"ACTIVE", "", arn(0, 1, 2, 3)},
		{"", "attribute:stack == prod", arn(0, 2, 4)},
		{"ACTIVE", "attribute:stack == prod", arn(0, 2)},
		{"", "attribute:stack != prod", arn(1, 3)},
		{"", "attribute:gpu exists", arn(1)},
		{"", "attribute:gpu !exists and attribute:stack == dev", arn(3)},
		{"", "attribute:ecs.availability-zone in [us-east-1a, us-east-1c]", arn(0, 2)},
		{"", "attribute:ecs.availability-zone not_in [us-east-1a, us-east-1c]", arn(1, 3, 4)},
		{"", "not (attribute:stack == prod or attribute:gpu exists)", arn(3)},
		{"", "ec2InstanceId == " + aws.ToString(cis[2].Ec2InstanceId), arn(2)},
		{"", "runningTasksCount > 0", arn(0)},
		{"", "task:group == databases", arn(0)},
		{"", "not(task:group == databases) and attribute:stack == prod", arn(2, 4)},
		{"", "agentConnected == true", arn(0, 1, 2, 3, 4)},
		{"", "registeredAt < 2000-01-01", nil},
		{"", "agentVersion >= 1.80.0", arn(0, 1, 2, 3, 4)},
	}
	for _, c := range cases {
		got := tkListInstances(t, e, awsecs.ListContainerInstancesInput{Status: c.status, Filter: aws.String(c.filter), MaxResults: aws.Int32(1)})
		if c.filter == "" {
			got = tkListInstances(t, e, awsecs.ListContainerInstancesInput{Status: c.status})
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("status %q filter %q = %v, want %v", c.status, c.filter, got, c.want)
		}
	}

	_, err := e.ECS.ListContainerInstances(e.ctx(), &awsecs.ListContainerInstancesInput{Cluster: aws.String("web"), Filter: aws.String("attribute:stack == prod and (")})
	tkWantErr(t, err, "InvalidParameterException", "")
	if !strings.Contains(tkErrMessage(err), "position 29") {
		t.Errorf("message does not point at the problem: %q", tkErrMessage(err))
	}
	_, err = e.ECS.ListContainerInstances(e.ctx(), &awsecs.ListContainerInstancesInput{Cluster: aws.String("web"), MaxResults: aws.Int32(101)})
	tkWantErr(t, err, "InvalidParameterException", "")
	_, err = e.ECS.ListContainerInstances(e.ctx(), &awsecs.ListContainerInstancesInput{Cluster: aws.String("web"), NextToken: aws.String("garbage!")})
	tkWantErr(t, err, "InvalidParameterException", "")
	_, err = e.ECS.ListContainerInstances(e.ctx(), &awsecs.ListContainerInstancesInput{Cluster: aws.String("nope")})
	tkWantErr(t, err, "ClusterNotFoundException", "")
}

func TestUpdateContainerInstancesState(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	a := e.register("web", 1024, 1024)
	b := e.register("web", 1024, 1024)
	gone := e.register("web", 1024, 1024)
	if _, err := e.ECS.DeregisterContainerInstance(e.ctx(), &awsecs.DeregisterContainerInstanceInput{Cluster: aws.String("web"), ContainerInstance: gone.ContainerInstanceArn}); err != nil {
		t.Fatal(err)
	}
	missing := strings.Repeat("c", 32)
	out, err := e.ECS.UpdateContainerInstancesState(e.ctx(), &awsecs.UpdateContainerInstancesStateInput{
		Cluster:            aws.String("web"),
		ContainerInstances: []string{aws.ToString(a.ContainerInstanceArn), missing, aws.ToString(gone.ContainerInstanceArn)},
		Status:             types.ContainerInstanceStatusDraining,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ContainerInstances) != 1 || aws.ToString(out.ContainerInstances[0].Status) != "DRAINING" || out.ContainerInstances[0].Version != a.Version+1 {
		t.Errorf("updated = %+v", out.ContainerInstances)
	}
	if len(out.Failures) != 2 ||
		aws.ToString(out.Failures[0].Arn) != e.scope.ContainerInstance("web", missing) || aws.ToString(out.Failures[0].Reason) != "MISSING" ||
		aws.ToString(out.Failures[1].Arn) != aws.ToString(gone.ContainerInstanceArn) || aws.ToString(out.Failures[1].Reason) != "INACTIVE" {
		t.Errorf("failures = %+v", out.Failures)
	}
	if n := e.cluster("web").RegisteredContainerInstancesCount; n != 2 {
		t.Errorf("registeredContainerInstancesCount = %d, want 2 (ACTIVE + DRAINING)", n)
	}

	// A draining instance takes no new tasks.
	td := e.simpleTaskDef("web", 512, 128)
	run := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String(td), Count: aws.Int32(3)})
	if len(run.Tasks) != 2 {
		t.Fatalf("placed %d tasks, want 2 (only b is ACTIVE)", len(run.Tasks))
	}
	for _, tk := range run.Tasks {
		if aws.ToString(tk.ContainerInstanceArn) != aws.ToString(b.ContainerInstanceArn) {
			t.Errorf("task placed on %s", aws.ToString(tk.ContainerInstanceArn))
		}
	}
	if len(run.Failures) != 1 || aws.ToString(run.Failures[0].Reason) != "RESOURCE:CPU" {
		t.Errorf("failures = %+v", run.Failures)
	}

	// Back to ACTIVE; repeating a state is not a change.
	for range 2 {
		out, err = e.ECS.UpdateContainerInstancesState(e.ctx(), &awsecs.UpdateContainerInstancesStateInput{
			Cluster: aws.String("web"), ContainerInstances: []string{aws.ToString(a.ContainerInstanceArn)}, Status: types.ContainerInstanceStatusActive,
		})
		if err != nil || len(out.ContainerInstances) != 1 || aws.ToString(out.ContainerInstances[0].Status) != "ACTIVE" || out.ContainerInstances[0].Version != a.Version+2 {
			t.Errorf("back to ACTIVE: %+v %v", out, err)
		}
	}

	_, err = e.ECS.UpdateContainerInstancesState(e.ctx(), &awsecs.UpdateContainerInstancesStateInput{
		Cluster: aws.String("web"), ContainerInstances: []string{aws.ToString(a.ContainerInstanceArn)}, Status: types.ContainerInstanceStatusRegistering,
	})
	tkWantErr(t, err, "InvalidParameterException", "")
	_, err = e.ECS.UpdateContainerInstancesState(e.ctx(), &awsecs.UpdateContainerInstancesStateInput{
		Cluster: aws.String("web"), ContainerInstances: make([]string, 11), Status: types.ContainerInstanceStatusActive,
	})
	tkWantErr(t, err, "InvalidParameterException", "")
}

// A node whose agent is disconnected is skipped with reason AGENT.
func TestPlacementSkipsDisconnectedAgent(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	ci := e.register("web", 1024, 1024)
	id := aws.ToString(ci.ContainerInstanceArn)[len(aws.ToString(ci.ContainerInstanceArn))-32:]
	e.update(func(tx store.Tx) error {
		var rec store.InstanceRecord
		if _, _, err := store.GetJSON(tx, store.InstanceKey("web", id), &rec); err != nil {
			return err
		}
		rec.AgentConnected = false
		return store.PutJSON(tx, store.InstanceKey("web", id), &rec)
	})
	td := e.simpleTaskDef("web", 128, 128)
	run := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String(td)})
	if len(run.Tasks) != 0 || len(run.Failures) != 1 || aws.ToString(run.Failures[0].Reason) != "AGENT" ||
		aws.ToString(run.Failures[0].Arn) != aws.ToString(ci.ContainerInstanceArn) {
		t.Errorf("RunTask on a disconnected node = %+v", run)
	}
}
