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
}

var latRE = regexp.MustCompile(`LAT (\d+) (\d+) (\d+) (\d+)`)

func writeDelayScript(dir string) (string, error) {
	p := filepath.Join(dir, "delay.lua")
	return p, os.WriteFile(p, []byte(delayScript), 0o644)
}

func runDelayed(o options, script, target string, conns int, d time.Duration) (latency, error) {
	secs := max(int(d.Round(time.Second)/time.Second), 1)
	out, err := exec.Command(o.wrk, "-t", "1", "-c", strconv.Itoa(conns), "-d", strconv.Itoa(secs)+"s",
		"-s", script, "http://"+target+"/").CombinedOutput()
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
	l := latency{conns: conns, p50: us(m[1]), p99: us(m[2]), p999: us(m[3]), mx: us(m[4])}
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
