package ecs_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// BenchmarkDescribeTasks100of100k stores 100,000 tasks, then measures
// DescribeTasks of 100 random ones through the SDK client (real HTTP, SigV4
// signing and verification). It reports the 99th percentile latency of one
// call as p99-ms; the target is 20 ms. Run it with a fixed count, e.g.
// -bench DescribeTasks100of100k -benchtime 1000x.
func BenchmarkDescribeTasks100of100k(b *testing.B) {
	const total, batch, perCall = 100_000, 5_000, 100
	e := startTK(b)
	e.createCluster("bench")
	tdARN := e.simpleTaskDef("bench", 256, 512)
	ids := make([]string, total)
	for start := 0; start < total; start += batch {
		e.update(func(tx store.Tx) error {
			for i := start; i < start+batch; i++ {
				ids[i] = arn.NewID()
				if err := store.SaveTask(tx, benchTask(e, tdARN, ids[i])); err != nil {
					return err
				}
			}
			return nil
		})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	refs := make([]string, perCall)
	var lat []time.Duration
	for b.Loop() {
		for i := range refs {
			refs[i] = e.scope.Task("bench", ids[rng.IntN(total)])
		}
		start := time.Now()
		out, err := e.ECS.DescribeTasks(e.ctx(), &awsecs.DescribeTasksInput{Cluster: aws.String("bench"), Tasks: refs})
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatalf("DescribeTasks: %v", err)
		}
		if len(out.Tasks) != perCall {
			b.Fatalf("DescribeTasks: %d tasks, %d failures", len(out.Tasks), len(out.Failures))
		}
	}
	slices.Sort(lat)
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(p(0.50), "p50-ms")
	b.ReportMetric(p(0.90), "p90-ms")
	b.ReportMetric(p(0.95), "p95-ms")
	b.ReportMetric(p(1), "max-ms")
	b.ReportMetric(p(0.99), "p99-ms")
}

// benchTask is a typical running one-container task.
func benchTask(e *tkEnv, tdARN, id string) *store.TaskRecord {
	taskARN := e.scope.Task("bench", id)
	now := model.At(time.Now())
	return &store.TaskRecord{Cluster: "bench", ID: id, Task: model.Task{
		TaskArn: taskARN, ClusterArn: e.scope.Cluster("bench"), TaskDefinitionArn: tdARN,
		LastStatus: model.StatusRunning, DesiredStatus: model.StatusRunning, LaunchType: model.LaunchTypeEc2,
		Group: "family:bench", Cpu: "256", Memory: "512", CreatedAt: now, StartedAt: now,
		AvailabilityZone: "us-east-1a", HealthStatus: model.HealthStatusUnknown,
		ContainerInstanceArn: e.scope.ContainerInstance("bench", arn.NewID()),
		Overrides:            &model.TaskOverride{ContainerOverrides: []model.ContainerOverride{}, InferenceAcceleratorOverrides: []model.InferenceAcceleratorOverride{}},
		Attachments:          []model.Attachment{},
		Tags:                 []model.Tag{{Key: "team", Value: "bench"}},
		Containers: []model.Container{{
			ContainerArn: e.scope.Container("bench", id, arn.NewUUID()), TaskArn: taskARN, Name: "app",
			Image: "public.ecr.aws/nginx/nginx:1.27", LastStatus: model.StatusRunning, Cpu: "256", Memory: "512",
			RuntimeId:         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			HealthStatus:      model.HealthStatusUnknown,
			NetworkBindings:   []model.NetworkBinding{{BindIP: "0.0.0.0", ContainerPort: aws.Int32(80), HostPort: aws.Int32(32768), Protocol: "tcp"}},
			NetworkInterfaces: []model.NetworkInterface{},
		}},
	}}
}
