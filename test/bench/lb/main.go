// Command lb measures Quayside's load balancer data plane side by side with
// nginx on this machine, both proxying to the same three small Go HTTP
// backends over keep-alive pools, all on 127.0.0.1:
//
//  1. throughput: the most requests/s `wrk` gets through each (best of
//     -rounds runs of -duration, alternating), and Quayside's as a ratio to
//     nginx's (the target is ≥ 0.8); with the CPU time each proxy spent per
//     request (from /proc), which a busy shared machine hardly moves;
//  2. latency: at half of nginx's maximum rate (wrk held to it with a Lua
//     delay() and a calibrated number of connections), p50/p99/p99.9
//     hitting a backend directly, through Quayside and through nginx; the
//     added p99 is the difference to the direct one (the target is ≤ 1 ms),
//     the median of -latency-rounds runs.
//
// The backends and the load balancer run as child processes of this
// program (-role backends, -role lb), nginx with a generated configuration
// in a temporary directory. Everything it starts is stopped, and the
// directory removed, when it ends, also on failure or Ctrl-C.
//
// Run it with scripts/bench-lb.sh.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

type options struct {
	duration, latDuration, warm time.Duration
	rounds, conns, threads      int
	latRounds                   int
	nginx, wrk                  string
}

func main() {
	role := flag.String("role", "", "internal: backends | lb")
	ports := flag.String("ports", "", "internal: backend ports (role backends)")
	dir := flag.String("dir", "", "internal: state directory (role lb)")
	port := flag.Int("port", 0, "internal: listener port (role lb)")
	targets := flag.String("targets", "", "internal: targets host:port,... (role lb)")
	cpuprofile := flag.String("cpuprofile", "", "internal: write the data plane's CPU profile here (role lb)")
	var o options
	flag.DurationVar(&o.duration, "duration", 8*time.Second, "length of each wrk run")
	flag.IntVar(&o.rounds, "rounds", 2, "wrk runs per system (the best counts)")
	flag.IntVar(&o.conns, "conns", 64, "wrk connections")
	flag.IntVar(&o.threads, "threads", 2, "wrk threads")
	flag.DurationVar(&o.latDuration, "latency-duration", 5*time.Second, "length of each latency run")
	flag.DurationVar(&o.warm, "warm", 2*time.Second, "warm-up before each measurement")
	flag.IntVar(&o.latRounds, "latency-rounds", 3, "latency runs per path (the median p99 counts)")
	flag.StringVar(&o.nginx, "nginx", "nginx", "nginx binary")
	flag.StringVar(&o.wrk, "wrk", "wrk", "wrk binary")
	flag.Parse()
	var err error
	switch *role {
	case "backends":
		err = runBackends(strings.Split(*ports, ","))
	case "lb":
		err = runLB(*dir, *port, strings.Split(*targets, ","), *cpuprofile)
	case "":
		err = run(o)
	default:
		err = fmt.Errorf("unknown role %q", *role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-lb:", err)
		os.Exit(1)
	}
}

// procs are the child processes this run started, stopped at the end.
type procs struct{ list []*exec.Cmd }

func (p *procs) start(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	p.list = append(p.list, cmd)
	return nil
}

func (p *procs) stop() {
	for i := len(p.list) - 1; i >= 0; i-- {
		c := p.list[i]
		_ = c.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = c.Process.Kill()
			<-done
		}
	}
}

func run(o options) (err error) {
	tmp, err := os.MkdirTemp("", "bench-lb-")
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	var ps procs
	cleanup := func() { ps.stop(); os.RemoveAll(tmp) }
	defer cleanup()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { <-sig; cleanup(); os.Exit(130) }()

	p := freePorts(5)
	backends := []string{addr(p[0]), addr(p[1]), addr(p[2])}
	qsAddr, ngAddr := addr(p[3]), addr(p[4])
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := ps.start(self, "-role", "backends", "-ports", fmt.Sprintf("%d,%d,%d", p[0], p[1], p[2])); err != nil {
		return err
	}
	for _, b := range backends {
		if err := waitHTTP("http://"+b+"/", 10*time.Second); err != nil {
			return err
		}
	}
	if err := ps.start(self, "-role", "lb", "-dir", tmp, "-port", strconv.Itoa(p[3]), "-targets", strings.Join(backends, ",")); err != nil {
		return err
	}
	qsPid := ps.list[len(ps.list)-1].Process.Pid
	conf := filepath.Join(tmp, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConf(tmp, p[4], backends)), 0o644); err != nil {
		return err
	}
	if err := ps.start(o.nginx, "-p", tmp, "-c", conf); err != nil {
		return fmt.Errorf("nginx: %w", err)
	}
	ngPid := ps.list[len(ps.list)-1].Process.Pid
	for _, u := range []string{qsAddr, ngAddr} {
		if err := waitHTTP("http://"+u+"/", 15*time.Second); err != nil {
			return err
		}
	}
	fmt.Printf("backends %s; quayside %s; nginx %s (%s); %d cores\n", strings.Join(backends, " "), qsAddr, ngAddr, nginxVersion(o.nginx), runtime.NumCPU())

	// 1. Throughput.
	systems := []struct {
		name, addr string
		pid        int
	}{{"quayside", qsAddr, qsPid}, {"nginx", ngAddr, ngPid}}
	best := map[string]wrkResult{}
	for _, s := range systems {
		if _, err := runWrk(o, s.addr, o.warm); err != nil { // warm the pools
			return err
		}
	}
	for r := range o.rounds {
		for _, s := range systems {
			cpu0 := cpuTime(s.pid)
			res, err := runWrk(o, s.addr, o.duration)
			if err != nil {
				return err
			}
			if res.requests > 0 {
				res.cpuPerReq = (cpuTime(s.pid) - cpu0) / time.Duration(res.requests)
			}
			fmt.Printf("round %d %-8s %9.0f req/s  p50 %v  p99 %v  errors %d  cpu/request %v\n", r+1, s.name, res.rps, res.p50, res.p99, res.errors, res.cpuPerReq)
			if res.rps > best[s.name].rps {
				best[s.name] = res
			}
		}
	}
	ratio := best["quayside"].rps / best["nginx"].rps

	// 2. Latency at half of nginx's maximum rate.
	rate := best["nginx"].rps / 2
	script, err := writeDelayScript(tmp)
	if err != nil {
		return err
	}
	paths := []struct{ name, addr string }{{"direct", backends[0]}, {"quayside", qsAddr}, {"nginx", ngAddr}}
	conns := map[string]int{}
	for _, p := range paths {
		if conns[p.name], err = calibrate(o, script, p.addr, rate); err != nil {
			return err
		}
	}
	runs := map[string][]latency{}
	for r := range o.latRounds {
		for _, p := range paths {
			l, err := runDelayed(o, script, p.addr, conns[p.name], o.latDuration)
			if err != nil {
				return err
			}
			l.target = p.name
			fmt.Printf("latency round %d %-8s %3d conns %7.0f req/s  p50 %v  p99 %v  p99.9 %v  steal %.0f%%\n", r+1, p.name, l.conns, l.rps, l.p50, l.p99, l.p999, 100*l.steal)
			runs[p.name] = append(runs[p.name], l)
		}
	}
	var lats []latency
	failed := 0
	for _, p := range paths {
		lats = append(lats, medianRun(runs[p.name]))
		for _, l := range runs[p.name] {
			failed += l.errors
		}
	}
	report(best, ratio, rate, lats, o.latRounds)
	noiseFloor(runs)
	if failed > 0 {
		return fmt.Errorf("%d requests failed during the latency runs", failed)
	}
	return nil
}

func report(best map[string]wrkResult, ratio, rate float64, lats []latency, rounds int) {
	fmt.Println()
	fmt.Println("Throughput (wrk, best run):")
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  system\treq/s\tp50\tp99\tcpu/request")
	for _, n := range []string{"quayside", "nginx"} {
		b := best[n]
		fmt.Fprintf(tw, "  %s\t%.0f\t%v\t%v\t%v\n", n, b.rps, b.p50, b.p99, b.cpuPerReq)
	}
	tw.Flush()
	fmt.Printf("  ratio quayside/nginx: %.2f (target ≥ 0.80)\n\n", ratio)
	fmt.Printf("Latency at %.0f req/s (half of nginx's maximum), wrk held to the rate, median p99 of %d runs:\n", rate, rounds)
	fmt.Fprintln(tw, "  path\tconns\treq/s\tp50\tp99\tp99.9\tmax\terrors\tadded p99")
	direct := lats[0].p99
	for _, l := range lats {
		added := "-"
		if l.target != "direct" {
			added = (l.p99 - direct).String()
		}
		fmt.Fprintf(tw, "  %s\t%d\t%.0f\t%v\t%v\t%v\t%v\t%d\t%s\n", l.target, l.conns, l.rps, l.p50, l.p99, l.p999, l.mx, l.errors, added)
	}
	tw.Flush()
	fmt.Printf("  quayside added p99: %v (target ≤ 1ms); nginx added p99: %v\n", lats[1].p99-direct, lats[2].p99-direct)
}

type wrkResult struct {
	rps       float64
	requests  int
	p50, p99  string
	errors    int
	cpuPerReq time.Duration // CPU time of the proxy per request
}

var (
	rpsRE  = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	nreqRE = regexp.MustCompile(`(\d+) requests in`)
	p50RE  = regexp.MustCompile(`\s50%\s+(\S+)`)
	p99RE  = regexp.MustCompile(`\s99%\s+(\S+)`)
	errsRE = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)|Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

func runWrk(o options, target string, d time.Duration) (wrkResult, error) {
	secs := max(int(d.Round(time.Second)/time.Second), 1)
	out, err := exec.Command(o.wrk, "-t", strconv.Itoa(o.threads), "-c", strconv.Itoa(o.conns),
		"-d", strconv.Itoa(secs)+"s", "--latency", "http://"+target+"/").CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	m := rpsRE.FindSubmatch(out)
	if m == nil {
		return wrkResult{}, fmt.Errorf("wrk: no Requests/sec in %s", out)
	}
	var r wrkResult
	r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	if m := nreqRE.FindSubmatch(out); m != nil {
		r.requests, _ = strconv.Atoi(string(m[1]))
	}
	if m := p50RE.FindSubmatch(out); m != nil {
		r.p50 = string(m[1])
	}
	if m := p99RE.FindSubmatch(out); m != nil {
		r.p99 = string(m[1])
	}
	for _, m := range errsRE.FindAllSubmatch(out, -1) {
		for _, g := range m[1:] {
			n, _ := strconv.Atoi(string(g))
			r.errors += n
		}
	}
	return r, nil
}

func freePorts(n int) []int {
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

func nginxVersion(bin string) string {
	out, _ := exec.Command(bin, "-v").CombinedOutput()
	return strings.TrimSpace(strings.TrimPrefix(string(out), "nginx version: "))
}
