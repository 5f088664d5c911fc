package ecs_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// An ARN of another region or account names nothing here: it must not act
// on the local resource that has the same name.
func TestForeignARNsDoNotResolveToLocalResources(t *testing.T) {
	e := svcSetup(t)
	e.mustCreate(t, "s1", 0, nil)
	local := "arn:aws:ecs:us-east-1:000000000000:"
	for _, scope := range []struct{ prefix, msg string }{
		{"arn:aws:ecs:eu-west-1:000000000000:", "Invalid Region in ARN"},
		{"arn:aws:ecs:us-east-1:111111111111:", "Identifier is for 111111111111. Your accountId is 000000000000"},
		{"arn:aws-cn:ecs:us-east-1:000000000000:", ""},
	} {
		p := scope.prefix
		_, err := e.ECS.DeleteCluster(e.ctx, &ecs.DeleteClusterInput{Cluster: aws.String(p + "cluster/c1")})
		svcWantErr(t, err, "InvalidParameterException", scope.msg)
		_, err = e.ECS.DescribeTaskDefinition(e.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(p + "task-definition/web:1")})
		svcWantErr(t, err, "InvalidParameterException", scope.msg)
		_, err = e.ECS.DeregisterTaskDefinition(e.ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(p + "task-definition/web:1")})
		svcWantErr(t, err, "InvalidParameterException", scope.msg)
		del, err := e.ECS.DeleteTaskDefinitions(e.ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{p + "task-definition/web:1"}})
		if err != nil || len(del.Failures) != 1 || len(del.TaskDefinitions) != 0 {
			t.Fatalf("delete foreign task definition: %v %+v", err, del)
		}
		_, err = e.ECS.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c1"), Service: aws.String(p + "service/c1/s1"), DesiredCount: aws.Int32(3)})
		svcWantErr(t, err, "InvalidParameterException", scope.msg)
		_, err = e.ECS.DeleteService(e.ctx, &ecs.DeleteServiceInput{Cluster: aws.String("c1"), Service: aws.String(p + "service/c1/s1")})
		svcWantErr(t, err, "InvalidParameterException", scope.msg)
		_, err = e.ECS.TagResource(e.ctx, &ecs.TagResourceInput{ResourceArn: aws.String(p + "cluster/c1"),
			Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
		svcWantErr(t, err, "InvalidParameterException", scope.msg)
		d, err := e.ECS.DescribeClusters(e.ctx, &ecs.DescribeClustersInput{Clusters: []string{p + "cluster/c1"}})
		if err != nil || len(d.Clusters) != 0 || len(d.Failures) != 1 || aws.ToString(d.Failures[0].Reason) != "MISSING" {
			t.Fatalf("describe foreign cluster: %v %+v", err, d)
		}
	}
	// The local resources are untouched.
	c, err := e.ECS.DescribeClusters(e.ctx, &ecs.DescribeClustersInput{Clusters: []string{local + "cluster/c1"}, Include: []types.ClusterField{types.ClusterFieldTags}})
	if err != nil || len(c.Clusters) != 1 || aws.ToString(c.Clusters[0].Status) != "ACTIVE" || len(c.Clusters[0].Tags) != 0 {
		t.Fatalf("local cluster: %v %+v", err, c)
	}
	td, err := e.ECS.DescribeTaskDefinition(e.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(local + "task-definition/web:1")})
	if err != nil || td.TaskDefinition.Status != types.TaskDefinitionStatusActive {
		t.Fatalf("local task definition: %v %+v", err, td)
	}
	s := e.describe(t, local+"service/c1/s1")
	if len(s.Services) != 1 || aws.ToString(s.Services[0].Status) != "ACTIVE" || s.Services[0].DesiredCount != 0 {
		t.Fatalf("local service: %+v", s)
	}
}

// A long-format service ARN of another cluster is refused with ECS's
// "Identifier is for cluster" error, not reported as a missing service.
func TestServiceARNOfAnotherCluster(t *testing.T) {
	e := svcSetup(t)
	e.mustCreate(t, "s1", 0, nil)
	other := "arn:aws:ecs:us-east-1:000000000000:service/c2/s1"
	want := "Invalid identifier: Identifier is for cluster c2. Your cluster is c1"
	_, err := e.ECS.DescribeServices(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("c1"), Services: []string{"s1", other}})
	svcWantErr(t, err, "InvalidParameterException", want)
	_, err = e.ECS.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c1"), Service: aws.String(other), DesiredCount: aws.Int32(1)})
	svcWantErr(t, err, "InvalidParameterException", want)
	// The legacy short form still names the service in the given cluster.
	s := e.describe(t, "arn:aws:ecs:us-east-1:000000000000:service/s1")
	if len(s.Services) != 1 || len(s.Failures) != 0 {
		t.Fatalf("legacy ARN: %+v", s)
	}
}

// A task definition ARN must name a family: the bare resource type is not
// a family called "task-definition".
func TestTaskDefinitionARNWithoutFamily(t *testing.T) {
	e := svcSetup(t)
	e.register(t, "task-definition", "", nil)
	for _, ref := range []string{
		"arn:aws:ecs:us-east-1:000000000000:task-definition",
		"arn:aws:ecs:us-east-1:000000000000:task-definition/a/web:1",
	} {
		_, err := e.ECS.DescribeTaskDefinition(e.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
		svcWantErr(t, err, "ClientException", "Unable to describe task definition.")
	}
}
