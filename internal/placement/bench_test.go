package placement

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/sched"
	"github.com/quayside/quayside/internal/sched/cql"
	"github.com/quayside/quayside/internal/store"
	"github.com/quayside/quayside/internal/store/bolt"
)

// BenchmarkPlacement measures placements end to end, as RunTask makes
// them: decide on the engine's view, then commit durably (re-check, task
// records, instance and cluster books) to the real bbolt store in a temp
// dir. Concurrent callers place RunTask-sized batches (1-10 tasks) with a
// mix of strategies and constraints. It reports placements/s (tasks placed
// per second of wall time) and the 50th/99th percentile latency of one
// placement call. Target: 10,000 placements/s at 10,000 nodes.
//
//	go test -run XXX -bench Placement -benchtime 40000x ./internal/placement
func BenchmarkPlacement(b *testing.B) {
	for _, nodes := range []int{1000, 10000} {
		b.Run(fmt.Sprint(nodes, "nodes"), func(b *testing.B) { benchPlacement(b, nodes) })
	}
}

// benchCallers is how many placements are in flight at once (RunTask calls
// of concurrent clients).
const benchCallers = 64

func benchPlacement(b *testing.B, nodes int) {
	en := newBenchEnv(b, nodes)
	mix := benchMix()
	var next, placed, calls, attempts atomic.Int64
	lat := make([][]time.Duration, benchCallers)
	var wg sync.WaitGroup
	cpu0 := cpuTime()
	b.ResetTimer()
	for w := range benchCallers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for {
				count := 1 + r.IntN(10)
				if next.Add(int64(count))-int64(count) >= int64(b.N) {
					return
				}
				req := mix[r.IntN(len(mix))](r, count)
				start := time.Now()
				res, err := en.e.Place(context.Background(), req)
				lat[w] = append(lat[w], time.Since(start))
				if err != nil {
					b.Error(err)
					return
				}
				placed.Add(int64(len(res.Tasks)))
				calls.Add(1)
				attempts.Add(int64(res.Attempts))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(placed.Load())/b.Elapsed().Seconds(), "placements/s")
	b.ReportMetric(float64(attempts.Load())/float64(calls.Load()), "attempts/call")
	// CPU time of this process per placement: what a quiet machine's two
	// cores bound the rate by, whatever else shares this one.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(placed.Load()), "cpu-µs/placement")
	all := slices.Concat(lat...)
	slices.Sort(all)
	q := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

// newBenchEnv registers nodes instances of 16 vCPUs and 64 GiB in three
// zones and three instance types, and warms the engine's view.
func newBenchEnv(b testing.TB, nodes int) *env {
	en := newEnv(b, bolt.Options{})
	const batch = 500
	for start := 0; start < nodes; start += batch {
		en.update(func(tx store.Tx) error {
			var c model.Cluster
			if _, _, err := store.GetJSON(tx, store.ClusterKey("c"), &c); err != nil {
				return err
			}
			for i := start; i < min(start+batch, nodes); i++ {
				if _, err := store.RegisterInstance(tx, &c, fmt.Sprintf("%032x", i), testScope.ContainerInstance("c", fmt.Sprintf("%032x", i)),
					benchRegistration(i), time.Now()); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if _, err := en.e.Place(context.Background(), request(&sched.TaskSpec{CPU: 1}, 1)); err != nil {
		b.Fatal(err)
	}
	return en
}

func benchRegistration(i int) *store.InstanceRegistration {
	return &store.InstanceRegistration{
		Resources: []model.Resource{model.IntResource("CPU", 16384), model.IntResource("MEMORY", 65536),
			model.SetResource("PORTS", model.DefaultReservedPorts), model.SetResource("PORTS_UDP", nil)},
		Attributes: []model.Attribute{
			{Name: "ecs.availability-zone", Value: "us-east-1" + string(rune('a'+i%3))},
			{Name: "ecs.instance-type", Value: []string{"m5.4xlarge", "c5.4xlarge", "r5.4xlarge"}[i%3]},
			{Name: "ecs.os-type", Value: "linux"}, {Name: "ecs.cpu-architecture", Value: "x86_64"},
			{Name: "ecs.capability.task-eni"}, {Name: "com.amazonaws.ecs.capability.docker-remote-api.1.44"},
			{Name: "com.amazonaws.ecs.capability.logging-driver.awslogs"},
			{Name: "stack", Value: []string{"prod", "dev"}[i%2]},
		},
		EC2InstanceID: fmt.Sprintf("i-%017x", i),
		VersionInfo:   &model.VersionInfo{AgentVersion: "1.80.0", DockerVersion: "25.0.3"},
	}
}

// benchMix are the kinds of RunTask calls of the benchmark, equally often.
func benchMix() []func(r *rand.Rand, count int) *Request {
	byType := cql.MustParse("attribute:ecs.instance-type =~ 'm5\\..*'")
	stack := cql.MustParse("attribute:stack in [prod, dev] and agentVersion >= 1.50.0")
	notBusy := cql.MustParse("runningTasksCount < 500")
	azID := sched.DefaultServiceStrategies
	return []func(r *rand.Rand, count int) *Request{
		func(r *rand.Rand, count int) *Request { // the RunTask default: random
			return benchRequest(&sched.TaskSpec{CPU: 64, Memory: 128, Group: "family:web"}, count)
		},
		func(r *rand.Rand, count int) *Request {
			return benchRequest(&sched.TaskSpec{CPU: 128, Memory: 256, Group: "family:batch",
				Strategies: []sched.Strategy{{Type: sched.Binpack, Field: "memory"}}}, count)
		},
		func(r *rand.Rand, count int) *Request { // a service's default
			return benchRequest(&sched.TaskSpec{CPU: 32, Memory: 64, Group: fmt.Sprint("service:api-", r.IntN(20)), Strategies: azID}, count)
		},
		func(r *rand.Rand, count int) *Request {
			return benchRequest(&sched.TaskSpec{CPU: 64, Memory: 64, Group: "family:m5",
				Constraints: []sched.Constraint{{Type: sched.MemberOf, Expr: byType}}}, count)
		},
		func(r *rand.Rand, count int) *Request {
			return benchRequest(&sched.TaskSpec{CPU: 16, Memory: 32, Group: fmt.Sprint("job-", r.Uint64()),
				Constraints: []sched.Constraint{{Type: sched.DistinctInstance}},
				Strategies:  []sched.Strategy{{Type: sched.Spread, Field: "attribute:ecs.availability-zone"}}}, count)
		},
		func(r *rand.Rand, count int) *Request {
			return benchRequest(&sched.TaskSpec{CPU: 48, Memory: 96, Group: "family:etl",
				Constraints: []sched.Constraint{{Type: sched.MemberOf, Expr: stack}},
				Strategies:  []sched.Strategy{{Type: sched.Spread, Field: "attribute:stack"}, {Type: sched.Binpack, Field: "cpu"}}}, count)
		},
		func(r *rand.Rand, count int) *Request {
			return benchRequest(&sched.TaskSpec{CPU: 16, Memory: 16, Group: "family:edge", Ports: []uint16{uint16(8000 + r.IntN(100))},
				Requires:    []sched.Requirement{{Name: "com.amazonaws.ecs.capability.logging-driver.awslogs"}},
				Constraints: []sched.Constraint{{Type: sched.MemberOf, Expr: notBusy}},
				Strategies:  []sched.Strategy{{Type: sched.Spread, Field: "instanceId"}}}, count)
		},
	}
}

// benchRequest builds tasks like RunTask's: one container, overrides, tags.
func benchRequest(task *sched.TaskSpec, count int) *Request {
	req := request(task, count)
	req.Build = func(inst *store.InstanceRecord) (*store.TaskRecord, error) {
		id := arn.NewID()
		taskARN := testScope.Task("c", id)
		t := &store.TaskRecord{Cluster: "c", ID: id, InstanceID: inst.ID, Claim: store.Claim{CPU: task.CPU, Memory: task.Memory}}
		for _, p := range task.Ports {
			t.Claim.Ports = append(t.Claim.Ports, fmt.Sprint(p))
		}
		t.Task = model.Task{
			TaskArn: taskARN, ClusterArn: testScope.Cluster("c"), TaskDefinitionArn: testScope.TaskDefinition("web", 3),
			ContainerInstanceArn: inst.ContainerInstanceArn, AvailabilityZone: "us-east-1a", LastStatus: "PENDING",
			DesiredStatus: "RUNNING", CreatedAt: model.At(time.Now()), LaunchType: model.LaunchTypeEc2, Group: task.Group,
			Cpu: fmt.Sprint(task.CPU), Memory: fmt.Sprint(task.Memory), HealthStatus: model.HealthStatusUnknown,
			Overrides:   &model.TaskOverride{ContainerOverrides: []model.ContainerOverride{}, InferenceAcceleratorOverrides: []model.InferenceAcceleratorOverride{}},
			Attachments: []model.Attachment{}, Tags: []model.Tag{{Key: "team", Value: "bench"}},
			Containers: []model.Container{{
				ContainerArn: testScope.Container("c", id, arn.NewUUID()), TaskArn: taskARN, Name: "app",
				Image: "public.ecr.aws/nginx/nginx:1.27", LastStatus: "PENDING", Cpu: fmt.Sprint(task.CPU),
				HealthStatus: model.HealthStatusUnknown, NetworkBindings: []model.NetworkBinding{}, NetworkInterfaces: []model.NetworkInterface{},
			}},
		}
		return t, nil
	}
	return req
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
