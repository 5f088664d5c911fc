package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// CPU time a system spends per request tells more than requests/s on a
// shared machine: it hardly moves with what else runs. It is read from
// /proc (utime+stime of the process and its children, e.g. nginx's
// workers), in clock ticks of 10 ms.

const tick = 10 * time.Millisecond

// cpuTime is the CPU time used so far by pid and its direct children.
func cpuTime(pid int) time.Duration {
	total := procTicks(pid)
	ents, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, e := range ents {
		b, err := os.ReadFile(e)
		if err != nil {
			continue
		}
		if f := statFields(b); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			n, _ := strconv.Atoi(filepath.Base(filepath.Dir(e)))
			total += procTicks(n)
		}
	}
	return time.Duration(total) * tick
}

func procTicks(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	f := statFields(b)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// statFields are the fields of /proc/PID/stat after the command name:
// state, ppid, ... (so utime is [11] and stime [12]).
func statFields(b []byte) []string {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	var out []string
	for _, f := range bytes.Fields(b[i+1:]) {
		out = append(out, string(f))
	}
	return out
}

// A virtual machine's hypervisor may run other guests on "our" cores: the
// time it takes shows as steal in /proc/stat. Under load it lengthens the
// tail of every path alike, and above a few percent it swamps what a proxy
// adds to a p99 of about a millisecond.

// cpuSample is the machine's CPU time so far, in ticks: all of it and the
// stolen part.
type cpuSample struct{ total, steal int64 }

func readCPU() cpuSample {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuSample{}
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	var s cpuSample
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(string(v), 10, 64)
		if i >= 8 { // guest time is counted in user already
			break
		}
		s.total += n
		if i == 7 {
			s.steal = n
		}
	}
	return s
}

// stealSince is the share of the CPU time since s that the hypervisor took.
func stealSince(s cpuSample) float64 {
	n := readCPU()
	if n.total <= s.total {
		return 0
	}
	return float64(n.steal-s.steal) / float64(n.total-s.total)
}
