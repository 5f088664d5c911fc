package server_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/quayside/quayside/internal/server"
)

// A stopped task stays describable for the retention period, then
// DescribeTasks reports it MISSING; the instance's books are as before.
func TestStoppedTaskIsRemovedAfterRetention(t *testing.T) {
	const retention = 2 * time.Second
	e := startAgentEnv(t, func(c *server.Config) { c.Retention = retention })
	node := e.register()
	e.heartbeats(node)
	before := e.instance(node)
	task := e.runTask(node)
	e.report(node, running(task, 1))
	stoppedAt := time.Now()
	e.report(node, stopped(task, 2))
	if got := e.task(task); aws.ToString(got.LastStatus) != "STOPPED" || got.StoppedAt == nil {
		t.Fatalf("task after its STOPPED report: %s stoppedAt %v", aws.ToString(got.LastStatus), got.StoppedAt)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := e.h.ECS.DescribeTasks(e.ctx(), &awsecs.DescribeTasksInput{Cluster: aws.String("c1"), Tasks: []string{task}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Tasks) == 0 {
			if len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" {
				t.Fatalf("failures = %+v", out.Failures)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stopped task still describable %v after it stopped (retention %v)", time.Since(stoppedAt), retention)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if gone := time.Since(stoppedAt); gone < retention-10*time.Millisecond { // stoppedAt is stored in milliseconds
		t.Errorf("task removed %v after it stopped, before the retention period %v", gone, retention)
	}
	after := e.instance(node)
	if after.RunningTasksCount != before.RunningTasksCount || after.PendingTasksCount != before.PendingTasksCount {
		t.Errorf("instance counts moved: running %d→%d pending %d→%d", before.RunningTasksCount, after.RunningTasksCount, before.PendingTasksCount, after.PendingTasksCount)
	}
}
