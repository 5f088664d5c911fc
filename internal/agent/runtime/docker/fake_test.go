package docker_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
	"github.com/quayside/quayside/internal/agent/runtime/docker"
)

// fakeEngine is a scripted Docker engine on a unix socket, for behaviour a
// real engine cannot be made to show on demand: stalled pulls, counted
// pulls and a broken event stream.
type fakeEngine struct {
	pulls   atomic.Int32
	pull    http.HandlerFunc // /images/create
	events  http.HandlerFunc // /events
	present sync.Map         // image refs that inspect finds
}

func startFake(t *testing.T, f *fakeEngine) *docker.Runtime {
	t.Helper()
	dir, err := os.MkdirTemp("", "qsfake") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: f}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close(); os.RemoveAll(dir) })
	rt, err := docker.New(docker.Options{
		Host: "unix://" + sock, PullStallTimeout: 300 * time.Millisecond, PullTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

func (f *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Api-Version", "1.41")
	path := r.URL.Path
	switch {
	case strings.HasSuffix(path, "/_ping"):
		fmt.Fprint(w, "OK")
	case strings.HasSuffix(path, "/images/create"):
		f.pulls.Add(1)
		f.pull(w, r)
	case strings.Contains(path, "/images/") && strings.HasSuffix(path, "/json"):
		ref := strings.TrimSuffix(path[strings.Index(path, "/images/")+len("/images/"):], "/json")
		if _, ok := f.present.Load(ref); ok {
			fmt.Fprintf(w, `{"Id":"sha256:%064d"}`, 1)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"message":"No such image: %s"}`, ref)
	case strings.HasSuffix(path, "/events"):
		f.events(w, r)
	default:
		w.WriteHeader(http.StatusNotImplemented)
		fmt.Fprint(w, `{"message":"not in the fake"}`)
	}
}

// progress streams n pull progress messages, one every d, then succeeds.
func progress(f *fakeEngine, n int, d time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for i := range n {
			fmt.Fprintf(w, `{"status":"Downloading","progress":"%d"}`+"\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		f.present.Store(r.URL.Query().Get("fromImage")+":"+r.URL.Query().Get("tag"), true)
		fmt.Fprint(w, `{"status":"Downloaded newer image"}`+"\n")
	}
}

// Concurrent EnsureImage calls for one image share one pull; a pull that
// keeps making progress may outlast the stall timeout.
func TestFakeSharedPull(t *testing.T) {
	f := &fakeEngine{}
	f.pull = progress(f, 8, 100*time.Millisecond) // 0.8 s in total > 0.3 s stall limit
	rt := startFake(t, f)
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() { errs[i] = rt.EnsureImage(context.Background(), "example.com/app:1") })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.pulls.Load(); n != 1 {
		t.Errorf("%d pulls for 10 concurrent calls, want 1", n)
	}
	if err := rt.EnsureImage(context.Background(), "example.com/app:1"); err != nil || f.pulls.Load() != 1 {
		t.Errorf("present image: %v, pulls %d", err, f.pulls.Load())
	}
}

// A pull without progress fails after the stall timeout with a PullError; a
// caller giving up early does not cancel the pull for the others.
func TestFakeStalledPull(t *testing.T) {
	f := &fakeEngine{}
	f.pull = func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	rt := startFake(t, f)
	impatient, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	errImpatient := make(chan error, 1)
	go func() { errImpatient <- rt.EnsureImage(impatient, "example.com/slow:1") }()
	start := time.Now()
	err := rt.EnsureImage(context.Background(), "example.com/slow:1")
	elapsed := time.Since(start)
	var pe *runtime.PullError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "no progress") {
		t.Fatalf("stalled pull: %v, want a PullError about no progress", err)
	}
	if elapsed < 250*time.Millisecond || elapsed > 3*time.Second {
		t.Errorf("stalled pull failed after %s, want about 0.3 s", elapsed)
	}
	if err := <-errImpatient; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("impatient caller: %v", err)
	}
	if n := f.pulls.Load(); n != 1 {
		t.Errorf("%d pulls, want 1", n)
	}
}

// A pull the engine refuses is a PullError carrying the engine's message.
func TestFakePullRefused(t *testing.T) {
	f := &fakeEngine{}
	f.pull = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"Pulling"}`+"\n"+`{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}`+"\n")
	}
	rt := startFake(t, f)
	err := rt.EnsureImage(context.Background(), "example.com/gone:1")
	var pe *runtime.PullError
	if !errors.As(err, &pe) || pe.Image != "example.com/gone:1" || !strings.Contains(err.Error(), "manifest unknown") {
		t.Fatalf("%v", err)
	}
}

// When the engine's event stream breaks, Events yields the events it got,
// then exactly one error, then closes both channels.
func TestFakeEventsDisconnect(t *testing.T) {
	f := &fakeEngine{}
	f.events = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"Type":"container","Action":"start","Actor":{"ID":"c1","Attributes":{"com.quayside.managed":"true","name":"x","image":"i"}},"timeNano":1700000000000000000}`+"\n")
		fmt.Fprint(w, `{"Type":"container","Action":"exec_start: /echo healthcheck","Actor":{"ID":"c1"},"time":1700000000}`+"\n")
		fmt.Fprint(w, `{"Type":"container","Action":"health_status: unhealthy","Actor":{"ID":"c1"},"time":1700000001}`+"\n")
		w.(http.Flusher).Flush()
		// the daemon goes away: the handler returns and the stream ends
	}
	rt := startFake(t, f)
	evs, errs := rt.Events(context.Background())
	var got []runtime.Event
	for ev := range evs {
		got = append(got, ev)
	}
	if len(got) != 2 || got[0].Action != "start" || got[0].Labels[runtime.LabelManaged] != "true" ||
		got[0].Labels["name"] != "" || got[1].Action != "health_status" || got[1].Health != "unhealthy" {
		t.Errorf("events %+v", got)
	}
	if !got[0].Time.Equal(time.Unix(0, 1700000000000000000)) {
		t.Errorf("time %v", got[0].Time)
	}
	err, ok := <-errs
	if !ok || err == nil {
		t.Fatal("no error after the stream broke")
	}
	if _, ok := <-errs; ok {
		t.Error("a second error")
	}
}

// Events on an engine that does not answer fails at once, the same way.
func TestFakeEventsNoEngine(t *testing.T) {
	rt, err := docker.New(docker.Options{Host: "unix:///nonexistent/docker.sock"})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	evs, errs := rt.Events(context.Background())
	for range evs {
		t.Error("an event from nowhere")
	}
	if err := <-errs; err == nil {
		t.Error("no error")
	}
}
