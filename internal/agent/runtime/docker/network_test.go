package docker_test

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
)

// A linked container reaches another by its alias.
func TestLinks(t *testing.T) {
	e := newEnv(t)
	backend := e.echoSpec("backend")
	backend.Hostname = "the-backend"
	backend.PortBindings = nil
	e.run(backend)
	front := e.echoSpec("front")
	front.Links = []string{backend.Name + ":db"}
	url := e.hostURL(e.run(front))
	code, body := get(t, url+"/fetch?url=http://db:8080/")
	if code != http.StatusOK || !strings.Contains(body, `"hostname": "the-backend"`) {
		t.Fatalf("front → db: %d %s", code, body)
	}
}

// awsvpc-style sharing: containers join a pause container's namespace, share
// its IP and reach each other on localhost.
func TestContainerNetworkMode(t *testing.T) {
	e := newEnv(t)
	pause := runtime.ContainerSpec{
		Name:   "qs-test-" + e.id + "-pause",
		Image:  e.images.Pause,
		Labels: e.labels(runtime.LabelContainer, "~pause"),
		PortBindings: []runtime.PortBinding{
			{ContainerPort: 8080, HostIP: "127.0.0.1"}, // the namespace's ports publish here
		},
		NetworkMode: "bridge",
	}
	pid := e.run(pause)
	pst := e.waitFor(pid, "running", 10*time.Second, func(s runtime.ContainerStatus) bool { return s.Running })
	if pst.IPAddress == "" {
		t.Fatalf("pause container has no IP: %+v", pst)
	}
	app := e.echoSpec("app")
	app.PortBindings, app.NetworkMode = nil, "container:"+pid
	aid := e.run(app)
	if ast := e.waitFor(aid, "running", 10*time.Second, func(s runtime.ContainerStatus) bool { return s.Running }); ast.IPAddress != pst.IPAddress {
		t.Errorf("app reports IP %q, want the pause container's %s", ast.IPAddress, pst.IPAddress)
	}
	side := e.echoSpec("side", "PORT=8081")
	side.PortBindings, side.NetworkMode = nil, "container:"+pid
	e.run(side)

	url := e.hostURL(pid) // the pause container's published 8080 is app's
	d := describe(t, url)
	if !contains(d.Addresses, pst.IPAddress) {
		t.Errorf("app addresses %v, want the pause IP %s", d.Addresses, pst.IPAddress)
	}
	code, body := get(t, url+"/fetch?url=http://127.0.0.1:8081/")
	if code != http.StatusOK || !strings.Contains(body, `"PORT": "8081"`) {
		t.Errorf("app → localhost:8081: %d %s", code, body)
	}
}

func TestHostAndNoneNetworks(t *testing.T) {
	e := newEnv(t)
	port := freePort(t)
	host := e.echoSpec("host", "PORT="+strconv.Itoa(port))
	host.PortBindings, host.NetworkMode = nil, "host"
	e.run(host)
	d := describe(t, "http://127.0.0.1:"+strconv.Itoa(port))
	if d.Env["PORT"] != strconv.Itoa(port) {
		t.Errorf("host network: %+v", d)
	}
	none := e.echoSpec("none")
	none.PortBindings, none.NetworkMode = nil, "none"
	id := e.run(none)
	st := e.waitFor(id, "running", 10*time.Second, func(s runtime.ContainerStatus) bool { return s.Running })
	if st.IPAddress != "" || len(st.Ports) != 0 {
		t.Errorf("none network: %+v", st)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// A static host port is bound as asked.
func TestStaticHostPort(t *testing.T) {
	e := newEnv(t)
	port := freePort(t)
	spec := e.echoSpec("static")
	spec.PortBindings = []runtime.PortBinding{
		{ContainerPort: 8080, HostPort: port, Protocol: "tcp", HostIP: "127.0.0.1"},
		{ContainerPort: 9999, Protocol: "udp"},
	}
	id := e.run(spec)
	describe(t, "http://127.0.0.1:"+strconv.Itoa(port))
	st, _ := e.rt.Inspect(e.ctx(), id)
	var tcp, udp bool
	for _, p := range st.Ports {
		tcp = tcp || (p.ContainerPort == 8080 && p.HostPort == port && p.HostIP == "127.0.0.1" && p.Protocol == "tcp")
		udp = udp || (p.ContainerPort == 9999 && p.HostPort != 0 && p.Protocol == "udp")
	}
	if !tcp || !udp {
		t.Errorf("ports %+v", st.Ports)
	}
}
