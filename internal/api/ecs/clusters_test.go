package ecs_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/server/servertest"
	"github.com/quayside/quayside/internal/store"
)

// wantCode fails the test unless err is an AWS API error with code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got error %v, want API error %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("got %s (%s), want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
}

func TestCreateClusterDefaultsAndIdempotence(t *testing.T) {
	h := servertest.Start(t)
	ctx := h.Ctx()
	out, err := h.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Cluster
	if aws.ToString(c.ClusterName) != "default" || aws.ToString(c.Status) != "ACTIVE" ||
		aws.ToString(c.ClusterArn) != "arn:aws:ecs:us-east-1:000000000000:cluster/default" {
		t.Fatalf("unexpected cluster %+v", c)
	}
	again, err := h.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("default")})
	if err != nil || aws.ToString(again.Cluster.ClusterArn) != aws.ToString(c.ClusterArn) {
		t.Fatalf("second create: %v %+v", err, again)
	}
	list, err := h.ECS.ListClusters(ctx, &ecs.ListClustersInput{})
	if err != nil || len(list.ClusterArns) != 1 {
		t.Fatalf("list after idempotent create: %v %v", err, list.ClusterArns)
	}
	_, err = h.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("bad name!")})
	wantCode(t, err, "InvalidParameterException")
	_, err = h.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("x"), Tags: []types.Tag{{Key: aws.String("aws:owner"), Value: aws.String("v")}}})
	wantCode(t, err, "InvalidParameterException")
	_, err = h.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("x"), Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("sometimes")}}})
	wantCode(t, err, "InvalidParameterException")
	_, err = h.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("x"), CapacityProviders: []string{"nope"}})
	wantCode(t, err, "InvalidParameterException")
}

func TestDescribeClusters(t *testing.T) {
	h := servertest.Start(t)
	ctx := h.Ctx()
	// No clusters argument means the default cluster, which is missing.
	out, err := h.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Clusters) != 0 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" ||
		aws.ToString(out.Failures[0].Arn) != "arn:aws:ecs:us-east-1:000000000000:cluster/default" {
		t.Fatalf("describe missing default: %+v", out)
	}
	_, err = h.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("web"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err = h.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{
		Clusters: []string{"web", "arn:aws:ecs:us-east-1:000000000000:cluster/web", "ghost"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Clusters) != 2 || len(out.Failures) != 1 || len(out.Clusters[0].Tags) != 0 || out.Clusters[0].Settings != nil {
		t.Fatalf("describe without include: %+v", out)
	}
	out, err = h.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{
		Clusters: []string{"web"},
		Include:  []types.ClusterField{types.ClusterFieldTags, types.ClusterFieldSettings, types.ClusterFieldStatistics},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Clusters[0]
	if len(c.Tags) != 1 || len(c.Settings) != 1 || len(c.Statistics) != 8 {
		t.Fatalf("describe with include: %+v", c)
	}
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprint("c", i)
	}
	_, err = h.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: many})
	wantCode(t, err, "InvalidParameterException")
}

func TestListClustersPaginates(t *testing.T) {
	h := servertest.Start(t)
	ctx := h.Ctx()
	var want []string
	for i := range 7 {
		out, err := h.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(fmt.Sprintf("c%02d", i))})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, aws.ToString(out.Cluster.ClusterArn))
	}
	var got []string
	pages := 0
	p := ecs.NewListClustersPaginator(h.ECS, &ecs.ListClustersInput{MaxResults: aws.Int32(3)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, page.ClusterArns...)
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("paged %d pages: %v, want %v", pages, got, want)
	}
	_, err := h.ECS.ListClusters(ctx, &ecs.ListClustersInput{MaxResults: aws.Int32(101)})
	wantCode(t, err, "InvalidParameterException")
	_, err = h.ECS.ListClusters(ctx, &ecs.ListClustersInput{NextToken: aws.String("garbage!")})
	wantCode(t, err, "InvalidParameterException")
}

func TestUpdateClusterAndSettings(t *testing.T) {
	h := servertest.Start(t)
	ctx := h.Ctx()
	if _, err := h.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("u")}); err != nil {
		t.Fatal(err)
	}
	out, err := h.ECS.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{Cluster: aws.String("u"),
		Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}}})
	if err != nil || len(out.Cluster.Settings) != 1 || aws.ToString(out.Cluster.Settings[0].Value) != "enabled" {
		t.Fatalf("update settings: %v %+v", err, out)
	}
	up, err := h.ECS.UpdateCluster(ctx, &ecs.UpdateClusterInput{Cluster: aws.String("u"),
		Configuration: &types.ClusterConfiguration{ExecuteCommandConfiguration: &types.ExecuteCommandConfiguration{Logging: types.ExecuteCommandLoggingDefault}}})
	if err != nil || up.Cluster.Configuration == nil || up.Cluster.Configuration.ExecuteCommandConfiguration.Logging != types.ExecuteCommandLoggingDefault {
		t.Fatalf("update configuration: %v %+v", err, up)
	}
	_, err = h.ECS.UpdateCluster(ctx, &ecs.UpdateClusterInput{Cluster: aws.String("nope")})
	wantCode(t, err, "ClusterNotFoundException")
	cp, err := h.ECS.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("u"),
		CapacityProviders:               []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1, Base: 1}}})
	if err != nil || len(cp.Cluster.CapacityProviders) != 2 {
		t.Fatalf("put capacity providers: %v %+v", err, cp)
	}
	_, err = h.ECS.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("u"),
		CapacityProviders:               []string{"FARGATE"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT")}}})
	wantCode(t, err, "InvalidParameterException")
}

func TestDeleteCluster(t *testing.T) {
	h := servertest.Start(t)
	ctx := h.Ctx()
	if _, err := h.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}
	del, err := h.ECS.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("gone")})
	if err != nil || aws.ToString(del.Cluster.Status) != "INACTIVE" {
		t.Fatalf("delete: %v %+v", err, del)
	}
	d, err := h.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"gone"}})
	if err != nil || len(d.Clusters) != 1 || aws.ToString(d.Clusters[0].Status) != "INACTIVE" {
		t.Fatalf("describe deleted: %v %+v", err, d)
	}
	l, err := h.ECS.ListClusters(ctx, &ecs.ListClustersInput{})
	if err != nil || len(l.ClusterArns) != 0 {
		t.Fatalf("deleted cluster listed: %v %v", err, l.ClusterArns)
	}
	_, err = h.ECS.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("gone")})
	wantCode(t, err, "ClusterNotFoundException")
	_, err = h.ECS.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{Cluster: aws.String("gone"),
		Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}}})
	wantCode(t, err, "ClusterNotFoundException")
	// A deleted name can be created again, fresh.
	again, err := h.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("gone")})
	if err != nil || aws.ToString(again.Cluster.Status) != "ACTIVE" {
		t.Fatalf("recreate: %v %+v", err, again)
	}
}

func TestDeleteClusterRefusedWhileInUse(t *testing.T) {
	h := servertest.Start(t)
	ctx := h.Ctx()
	if _, err := h.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("busy")}); err != nil {
		t.Fatal(err)
	}
	reg, err := h.ECS.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
		Cluster: aws.String("busy"),
		TotalResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 1024},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 2048},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.ECS.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("busy")})
	wantCode(t, err, "ClusterContainsContainerInstancesException")
	if _, err := h.ECS.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{
		Cluster: aws.String("busy"), ContainerInstance: reg.ContainerInstance.ContainerInstanceArn}); err != nil {
		t.Fatal(err)
	}
	td, err := h.ECS.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("web:1"), Memory: aws.Int32(64)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.ECS.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("busy"), ServiceName: aws.String("s"),
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	_, err = h.ECS.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("busy")})
	wantCode(t, err, "ClusterContainsServicesException")
	d, err := h.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"busy"}})
	if err != nil || aws.ToString(d.Clusters[0].Status) != "ACTIVE" || d.Clusters[0].ActiveServicesCount != 1 {
		t.Fatalf("refused delete changed the cluster: %v %+v", err, d)
	}
}

func TestClusterSurvivesRestart(t *testing.T) {
	h := servertest.Start(t)
	if _, err := h.ECS.CreateCluster(h.Ctx(), &ecs.CreateClusterInput{ClusterName: aws.String("durable")}); err != nil {
		t.Fatal(err)
	}
	h.Restart()
	out, err := h.ECS.DescribeClusters(h.Ctx(), &ecs.DescribeClustersInput{Clusters: []string{"durable"}})
	if err != nil || len(out.Clusters) != 1 {
		t.Fatalf("after restart: %v %+v", err, out)
	}
}

// saveClusterTask stores a task of cluster in lastStatus status through
// store.SaveTask, as the task code does.
func saveClusterTask(t *testing.T, h *servertest.Harness, cluster, id, status string, lt model.LaunchType) {
	t.Helper()
	rec := &store.TaskRecord{Cluster: cluster, ID: id}
	rec.TaskArn = h.Server.Scope().Task(cluster, id)
	rec.LastStatus, rec.DesiredStatus, rec.LaunchType = status, model.StatusRunning, lt
	if _, err := h.Server.Store().Update(h.Ctx(), func(tx store.Tx) error { return store.SaveTask(tx, rec) }); err != nil {
		t.Fatal(err)
	}
}

// include=STATISTICS splits tasks and services into EC2 and Fargate.
func TestClusterStatisticsByLaunchType(t *testing.T) {
	e := svcSetup(t)
	e.mustCreate(t, "ec2", 0, nil)
	e.mustCreate(t, "fg", 0, func(in *ecs.CreateServiceInput) {
		in.TaskDefinition, in.LaunchType = aws.String(e.vpc), types.LaunchTypeFargate
		in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}
	})
	saveClusterTask(t, e.Harness, "c1", "00000000000000000000000000000001", model.StatusRunning, model.LaunchTypeFargate)
	saveClusterTask(t, e.Harness, "c1", "00000000000000000000000000000002", model.StatusRunning, model.LaunchTypeFargate)
	saveClusterTask(t, e.Harness, "c1", "00000000000000000000000000000003", model.StatusPending, model.LaunchTypeEc2)
	out, err := e.ECS.DescribeClusters(e.ctx, &ecs.DescribeClustersInput{Clusters: []string{"c1"}, Include: []types.ClusterField{types.ClusterFieldStatistics}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range out.Clusters[0].Statistics {
		got[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
	}
	want := map[string]string{
		"runningEC2TasksCount": "0", "runningFargateTasksCount": "2", "pendingEC2TasksCount": "1", "pendingFargateTasksCount": "0",
		"activeEC2ServiceCount": "1", "activeFargateServiceCount": "1", "drainingEC2ServiceCount": "0", "drainingFargateServiceCount": "0",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("statistics\n got %v\nwant %v", got, want)
	}
}

// A task that has gone on from STOPPED to DELETED does not keep its cluster
// from being deleted.
func TestDeleteClusterWithDeletedTask(t *testing.T) {
	h := servertest.Start(t)
	if _, err := h.ECS.CreateCluster(h.Ctx(), &ecs.CreateClusterInput{ClusterName: aws.String("old")}); err != nil {
		t.Fatal(err)
	}
	saveClusterTask(t, h, "old", "0123456789abcdef0123456789abcdef", model.StatusDeleted, model.LaunchTypeEc2)
	if _, err := h.ECS.DeleteCluster(h.Ctx(), &ecs.DeleteClusterInput{Cluster: aws.String("old")}); err != nil {
		t.Fatalf("delete cluster with a DELETED task: %v", err)
	}
	if _, err := h.ECS.CreateCluster(h.Ctx(), &ecs.CreateClusterInput{}); err != nil {
		t.Fatal(err)
	}
	saveClusterTask(t, h, "default", "0123456789abcdef0123456789abcdee", model.StatusStopping, model.LaunchTypeEc2)
	_, err := h.ECS.DeleteCluster(h.Ctx(), &ecs.DeleteClusterInput{Cluster: aws.String("default")})
	wantCode(t, err, "ClusterContainsTasksException")
}
