package lb

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/store"
)

// blackhole returns an address whose connections neither succeed nor are
// refused: a socket listening with a backlog of 0 that nobody accepts
// from, its one queue slot taken, so the kernel drops further SYNs and a
// dial can only time out.
func blackhole(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	for range 16 {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			if !isTimeout(err) {
				t.Fatalf("filling the backlog: %v", err)
			}
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("the accept backlog does not fill up")
	return ""
}

// tcpListener accepts connections and closes them: something for a health
// check to reach.
func tcpListener(t *testing.T) string {
	return tcpTarget(t, func(net.Conn) {})
}

// TestDialTimeout504: a target that cannot be connected to within the
// connection timeout gets the client a 504, as ALB answers ("the load
// balancer failed to establish a connection to the target before the
// connection timeout expired"); a refused connection stays a 502
// (TestNoTargets503AndTargetDown502).
func TestDialTimeout504(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(l *LB) { l.dialTimeout = 300 * time.Millisecond })
	hole := blackhole(t)
	_, checkPort := splitAddr(t, tcpListener(t))
	tg := h.tg(store.ProtocolHTTP, &store.HealthCheck{Enabled: true, Protocol: store.ProtocolTCP, Port: strconv.Itoa(int(checkPort)),
		IntervalSeconds: 1, TimeoutSeconds: 1, HealthyThreshold: 2, UnhealthyThreshold: 2}, nil)
	h.register(tg, hole)
	_, addr := h.listener(h.lbRecord(store.LBTypeApplication), store.ProtocolHTTP, fwd(tg))
	h.waitState(tg, hole, store.TargetHealthy, 5*time.Second)
	h.waitHealthy(tg)
	start := time.Now()
	out := raw(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(out, "HTTP/1.1 504 ") {
		t.Errorf("unreachable target: %.40q, want a 504", out)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("the answer took %v with a 300ms connection timeout", d)
	}
}

// TestSlowTargetOutlastsClientDeadline: a client that sends its request
// late in the connection's idle timeout, to a target that answers within
// that timeout, gets the answer: the wait for the target does not count
// as the client connection being idle.
func TestSlowTargetOutlastsClientDeadline(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rt := newRawTarget(t, func(int64, *http.Request, []byte) string {
		time.Sleep(1200 * time.Millisecond)
		return okAnswer("slow")
	})
	tg := h.tg(store.ProtocolHTTP, &store.HealthCheck{Enabled: true, Protocol: store.ProtocolTCP, Port: "traffic-port",
		IntervalSeconds: 1, TimeoutSeconds: 1, HealthyThreshold: 2, UnhealthyThreshold: 2}, nil)
	h.register(tg, rt.addr)
	lbID := h.lbRecord(store.LBTypeApplication)
	h.update(func(tx store.Tx) error {
		var rec store.LoadBalancerRecord
		if _, _, err := store.GetJSON(tx, store.LoadBalancerKey(lbID), &rec); err != nil {
			return err
		}
		rec.Attributes = map[string]string{store.LBAttrIdleTimeout: "2"}
		return store.PutJSON(tx, store.LoadBalancerKey(lbID), &rec)
	})
	_, addr := h.listener(lbID, store.ProtocolHTTP, fwd(tg))
	h.waitHealthy(tg)

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	time.Sleep(1200 * time.Millisecond) // idle, within the 2 s timeout
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("a target answering within the idle timeout: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "slow" {
		t.Errorf("got %d %q", resp.StatusCode, body)
	}
}
