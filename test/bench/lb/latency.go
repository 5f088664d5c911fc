package main

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// The latency runs use wrk too, held to a rate by its Lua delay(): each
// connection waits 1 ms after every response before it sends the next
// request, and the number of connections is calibrated (short runs) until
// the run reaches the asked rate. wrk's histogram gives the percentiles.
const delayScript = `function delay()
  return 1
end
done = function(summary, latency, requests)
  io.write(string.format("LAT %d %d %d %d\n", latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
`

// latency is one rate-limited run.
type latency struct {
	target             string
	conns              int
	rps                float64
	p50, p99, p999, mx time.Duration
	errors             int
	steal              float64 // share of the machine's CPU time the hypervisor took during the run
}

var latRE = regexp.MustCompile(`LAT (\d+) (\d+) (\d+) (\d+)`)

func writeDelayScript(dir string) (string, error) {
	p := filepath.Join(dir, "delay.lua")
	return p, os.WriteFile(p, []byte(delayScript), 0o644)
}

func runDelayed(o options, script, target string, conns int, d time.Duration) (latency, error) {
	secs := max(int(d.Round(time.Second)/time.Second), 1)
	cpu0 := readCPU()
	out, err := exec.Command(o.wrk, "-t", "1", "-c", strconv.Itoa(conns), "-d", strconv.Itoa(secs)+"s",
		"-s", script, "http://"+target+"/").CombinedOutput()
	steal := stealSince(cpu0)
	if err != nil {
		return latency{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	m, r := latRE.FindSubmatch(out), rpsRE.FindSubmatch(out)
	if m == nil || r == nil {
		return latency{}, fmt.Errorf("wrk: no latency in %s", out)
	}
	us := func(b []byte) time.Duration {
		n, _ := strconv.Atoi(string(b))
		return time.Duration(n) * time.Microsecond
	}
	l := latency{conns: conns, p50: us(m[1]), p99: us(m[2]), p999: us(m[3]), mx: us(m[4]), steal: steal}
	l.rps, _ = strconv.ParseFloat(string(r[1]), 64)
	for _, e := range errsRE.FindAllSubmatch(out, -1) {
		for _, g := range e[1:] {
			n, _ := strconv.Atoi(string(g))
			l.errors += n
		}
	}
	return l, nil
}

// calibrate finds how many connections bring the target to rate.
func calibrate(o options, script, target string, rate float64) (int, error) {
	conns := max(int(math.Ceil(rate*1.3/1000)), 1) // 1 ms delay + ~0.3 ms answer
	for range 4 {
		l, err := runDelayed(o, script, target, conns, 2*time.Second)
		if err != nil {
			return 0, err
		}
		if math.Abs(l.rps-rate) < 0.03*rate {
			break
		}
		conns = max(int(math.Round(float64(conns)*rate/l.rps)), 1)
	}
	return conns, nil
}

// medianRun picks, of several runs of one target, the one with the median
// p99.
func medianRun(runs []latency) latency {
	slices.SortFunc(runs, func(a, b latency) int { return int(a.p99 - b.p99) })
	return runs[len(runs)/2]
}

// noiseFloor says whether this machine can judge the added-p99 target at
// all. The added p99 is the difference of two p99s measured seconds apart;
// when the direct path's own p99 moves by more than the target between
// rounds, or the hypervisor takes a noticeable share of the CPU, that
// difference is noise. It prints the spread of the direct p99, the steal,
// and the added p99 of each round against the direct run of the same round.
func noiseFloor(runs map[string][]latency) {
	const target = time.Millisecond
	direct := runs["direct"]
	if len(direct) == 0 {
		return
	}
	lo, hi := direct[0].p99, direct[0].p99
	var steal float64
	for _, name := range []string{"direct", "quayside", "nginx"} {
		for _, l := range runs[name] {
			steal = max(steal, l.steal)
		}
	}
	for _, l := range direct {
		lo, hi = min(lo, l.p99), max(hi, l.p99)
	}
	fmt.Printf("\nNoise floor: direct p99 %v to %v over %d rounds (spread %v); steal up to %.0f%% of the CPU\n", lo, hi, len(direct), hi-lo, 100*steal)
	for _, name := range []string{"quayside", "nginx"} {
		var added []time.Duration
		for i, l := range runs[name] {
			if i < len(direct) {
				added = append(added, l.p99-direct[i].p99)
			}
		}
		slices.Sort(added)
		fmt.Printf("  %s added p99 per round (against the same round's direct run): %v, median %v\n", name, added, added[len(added)/2])
	}
	if hi-lo > target || steal > 0.05 {
		fmt.Printf("  The direct path alone varies by more than the %v being judged (or the hypervisor took over 5%% of the CPU):\n  on this machine the added-p99 target can be neither met nor missed; compare with nginx's figure.\n", target)
	}
}
