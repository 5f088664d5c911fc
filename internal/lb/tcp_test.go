package lb

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/store"
)

// tcpEcho is a TCP target that reads until the client half-closes, then
// answers with its name and what it read, and closes.
func tcpEcho(t *testing.T, name string) string {
	return tcpTarget(t, func(c net.Conn) {
		in, _ := io.ReadAll(c) // until the half-close
		_, _ = c.Write(append([]byte(name+":"), in...))
	})
}

// tcpTarget listens on 127.0.0.1 until the test ends and runs handle on
// each connection, in a goroutine of its own, closing the connection
// after it; it returns the address.
func tcpTarget(t *testing.T, handle func(net.Conn)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

func TestTCPProxyWithHalfClose(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a, b := tcpEcho(t, "a"), tcpEcho(t, "b")
	tg := h.tg(store.ProtocolTCP, &store.HealthCheck{Enabled: true, Protocol: store.ProtocolTCP, Port: "traffic-port",
		IntervalSeconds: 1, TimeoutSeconds: 1, HealthyThreshold: 2, UnhealthyThreshold: 2}, nil)
	h.register(tg, a)
	h.register(tg, b)
	_, addr := h.listener(h.lbRecord(store.LBTypeNetwork), store.ProtocolTCP, fwd(tg))
	h.waitState(tg, a, store.TargetHealthy, 5*time.Second)
	h.waitState(tg, b, store.TargetHealthy, 5*time.Second)
	h.waitHealthy(tg)
	seen := map[string]int{}
	for range 10 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		if err := c.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		name, rest, _ := cutByte(string(got), ':')
		if rest != "hello" {
			t.Fatalf("echo %q", got)
		}
		seen[name]++
	}
	if seen["a"] != 5 || seen["b"] != 5 {
		t.Errorf("connections spread %v, want 5 and 5", seen)
	}
}

func cutByte(s string, c byte) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// TestTCPResetClosesTarget: a client that resets its connection (rather
// than half-closing it) ends the proxied connection, even with a target
// that keeps its side open after reading EOF; otherwise the connection
// stays counted in flight, which also holds a deregistration open until
// its delay.
func TestTCPResetClosesTarget(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	target := tcpTarget(t, func(c net.Conn) {
		_, _ = io.Copy(io.Discard, c) // until EOF or reset, then stay open
		<-hold
	})
	tg := h.tg(store.ProtocolTCP, &store.HealthCheck{Enabled: true, Protocol: store.ProtocolTCP, Port: "traffic-port",
		IntervalSeconds: 1, TimeoutSeconds: 1, HealthyThreshold: 2, UnhealthyThreshold: 2}, nil)
	h.register(tg, target)
	_, addr := h.listener(h.lbRecord(store.LBTypeNetwork), store.ProtocolTCP, fwd(tg))
	h.waitState(tg, target, store.TargetHealthy, 5*time.Second)
	h.waitHealthy(tg)
	_, port := splitAddr(t, addr)
	b := h.lb.snap.Load().listeners[port].tcp.groups[0].routable[0]
	// The harness's own probe of the listener may be proxied too, and
	// this target never closes it: count from what is in flight now.
	base := b.inflight.Load()

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	h.eventually(2*time.Second, "the connection counted in flight", func() bool { return b.inflight.Load() == base+1 })
	_ = c.(*net.TCPConn).SetLinger(0)
	_ = c.Close() // a reset
	h.eventually(2*time.Second, "the proxied connection ended", func() bool { return b.inflight.Load() == base })
}

// TestTCPIdleTimeout: a TCP flow that carries no data either way for the
// idle timeout is closed (NLB: 350 s), one that carries data only one way
// is not.
func TestTCPIdleTimeout(t *testing.T) {
	t.Parallel()
	const idle = 400 * time.Millisecond
	h := newHarness(t, func(l *LB) { l.tcpIdle = idle })
	// The target sends the first line it reads back as that many bytes,
	// one every 100 ms, counts what else it reads, and keeps its side open.
	read := make(chan int, 4)
	target := tcpTarget(t, func(c net.Conn) {
		var cmd [2]byte
		if _, err := io.ReadFull(c, cmd[:]); err != nil {
			return // a health check
		}
		for range int(cmd[0] - '0') {
			time.Sleep(100 * time.Millisecond)
			if _, err := c.Write([]byte{'x'}); err != nil {
				return
			}
		}
		n, _ := io.Copy(io.Discard, c)
		read <- int(n)
	})
	tg := h.tg(store.ProtocolTCP, &store.HealthCheck{Enabled: true, Protocol: store.ProtocolTCP, Port: "traffic-port",
		IntervalSeconds: 1, TimeoutSeconds: 1, HealthyThreshold: 2, UnhealthyThreshold: 2}, nil)
	h.register(tg, target)
	_, addr := h.listener(h.lbRecord(store.LBTypeNetwork), store.ProtocolTCP, fwd(tg))
	h.waitState(tg, target, store.TargetHealthy, 5*time.Second)
	h.waitHealthy(tg)

	for _, c := range []struct {
		name          string
		fromTarget    int // bytes the target sends, 100 ms apart
		fromClient    int // bytes the client sends, 100 ms apart
		wantMinActive time.Duration
	}{
		{"idle both ways", 0, 0, 0},
		{"target talks", 9, 0, 900 * time.Millisecond},
		{"client talks", 0, 9, 900 * time.Millisecond},
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		if _, err := conn.Write([]byte{byte('0' + c.fromTarget), '\n'}); err != nil {
			t.Fatal(err)
		}
		for range c.fromClient {
			time.Sleep(100 * time.Millisecond)
			if _, err := conn.Write([]byte{'y'}); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		got, err := io.ReadAll(conn) // until the proxy closes the flow
		conn.Close()
		d := time.Since(start)
		if err != nil || len(got) != c.fromTarget {
			t.Errorf("%s: read %q, %v; want %d bytes, then the connection closed", c.name, got, err, c.fromTarget)
		}
		if d < c.wantMinActive+idle/2 || d > c.wantMinActive+idle+time.Second {
			t.Errorf("%s: closed after %v, want about %v of activity, then %v idle", c.name, d, c.wantMinActive, idle)
		}
		select {
		case n := <-read:
			if n != c.fromClient {
				t.Errorf("%s: the target read %d bytes, want %d", c.name, n, c.fromClient)
			}
		case <-time.After(2 * time.Second):
			t.Errorf("%s: the target's connection stayed open", c.name)
		}
	}
}
