package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// TestStateSurvivesKill9 answers writes, kills the server with SIGKILL and
// checks every answered write is there after a restart, with the same
// credentials.
func TestStateSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	listen := freePort(t)
	p := startServer(t, dir, listen)
	key := readCredentialsKey(t, dir)
	client := p.ecsClient(t)
	ctx := t.Context()
	for i := range 20 {
		mustAWS(client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(fmt.Sprintf("c%d", i))}))(t)
	}
	td := mustAWS(client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("f"),
		ContainerDefinitions: ecsContainer("app", 64)}))(t)
	p.kill()

	st, err := os.Stat(dir + "/credentials")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v mode %v", err, st.Mode())
	}
	p = startServer(t, dir, listen)
	if got := readCredentialsKey(t, dir); got != key {
		t.Fatalf("credentials changed across restart: %s != %s", got, key)
	}
	client = p.ecsClient(t)
	list := mustAWS(client.ListClusters(ctx, &ecs.ListClustersInput{}))(t)
	if len(list.ClusterArns) != 20 {
		t.Fatalf("after kill -9: %d clusters, want 20", len(list.ClusterArns))
	}
	got := mustAWS(client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("f")}))(t)
	if aws.ToString(got.TaskDefinition.TaskDefinitionArn) != aws.ToString(td.TaskDefinition.TaskDefinitionArn) {
		t.Fatalf("task definition after kill -9: %+v", got.TaskDefinition)
	}
	// The next revision continues the family's counter.
	next := mustAWS(client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("f"),
		ContainerDefinitions: ecsContainer("app", 64)}))(t)
	if next.TaskDefinition.Revision != 2 {
		t.Fatalf("revision after restart = %d, want 2", next.TaskDefinition.Revision)
	}
	p.stop()
}
