package agent_test

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/quayside/quayside/internal/agent/runtime"
	"github.com/quayside/quayside/internal/testimages"
)

// engineClock wraps a runtime and adds up, per task, the time spent in the
// engine's create and start calls: Docker's share of a task's start.
type engineClock struct {
	runtime.Runtime
	mu    sync.Mutex
	spent map[string]time.Duration // by task ARN
	task  map[string]string        // container ID → task ARN
}

func (c *engineClock) add(task string, d time.Duration) {
	c.mu.Lock()
	c.spent[task] += d
	c.mu.Unlock()
}

func (c *engineClock) CreateContainer(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	begin := time.Now()
	id, err := c.Runtime.CreateContainer(ctx, spec)
	c.add(spec.Labels[runtime.LabelTask], time.Since(begin))
	c.mu.Lock()
	c.task[id] = spec.Labels[runtime.LabelTask]
	c.mu.Unlock()
	return id, err
}

func (c *engineClock) StartContainer(ctx context.Context, id string) error {
	begin := time.Now()
	err := c.Runtime.StartContainer(ctx, id)
	c.mu.Lock()
	task := c.task[id]
	c.mu.Unlock()
	c.add(task, time.Since(begin))
	return err
}

func (c *engineClock) of(task string) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.spent[task]
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkRunTaskToRunning measures RunTask → RUNNING (seen through
// DescribeTasks) for a cached image on the local Docker, beside a bare
// `docker run -d` of the same image, 30 samples each, and the orchestrator's
// own share (everything but Docker's create and start calls).
//
//	go test -run '^$' -bench RunTaskToRunning -benchtime 1x ./internal/agent/
func BenchmarkRunTaskToRunning(b *testing.B) {
	const samples = 30
	e := newDockerBenchEnv(b)
	clock := &engineClock{Runtime: e.eng, spent: map[string]time.Duration{}, task: map[string]string{}}
	e.eng = clock
	e.start()
	e.instance()
	def := e.register("bench", dockerContainer("app"))
	var total, own, bare []time.Duration
	for range b.N {
		for range samples {
			begin := time.Now()
			out, err := e.h.ECS.RunTask(b.Context(), &ecs.RunTaskInput{Cluster: aws.String(e.cluster), TaskDefinition: aws.String(def)})
			if err != nil || len(out.Tasks) != 1 {
				b.Fatalf("RunTask: %v", err)
			}
			arn := aws.ToString(out.Tasks[0].TaskArn)
			for aws.ToString(e.describe(arn).LastStatus) != "RUNNING" {
				time.Sleep(time.Millisecond)
			}
			d := time.Since(begin)
			total, own = append(total, d), append(own, d-clock.of(arn))
			e.stop(arn)
			bare = append(bare, dockerRun(b))
		}
	}
	b.ReportMetric(ms(percentile(total, 0.5)), "p50-ms")
	b.ReportMetric(ms(percentile(total, 0.99)), "p99-ms")
	b.ReportMetric(ms(percentile(bare, 0.5)), "docker-run-p50-ms")
	b.ReportMetric(ms(percentile(bare, 0.99)), "docker-run-p99-ms")
	b.ReportMetric(ms(percentile(own, 0.5)), "own-p50-ms")
	b.ReportMetric(ms(percentile(own, 0.99)), "own-p99-ms")
	b.ReportMetric(float64(percentile(total, 0.5))/float64(percentile(bare, 0.5)), "ratio-p50")
}

// dockerRun times a bare `docker run -d` of the echo image and removes the
// container.
func dockerRun(b *testing.B) time.Duration {
	begin := time.Now()
	out, err := exec.Command("docker", "run", "-d", "--label", "com.quayside.bench=1", testimages.EchoTag).Output()
	d := time.Since(begin)
	if err != nil {
		b.Fatalf("docker run: %v", err)
	}
	if err := exec.Command("docker", "rm", "-f", strings.TrimSpace(string(out))).Run(); err != nil {
		b.Fatalf("docker rm: %v", err)
	}
	return d
}
