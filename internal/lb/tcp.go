package lb

import (
	"errors"
	"hash/fnv"
	"io"
	"net"
	"time"
)

// serveTCP accepts a TCP listener's connections until its socket closes.
func (l *LB) serveTCP(s *serving) {
	var delay time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return
		}
		delay = 0
		if !s.tcp.add(c) {
			_ = c.Close()
			continue
		}
		l.wg.Go(func() {
			defer s.tcp.remove(c)
			defer c.Close()
			l.proxyTCP(c, s.port, s.tcp)
		})
	}
}

// targetDialTimeout bounds the connection to a target: ALB's connection
// timeout (10 s; a 504 when it expires), NLB's alike.
const targetDialTimeout = 10 * time.Second

// proxyTCP connects the client to a target of the listener's group and
// copies both ways until both sides have closed, passing half-closes on.
// A target that refuses the connection is skipped for another one (at
// most three tries).
func (l *LB) proxyTCP(c net.Conn, port int32, conns *tcpConns) {
	var skip *backend
	for attempt := 0; attempt < 3+staleRetries; attempt++ {
		snap := l.snap.Load()
		ls := snap.listeners[port]
		if ls == nil || ls.tcp == nil {
			return
		}
		g := ls.tcp.pickGroup("")
		if g == nil || len(g.routable) == 0 {
			return
		}
		b := pickTCP(g, c, skip)
		if b == nil {
			time.Sleep(200 * time.Microsecond) // a newer snapshot is coming
			continue
		}
		tc, err := net.DialTimeout("tcp", b.addr, l.dialTimeout)
		if err != nil {
			b.release()
			skip = b
			if attempt >= 2 {
				return
			}
			continue
		}
		if conns.add(tc) { // closed with the client's when the listener stops for good
			pipe(c, tc)
			conns.remove(tc)
		}
		_ = tc.Close()
		b.release()
		return
	}
}

// pickTCP picks a target and counts the connection on it: by the client
// address's hash with source_ip stickiness, else by the group's algorithm.
func pickTCP(g *groupSnap, c net.Conn, skip *backend) *backend {
	if g.sticky == "source_ip" {
		h := fnv.New32a()
		h.Write([]byte(clientIP(c.RemoteAddr().String())))
		if b := g.routable[int(h.Sum32()%uint32(len(g.routable)))]; b != skip && b.acquire() {
			return b
		}
	}
	for range len(g.routable) {
		b := g.pick("", skip)
		if b == nil || b == skip {
			return nil
		}
		if b.acquire() {
			return b
		}
		skip = b
	}
	return nil
}

// pipe copies a→b and b→a and returns when both directions have ended.
// A direction that ends with its source's EOF is a half-close, passed on
// to the other side's write end; one that ends with an error (a reset, a
// failed write) closes both connections, since the other direction could
// otherwise wait forever on a peer that never closes.
func pipe(a, b net.Conn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := io.Copy(b, a)
		endCopy(b, a, err)
	}()
	_, err := io.Copy(a, b)
	endCopy(a, b, err)
	<-done
	_ = b.Close()
}

// endCopy ends the direction src→dst.
func endCopy(dst, src net.Conn, err error) {
	if err == nil {
		closeWrite(dst)
		return
	}
	_ = dst.Close()
	_ = src.Close()
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() == nil {
			return
		}
	}
	_ = c.Close()
}
