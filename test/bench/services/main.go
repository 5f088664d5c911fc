// Command services measures, side by side in one run on the local Docker
// engine, how Quayside and Docker Swarm keep a replicated service of the
// tiny echo test image running:
//
//  1. steady: from the create call until the 20-task service is steady
//     (Quayside: what the ServicesStable waiter accepts, runningCount ==
//     desiredCount with one deployment; Swarm: 20/20 tasks running);
//  2. kill → replacement: from `docker kill` of one task's container until
//     its replacement is RUNNING (Quayside: lastStatus RUNNING through the
//     ECS API; Swarm: task state running), over -samples kills; p50 and p99
//     by nearest rank (with 20 samples p99 is the slowest one).
//
// Quayside runs as `quayside server` and `quayside agent` processes (the
// agent on the local engine) driven through aws-sdk-go-v2; Swarm is
// `docker swarm init --advertise-addr 127.0.0.1` and a service created with
// the default settings (restart delay 5 s). Everything either creates is
// removed at the end, also after a failure or Ctrl-C: the Quayside
// processes, their data and the containers of cluster quayside-bench, the
// Swarm service, and the swarm itself when this run initialised it.
//
// Run it with scripts/bench-services.sh (see README, Benchmarks).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/moby/moby/client"

	"github.com/quayside/quayside/internal/testimages"
)

type options struct {
	replicas  int
	samples   int
	systems   []string
	binary    string
	settle    time.Duration
	waitLimit time.Duration
	keepLogs  bool
	logLevel  string
}

// result is one system's figures; a zero duration is "not measured".
type result struct {
	system string
	steady time.Duration
	kills  []time.Duration
	err    error
}

// system is one orchestrator under test.
type system interface {
	name() string
	// setup prepares everything the timed create needs.
	setup(ctx context.Context) error
	// createAndWaitSteady creates the service and returns how long it took
	// to become steady.
	createAndWaitSteady(ctx context.Context) (time.Duration, error)
	// killOne kills one running task's container and returns how long its
	// replacement took to be RUNNING.
	killOne(ctx context.Context) (time.Duration, error)
	// waitSteady waits until the service is steady again.
	waitSteady(ctx context.Context) error
	// cleanup removes everything the system created; it runs even when
	// ctx has ended. failed asks to keep what helps to see why.
	cleanup(failed bool)
}

func main() {
	var o options
	systems := flag.String("systems", "quayside,swarm", "comma-separated systems to measure, in order")
	flag.IntVar(&o.replicas, "replicas", 20, "tasks of the service")
	flag.IntVar(&o.samples, "samples", 20, "kills to measure per system")
	flag.StringVar(&o.binary, "quayside", "", "quayside binary (default: built from this checkout)")
	flag.DurationVar(&o.settle, "settle", time.Second, "pause after the service is steady again, before the next kill")
	flag.DurationVar(&o.waitLimit, "wait", 2*time.Minute, "limit of every single wait")
	flag.BoolVar(&o.keepLogs, "keep-logs", false, "keep the Quayside process logs (their directory is printed)")
	flag.StringVar(&o.logLevel, "log-level", "warn", "log level of the Quayside processes (debug, info, warn, error)")
	flag.Parse()
	o.systems = strings.Split(*systems, ",")
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench-services:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dk, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer dk.Close()
	if _, err := dk.Ping(ctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("Docker is required: %w", err)
	}
	imgs, err := testimages.Ensure(ctx, "")
	if err != nil {
		return fmt.Errorf("test images: %w", err)
	}
	var results []result
	for _, name := range o.systems {
		var s system
		switch name {
		case "quayside":
			s = newQuayside(dk, imgs, o)
		case "swarm":
			s = newSwarm(dk, imgs, o)
		default:
			return fmt.Errorf("unknown system %q (quayside or swarm)", name)
		}
		r := measure(ctx, s, o)
		results = append(results, r)
		if ctx.Err() != nil {
			break
		}
	}
	printTable(os.Stdout, results, o)
	for _, r := range results {
		if r.err != nil {
			return errors.New("not every figure was measured")
		}
	}
	return ctx.Err()
}

// measure runs one system's figures, and its cleanup whatever happens.
func measure(ctx context.Context, s system, o options) (r result) {
	r.system = s.name()
	defer func() {
		if p := recover(); p != nil {
			r.err = fmt.Errorf("panic: %v", p)
		}
		logf("%s: cleaning up", s.name())
		s.cleanup(r.err != nil)
		if r.err != nil {
			logf("%s: %v", s.name(), r.err)
		}
	}()
	logf("%s: setting up", s.name())
	if r.err = s.setup(ctx); r.err != nil {
		return r
	}
	logf("%s: creating a %d-task service", s.name(), o.replicas)
	if r.steady, r.err = s.createAndWaitSteady(ctx); r.err != nil {
		return r
	}
	logf("%s: steady after %v", s.name(), round(r.steady))
	for i := range o.samples {
		if err := sleep(ctx, o.settle); err != nil {
			r.err = err
			return r
		}
		d, err := s.killOne(ctx)
		if err != nil {
			r.err = fmt.Errorf("kill %d: %w", i+1, err)
			return r
		}
		r.kills = append(r.kills, d)
		logf("%s: kill %d/%d: replacement RUNNING after %v", s.name(), i+1, o.samples, round(d))
		if err := s.waitSteady(ctx); err != nil {
			r.err = fmt.Errorf("after kill %d: %w", i+1, err)
			return r
		}
	}
	return r
}

// percentile is the nearest-rank percentile p (0 < p ≤ 100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1]
}

func printTable(w io.Writer, rs []result, o options) {
	fmt.Fprintf(w, "\nServices side by side: %d-task service of %s, %d kills each\n\n", o.replicas, testimages.EchoTag, o.samples)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', tabwriter.AlignRight)
	header := "\t"
	for _, r := range rs {
		header += r.system + "\t"
	}
	if len(rs) == 2 {
		header += fmt.Sprintf("%s / %s\t", rs[1].system, rs[0].system)
	}
	fmt.Fprintln(tw, header)
	row := func(label string, get func(result) time.Duration) {
		line := label + "\t"
		var vals []time.Duration
		for _, r := range rs {
			v := get(r)
			vals = append(vals, v)
			line += cell(v) + "\t"
		}
		if len(rs) == 2 {
			if vals[0] > 0 && vals[1] > 0 {
				line += fmt.Sprintf("%.1f×\t", vals[1].Seconds()/vals[0].Seconds())
			} else {
				line += "n/a\t"
			}
		}
		fmt.Fprintln(tw, line)
	}
	row(fmt.Sprintf("%d tasks steady", o.replicas), func(r result) time.Duration { return r.steady })
	row("kill → replacement p50", func(r result) time.Duration { return percentile(r.kills, 50) })
	row("kill → replacement p99", func(r result) time.Duration { return percentile(r.kills, 99) })
	row("kill → replacement max", func(r result) time.Duration { return percentile(r.kills, 100) })
	tw.Flush()
	fmt.Fprintln(w)
	for _, r := range rs {
		var ss []string
		for _, d := range r.kills {
			ss = append(ss, fmt.Sprintf("%.3f", d.Seconds()))
		}
		fmt.Fprintf(w, "%s kill samples (s): %s\n", r.system, strings.Join(ss, " "))
		if r.err != nil {
			fmt.Fprintf(w, "%s: not fully measured: %v\n", r.system, r.err)
		}
	}
}

func cell(d time.Duration) string {
	if d <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.3f s", d.Seconds())
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// poll calls cond every interval until it reports done, fails, ctx ends or
// limit passes.
func poll(ctx context.Context, limit, interval time.Duration, what string, cond func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		done, err := cond(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			return fmt.Errorf("%s: %w", what, err)
		case done:
			return nil
		}
		if err := sleep(ctx, interval); err != nil {
			return fmt.Errorf("%s: not within %v", what, limit)
		}
	}
}
