package fake

import (
	"strconv"
	"strings"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
)

// script is what a container's environment tells the fake to do.
type script struct {
	runFor        time.Duration
	exitCode      int
	oom           bool
	createError   string
	startError    string
	ignoreSIGTERM bool
	sigtermCode   int
	health        string
	healthAfter   time.Duration
}

func parseScript(spec runtime.ContainerSpec) script {
	env := map[string]string{}
	for _, kv := range spec.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "FAKE_") {
			env[k] = v
		}
	}
	s := script{
		runFor:        duration(env["FAKE_RUN_FOR"], 0),
		exitCode:      number(env["FAKE_EXIT_CODE"], 0),
		oom:           truth(env["FAKE_OOM"]),
		createError:   env["FAKE_CREATE_ERROR"],
		startError:    env["FAKE_START_ERROR"],
		ignoreSIGTERM: truth(env["FAKE_IGNORE_SIGTERM"]),
		sigtermCode:   number(env["FAKE_SIGTERM_EXIT_CODE"], 0),
		health:        env["FAKE_HEALTH"],
		healthAfter:   duration(env["FAKE_HEALTH_AFTER"], 50*time.Millisecond),
	}
	if s.health == "" {
		s.health = "healthy"
	}
	if s.oom {
		s.exitCode = 137
	}
	return s
}

// duration reads "5s" or a plain number of seconds.
func duration(v string, def time.Duration) time.Duration {
	if v == "" {
		return def
	}
	if d, err := time.ParseDuration(v); err == nil {
		return d
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Duration(f * float64(time.Second))
	}
	return def
}

func number(v string, def int) int {
	if n, err := strconv.Atoi(v); err == nil {
		return n
	}
	return def
}

func truth(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && b
}
