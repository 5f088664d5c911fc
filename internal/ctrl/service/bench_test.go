package service_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// BenchmarkLostNodeReplacement cuts one hollow node of ten off the
// network, with the server's defaults (2 s heartbeats, disconnected after
// 3 missed, LostNodeGrace), and measures the time until the service runs
// its 20 tasks again, the lost node's replaced by RUNNING tasks elsewhere
// (target: 10 s). It reports the mean and the worst time, and the time
// until the node was seen disconnected.
func BenchmarkLostNodeReplacement(b *testing.B) {
	c := newCluster(b, 10)
	c.create("web", c.register("web"), 20, nil)
	c.waitStable("web")
	var total, worst, detect time.Duration
	for i := 0; b.Loop(); i++ {
		node := c.nodes[i%len(c.nodes)]
		begin := time.Now()
		node.Cut()
		seen := time.Duration(0)
		c.eventually("the lost node's tasks are replaced", func() bool {
			if seen == 0 && len(c.instances()) < len(c.nodes) {
				seen = time.Since(begin)
			}
			return c.runningElsewhere("web", node.Running) == 20
		})
		took := time.Since(begin)
		total, worst, detect = total+took, max(worst, took), detect+seen
		b.StopTimer()
		node.Heal()
		c.eventually("the node comes back and stops its old tasks", func() bool { return node.Running("") == 0 && len(c.instances()) == len(c.nodes) })
		c.waitStable("web")
		b.StartTimer()
	}
	n := time.Duration(b.N)
	b.ReportMetric((total / n).Seconds(), "s/replaced")
	b.ReportMetric(worst.Seconds(), "s-worst")
	b.ReportMetric((detect / n).Seconds(), "s/detected")
}

// BenchmarkKilledTaskReplacement kills one task of a 20-task service on
// four hollow nodes per iteration and measures the time until the
// service has 20 RUNNING tasks again (as stored, the moment DescribeTasks
// would show it): p50 and p99 in milliseconds.
func BenchmarkKilledTaskReplacement(b *testing.B) {
	c := newCluster(b, 4)
	c.create("web", c.register("web"), 20, nil)
	c.waitStable("web")
	var took []time.Duration
	for b.Loop() {
		victim := aws.ToString(c.running("web")[0].TaskArn)
		node := c.nodeOf(victim)
		begin := time.Now()
		node.Kill(victim, 137)
		for c.storedRunning("web", victim) != 20 {
			time.Sleep(200 * time.Microsecond)
		}
		took = append(took, time.Since(begin))
		b.StopTimer()
		c.waitStable("web")
		b.StartTimer()
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "ms-p50")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "ms-p99")
}

// BenchmarkSteady creates a service on hollow nodes and measures the
// time until the ServicesStable waiter (polling every 20-100ms) says it
// is stable.
func BenchmarkSteady(b *testing.B) {
	for _, size := range []struct{ tasks, nodes int }{{20, 4}, {1000, 100}} {
		b.Run(fmt.Sprintf("%dtasks-%dnodes", size.tasks, size.nodes), func(b *testing.B) {
			c := newCluster(b, size.nodes)
			def := c.register("web")
			var total time.Duration
			for i := 0; b.Loop(); i++ {
				name := fmt.Sprint("web", i)
				begin := time.Now()
				c.create(name, def, int32(size.tasks), nil)
				c.waitStable(name)
				total += time.Since(begin)
				b.StopTimer()
				if _, err := c.h.ECS.DeleteService(c.ctx, &ecs.DeleteServiceInput{Cluster: aws.String("c1"), Service: aws.String(name), Force: aws.Bool(true)}); err != nil {
					b.Fatal(err)
				}
				c.waitInactive(name)
				c.eventually("every container stops", func() bool {
					for _, n := range c.nodes {
						if n.Running("") > 0 {
							return false
						}
					}
					return true
				})
				b.StartTimer()
			}
			b.ReportMetric((total / time.Duration(b.N)).Seconds(), "s/steady")
		})
	}
}

// runningElsewhere counts the service's RUNNING tasks meant to run on
// nodes that do not run the task (by the API).
func (c *cluster) runningElsewhere(name string, runsOn func(string) int) int {
	n := 0
	for _, t := range c.running(name) {
		if runsOn(aws.ToString(t.TaskArn)) == 0 {
			n++
		}
	}
	return n
}

// storedRunning counts, in the store, the service's RUNNING tasks meant to
// run, not counting the task with ARN except.
func (c *cluster) storedRunning(name, except string) int {
	n := 0
	needle := []byte(`"qService":"` + name + `"`)
	err := c.h.Server.Store().View(c.ctx, func(tx store.ReadTx) error {
		return tx.Scan(store.TasksPrefix+"c1/", "", func(kv store.KV) (bool, error) {
			if !bytes.Contains(kv.Value, needle) {
				return true, nil
			}
			var t model.Task
			if err := json.Unmarshal(kv.Value, &t); err != nil {
				return false, err
			}
			if t.LastStatus == model.StatusRunning && t.DesiredStatus == model.StatusRunning && t.TaskArn != except {
				n++
			}
			return true, nil
		})
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return n
}
