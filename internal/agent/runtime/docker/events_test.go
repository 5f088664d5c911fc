package docker_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
)

// Events carries the managed containers' start, health, die and destroy,
// in order, with their labels; unmanaged containers stay silent.
func TestEvents(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(e.ctx(), time.Minute)
	evs, errs := e.rt.Events(ctx)

	unmanaged := e.echoSpec("unmanaged")
	delete(unmanaged.Labels, runtime.LabelManaged)
	uid := e.run(unmanaged)

	spec := e.echoSpec("evented")
	spec.Labels[runtime.LabelTask] = "task-1"
	spec.HealthCheck = &runtime.HealthCheck{Test: []string{"CMD", "/echo", "healthcheck"}, Interval: 200 * time.Millisecond, Retries: 1}
	id := e.run(spec)
	e.waitFor(id, "healthy", 20*time.Second, func(s runtime.ContainerStatus) bool { return s.Health == "healthy" })
	do(t, http.MethodPost, e.hostURL(id)+"/exit?code=5")
	e.waitFor(id, "exited", 20*time.Second, func(s runtime.ContainerStatus) bool { return s.State == "exited" })
	if err := e.rt.RemoveContainer(e.ctx(), id); err != nil {
		t.Fatal(err)
	}

	var got []string
	want := []string{"create", "start", "health_status:healthy", "die", "destroy"}
	for ev := range evs {
		if ev.ContainerID == uid {
			t.Errorf("event of an unmanaged container: %+v", ev)
		}
		if ev.ContainerID != id {
			continue
		}
		if ev.Labels[runtime.LabelTask] != "task-1" || ev.Time.IsZero() {
			t.Errorf("event %+v", ev)
		}
		a := ev.Action
		if ev.Health != "" {
			a += ":" + ev.Health
		}
		if len(got) == 0 || got[len(got)-1] != a {
			got = append(got, a)
		}
		if ev.Action == "destroy" {
			break
		}
	}
	cancel()
	if !subsequence(want, got) {
		t.Errorf("events %v, want %v in order", got, want)
	}
	for range evs {
	}
	if err, ok := <-errs; ok {
		t.Errorf("error after cancel: %v", err)
	}
}

// subsequence reports whether want appears in got in order.
func subsequence(want, got []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// Every field of the spec reaches the engine.
func TestCreateSpecFields(t *testing.T) {
	e := newEnv(t)
	spec := e.echoSpec("fields", "A=1", "B=two")
	spec.Entrypoint = []string{"/echo"}
	spec.Cmd = []string{"serve", "-port", "8080"}
	spec.WorkingDir = "/"
	spec.User = "1000:1000"
	spec.CPUShares = 512
	spec.MemoryMiB = 64
	spec.MemoryReservationMiB = 32
	spec.ExtraHosts = []string{"db.internal:10.1.2.3"}
	spec.DNSServers = []string{"10.0.0.2"}
	spec.DNSSearch = []string{"example.internal"}
	spec.ReadonlyRootfs = true
	spec.Init = true
	spec.Ulimits = []runtime.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}}
	spec.StopTimeout = 1500 * time.Millisecond
	spec.LogDriver = "json-file"
	spec.LogOptions = map[string]string{"max-size": "1m"}
	spec.HealthCheck = &runtime.HealthCheck{
		Test: []string{"CMD-SHELL", "exit 0"}, Interval: 30 * time.Second, Timeout: 5 * time.Second,
		StartPeriod: 10 * time.Second, Retries: 3,
	}
	id := e.run(spec)
	url := e.hostURL(id)
	d := describe(t, url)
	if d.UID != 1000 || d.Env["B"] != "two" || len(d.Args) != 4 || d.Args[1] != "serve" {
		t.Errorf("container sees %+v", d)
	}
	j, err := e.raw.ContainerInspect(e.ctx(), id, rawInspect)
	if err != nil {
		t.Fatal(err)
	}
	c, h := j.Container.Config, j.Container.HostConfig
	checks := map[string]bool{
		"cpu shares":      h.CPUShares == 512,
		"memory":          h.Memory == 64<<20,
		"reservation":     h.MemoryReservation == 32<<20,
		"extra hosts":     len(h.ExtraHosts) == 1 && h.ExtraHosts[0] == "db.internal:10.1.2.3",
		"dns":             len(h.DNS) == 1 && h.DNS[0].String() == "10.0.0.2",
		"dns search":      len(h.DNSSearch) == 1 && h.DNSSearch[0] == "example.internal",
		"readonly rootfs": h.ReadonlyRootfs,
		"init":            h.Init != nil && *h.Init,
		"ulimits":         len(h.Ulimits) == 1 && h.Ulimits[0].Name == "nofile" && h.Ulimits[0].Soft == 1024 && h.Ulimits[0].Hard == 2048,
		"stop timeout":    c.StopTimeout != nil && *c.StopTimeout == 2,
		"log driver":      h.LogConfig.Type == "json-file" && h.LogConfig.Config["max-size"] == "1m",
		"healthcheck":     c.Healthcheck != nil && c.Healthcheck.Interval == 30*time.Second && c.Healthcheck.StartPeriod == 10*time.Second && c.Healthcheck.Retries == 3,
		"working dir":     c.WorkingDir == "/",
		"user":            c.User == "1000:1000",
		"labels":          c.Labels[labelTest] == e.id && c.Labels[runtime.LabelManaged] == "true",
	}
	for what, ok := range checks {
		if !ok {
			t.Errorf("%s not applied: config %+v host %+v", what, c, h)
		}
	}
	req, _ := http.NewRequest(http.MethodPut, url+"/file?path=/x", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode == http.StatusOK {
		t.Errorf("wrote to a read-only root filesystem")
	}
}
