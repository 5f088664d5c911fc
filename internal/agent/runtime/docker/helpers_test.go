package docker_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/quayside/quayside/internal/agent/runtime"
	"github.com/quayside/quayside/internal/agent/runtime/docker"
	"github.com/quayside/quayside/internal/testimages"
)

// env is one test's view of the real engine: a runtime, the test images, a
// label value unique to the test, and a raw client to check what the
// adapter did. Everything labelled with the test's label is removed at the
// end.
type env struct {
	t      *testing.T
	rt     *docker.Runtime
	raw    *client.Client
	images testimages.Images
	id     string // value of labelTest on everything this test creates
}

const labelTest = "com.quayside.test"

// requireDocker fails under CI=true and skips elsewhere when no engine
// answers.
func requireDocker(t *testing.T) *docker.Runtime {
	t.Helper()
	rt, err := docker.New(docker.Options{})
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = rt.Info(ctx)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Docker is required under CI=true: %v", err)
		}
		t.Skipf("no Docker engine: %v", err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// newEnv makes the test parallel: everything it creates is its own.
func newEnv(t *testing.T) *env {
	t.Helper()
	t.Parallel()
	rt := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	imgs, err := testimages.Ensure(ctx, "")
	if err != nil {
		t.Fatalf("test images: %v", err)
	}
	raw, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, rt: rt, raw: raw, images: imgs, id: randomID()}
	t.Cleanup(e.cleanup)
	return e
}

func randomID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// cleanup removes the test's containers and volumes.
func (e *env) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := client.Filters{}.Add("label", labelTest+"="+e.id)
	list, err := e.raw.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		e.t.Errorf("cleanup: %v", err)
	}
	for _, c := range list.Items {
		if _, err := e.raw.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			e.t.Errorf("cleanup: %v", err)
		}
	}
	vols, err := e.raw.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		e.t.Errorf("cleanup: %v", err)
	}
	for _, v := range vols.Items {
		if _, err := e.raw.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil {
			e.t.Errorf("cleanup: %v", err)
		}
	}
	e.raw.Close()
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	e.t.Cleanup(cancel)
	return ctx
}

// labels are the managed labels plus the test's own.
func (e *env) labels(extra ...string) map[string]string {
	l := map[string]string{runtime.LabelManaged: "true", labelTest: e.id}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return l
}

// echoSpec is an echo container publishing 8080 on a dynamic 127.0.0.1 port.
func (e *env) echoSpec(name string, envs ...string) runtime.ContainerSpec {
	return runtime.ContainerSpec{
		Name:         "qs-test-" + e.id + "-" + name,
		Image:        e.images.Echo,
		Labels:       e.labels(),
		Env:          envs,
		NetworkMode:  "bridge",
		PortBindings: []runtime.PortBinding{{ContainerPort: 8080, Protocol: "tcp", HostIP: "127.0.0.1"}},
	}
}

// run creates and starts spec and returns its ID.
func (e *env) run(spec runtime.ContainerSpec) string {
	e.t.Helper()
	ctx := e.ctx()
	id, err := e.rt.CreateContainer(ctx, spec)
	if err != nil {
		e.t.Fatalf("create %s: %v", spec.Name, err)
	}
	if err := e.rt.StartContainer(ctx, id); err != nil {
		e.t.Fatalf("start %s: %v", spec.Name, err)
	}
	return id
}

// waitFor polls Inspect until ok holds or the deadline passes.
func (e *env) waitFor(id, what string, d time.Duration, ok func(runtime.ContainerStatus) bool) runtime.ContainerStatus {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for {
		st, err := e.rt.Inspect(e.ctx(), id)
		if err != nil {
			e.t.Fatalf("inspect: %v", err)
		}
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("container %s: not %s after %s: %+v", id[:12], what, d, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hostURL is http://127.0.0.1:<host port of 8080> of a running container.
func (e *env) hostURL(id string) string {
	e.t.Helper()
	st := e.waitFor(id, "running", 10*time.Second, func(s runtime.ContainerStatus) bool { return s.Running })
	for _, p := range st.Ports {
		if p.ContainerPort == 8080 && p.Protocol == "tcp" && p.HostPort != 0 {
			return fmt.Sprintf("http://127.0.0.1:%d", p.HostPort)
		}
	}
	e.t.Fatalf("no host port for 8080 in %+v", st.Ports)
	return ""
}

// get retries until the server answers (it may still be starting).
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	return do(t, http.MethodGet, url)
}

func do(t *testing.T, method, url string) (int, string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest(method, url, nil)
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// description is the part of the echo server's GET / answer tests read.
type description struct {
	Hostname  string            `json:"hostname"`
	Args      []string          `json:"args"`
	Env       map[string]string `json:"env"`
	UID       int               `json:"uid"`
	Cwd       string            `json:"cwd"`
	Addresses []string          `json:"addresses"`
}

func describe(t *testing.T, url string) description {
	t.Helper()
	code, body := get(t, url+"/")
	if code != http.StatusOK {
		t.Fatalf("GET %s/: %d %s", url, code, body)
	}
	var d description
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return d
}

func isNotFound(err error) bool { return errors.Is(err, runtime.ErrNotFound) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}

var rawInspect = client.ContainerInspectOptions{}
