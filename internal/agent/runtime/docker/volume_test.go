package docker_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
)

// A named volume written by one container is read by another, and by a
// third through volumesFrom.
func TestSharedVolume(t *testing.T) {
	e := newEnv(t)
	vol := "qs-test-" + e.id + "-data"
	for range 2 { // idempotent
		if err := e.rt.CreateVolume(e.ctx(), runtime.VolumeSpec{Name: vol, Labels: e.labels()}); err != nil {
			t.Fatal(err)
		}
	}
	writer := e.echoSpec("writer", "WRITE_FILE=/data/greeting", "WRITE_CONTENT=hello from writer")
	writer.Mounts = []runtime.Mount{{Type: "volume", Source: vol, Target: "/data"}}
	writer.PortBindings = nil
	writer.Cmd = []string{"-exit-after", "0.5"}
	wid := e.run(writer)
	e.waitFor(wid, "exited", 20*time.Second, func(s runtime.ContainerStatus) bool { return s.State == "exited" })

	reader := e.echoSpec("reader")
	reader.Mounts = []runtime.Mount{{Type: "volume", Source: vol, Target: "/shared", ReadOnly: true}}
	url := e.hostURL(e.run(reader))
	if code, body := get(t, url+"/file?path=/shared/greeting"); code != http.StatusOK || body != "hello from writer" {
		t.Errorf("reader: %d %q", code, body)
	}
	req, _ := http.NewRequest(http.MethodPut, url+"/file?path=/shared/x", strings.NewReader("x"))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode == http.StatusOK {
		t.Errorf("write to a read-only mount succeeded: %v", err)
	}

	from := e.echoSpec("from")
	from.VolumesFrom = []string{wid + ":ro"}
	url = e.hostURL(e.run(from))
	if code, body := get(t, url+"/file?path=/data/greeting"); code != http.StatusOK || body != "hello from writer" {
		t.Errorf("volumesFrom: %d %q", code, body)
	}
	if err := e.rt.RemoveVolume(e.ctx(), "qs-test-"+e.id+"-absent"); err != nil {
		t.Errorf("removing an absent volume: %v", err)
	}
}

// Bind mounts: a host file is visible; a missing host directory is created.
func TestBindMount(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("from host"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "made", "by", "engine")
	spec := e.echoSpec("bind")
	spec.Mounts = []runtime.Mount{
		{Type: "bind", Source: dir, Target: "/host", ReadOnly: true},
		{Type: "bind", Source: missing, Target: "/out"},
		{Type: "volume", Target: "/anon"}, // anonymous, removed with the container
	}
	id := e.run(spec)
	url := e.hostURL(id)
	if code, body := get(t, url+"/file?path=/host/f"); code != http.StatusOK || body != "from host" {
		t.Errorf("bind: %d %q", code, body)
	}
	req, _ := http.NewRequest(http.MethodPut, url+"/file?path=/out/g", strings.NewReader("to host"))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("write through bind: %v", err)
	}
	if data, err := os.ReadFile(filepath.Join(missing, "g")); err != nil || string(data) != "to host" {
		t.Errorf("host sees %q, %v", data, err)
	}
	_ = e.rt.RemoveContainer(e.ctx(), id)
	// The engine created root-owned files under t.TempDir(); they are removable as root only.
	_ = os.RemoveAll(missing)
}
