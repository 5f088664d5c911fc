package ecs_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// BenchmarkRunTaskPlacement measures RunTask through the SDK (real HTTP,
// SigV4 signing and verification) on a cluster of 10,000 instances, with
// concurrent callers (64, or 8 for latency at a lighter load) sending
// RunTask-sized batches (1-10 tasks) of mixed strategies and constraints.
// It reports tasks placed per second and the 50th/99th percentile latency
// of one RunTask call.
//
//	go test -run XXX -bench RunTaskPlacement -benchtime 20000x ./internal/api/ecs
func BenchmarkRunTaskPlacement(b *testing.B) {
	b.Run("10000nodes", func(b *testing.B) { benchRunTask(b, 10000, 64) })
	b.Run("10000nodes-8callers", func(b *testing.B) { benchRunTask(b, 10000, 8) })
}

func benchRunTask(b *testing.B, nodes, callers int) {
	e := startTK(b)
	e.createCluster("bench")
	registerBenchInstances(e, "bench", nodes)
	e.simpleTaskDef("web", 64, 128)
	e.simpleTaskDef("edge", 16, 16, model.PortMapping{ContainerPort: aws.Int32(80), HostPort: aws.Int32(0)})
	calls := benchRunTaskCalls()
	e.runTask(calls[0](rand.New(rand.NewPCG(0, 0)), 1)) // lists the cluster
	var next, placed atomic.Int64
	lat := make([][]time.Duration, callers)
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range callers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 11))
			for {
				count := 1 + r.IntN(10)
				if next.Add(int64(count))-int64(count) >= int64(b.N) {
					return
				}
				start := time.Now()
				out, err := e.ECS.RunTask(e.ctx(), calls[r.IntN(len(calls))](r, count))
				lat[w] = append(lat[w], time.Since(start))
				if err != nil {
					b.Error(err)
					return
				}
				placed.Add(int64(len(out.Tasks)))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(placed.Load())/b.Elapsed().Seconds(), "placements/s")
	all := slices.Concat(lat...)
	slices.Sort(all)
	q := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

// registerBenchInstances stores n instances of 16 vCPUs and 64 GiB in three
// zones, as RegisterContainerInstance would.
func registerBenchInstances(e *tkEnv, cluster string, n int) {
	const batch = 500
	for start := 0; start < n; start += batch {
		e.update(func(tx store.Tx) error {
			var c model.Cluster
			if _, _, err := store.GetJSON(tx, store.ClusterKey(cluster), &c); err != nil {
				return err
			}
			for i := start; i < min(start+batch, n); i++ {
				id := fmt.Sprintf("%032x", i)
				reg := &store.InstanceRegistration{
					Resources: []model.Resource{model.IntResource("CPU", 16384), model.IntResource("MEMORY", 65536),
						model.SetResource("PORTS", model.DefaultReservedPorts), model.SetResource("PORTS_UDP", nil)},
					Attributes: []model.Attribute{
						{Name: "ecs.availability-zone", Value: "us-east-1" + string(rune('a'+i%3))},
						{Name: "ecs.instance-type", Value: []string{"m5.4xlarge", "c5.4xlarge", "r5.4xlarge"}[i%3]},
						{Name: "stack", Value: []string{"prod", "dev"}[i%2]},
					},
					EC2InstanceID: fmt.Sprintf("i-%017x", i),
					VersionInfo:   &model.VersionInfo{AgentVersion: "1.80.0", DockerVersion: "25.0.3"},
				}
				if _, err := store.RegisterInstance(tx, &c, id, e.scope.ContainerInstance(cluster, id), reg, time.Now()); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

func benchRunTaskCalls() []func(r *rand.Rand, count int) *awsecs.RunTaskInput {
	run := func(td string, count int) *awsecs.RunTaskInput {
		return &awsecs.RunTaskInput{Cluster: aws.String("bench"), TaskDefinition: aws.String(td), Count: aws.Int32(int32(count))}
	}
	spread := func(field string) types.PlacementStrategy {
		return types.PlacementStrategy{Type: types.PlacementStrategyTypeSpread, Field: aws.String(field)}
	}
	memberOf := func(expr string) types.PlacementConstraint {
		return types.PlacementConstraint{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String(expr)}
	}
	return []func(r *rand.Rand, count int) *awsecs.RunTaskInput{
		func(r *rand.Rand, count int) *awsecs.RunTaskInput { return run("web", count) }, // random
		func(r *rand.Rand, count int) *awsecs.RunTaskInput {
			in := run("web", count)
			in.PlacementStrategy = []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("memory")}}
			return in
		},
		func(r *rand.Rand, count int) *awsecs.RunTaskInput {
			in := run("web", count)
			in.Group = aws.String(fmt.Sprint("api-", r.IntN(20)))
			in.PlacementStrategy = []types.PlacementStrategy{spread("attribute:ecs.availability-zone"), spread("instanceId")}
			return in
		},
		func(r *rand.Rand, count int) *awsecs.RunTaskInput {
			in := run("web", count)
			in.PlacementConstraints = []types.PlacementConstraint{memberOf("attribute:ecs.instance-type =~ m5.* and attribute:stack == prod")}
			return in
		},
		func(r *rand.Rand, count int) *awsecs.RunTaskInput {
			in := run("edge", count)
			in.Group = aws.String(fmt.Sprint("job-", r.Uint64()))
			in.PlacementConstraints = []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance}, memberOf("runningTasksCount < 500")}
			in.PlacementStrategy = []types.PlacementStrategy{spread("attribute:ecs.availability-zone")}
			return in
		},
	}
}
