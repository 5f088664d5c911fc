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
				in, _ := io.ReadAll(c) // until the half-close
				_, _ = c.Write(append([]byte(name+":"), in...))
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
