package lb

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/store"
)

// setListenerAttrs replaces a listener's attributes, as
// ModifyListenerAttributes does, and waits until routing has them.
func (h *harness) setListenerAttrs(lbID, lid string, attrs map[string]string) {
	h.t.Helper()
	rev := h.update(func(tx store.Tx) error {
		var rec store.ListenerRecord
		key := store.ListenerKey(lbID, lid)
		if _, _, err := store.GetJSON(tx, key, &rec); err != nil {
			return err
		}
		rec.Attributes = attrs
		return store.PutJSON(tx, key, &rec)
	})
	h.synced(rev)
}

// TestTCPIdleTimeoutPerListener: a TCP listener closes a flow idle for
// its own tcp.idle_timeout.seconds, and a change applies to new flows; a
// listener without the attribute keeps NLB's 350 s.
func TestTCPIdleTimeoutPerListener(t *testing.T) {
	t.Parallel()
	const second = 10 * time.Millisecond // how long a second of the attribute lasts here
	h := newHarness(t, func(l *LB) { l.attrSecond = second })
	target := tcpTarget(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }) // never talks, never closes first
	tg := h.tg(store.ProtocolTCP, &store.HealthCheck{Enabled: true, Protocol: store.ProtocolTCP, Port: "traffic-port",
		IntervalSeconds: 1, TimeoutSeconds: 1, HealthyThreshold: 2, UnhealthyThreshold: 2}, nil)
	h.register(tg, target)
	nlb := h.lbRecord(store.LBTypeNetwork)
	short, shortAddr := h.listener(nlb, store.ProtocolTCP, fwd(tg))
	_, defAddr := h.listener(nlb, store.ProtocolTCP, fwd(tg))
	h.setListenerAttrs(nlb, short, map[string]string{store.ListenerAttrTCPIdleTimeout: "60"})
	h.waitState(tg, target, store.TargetHealthy, 5*time.Second)
	h.waitHealthy(tg)

	// idleFor opens a flow and returns how long it lasted without data.
	idleFor := func(addr string) time.Duration {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		if got, err := io.ReadAll(c); err != nil || len(got) != 0 {
			t.Fatalf("read %q, %v; want the connection closed", got, err)
		}
		return time.Since(start)
	}

	def, err := net.Dial("tcp", defAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer def.Close()
	if d := idleFor(shortAddr); d < 60*second*3/4 || d > 60*second+time.Second {
		t.Errorf("tcp.idle_timeout.seconds=60: closed after %v, want about %v", d, 60*second)
	}
	// The other listener's flow, idle as long, is still open.
	_ = def.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := def.Read(make([]byte, 1)); !isTimeout(err) {
		t.Errorf("the listener without the attribute: read %d, %v; want the flow still open", n, err)
	}

	h.setListenerAttrs(nlb, short, map[string]string{store.ListenerAttrTCPIdleTimeout: "120"})
	if d := idleFor(shortAddr); d < 120*second*3/4 || d > 120*second+time.Second {
		t.Errorf("tcp.idle_timeout.seconds=120: closed after %v, want about %v", d, 120*second)
	}
}
