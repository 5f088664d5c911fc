package lb

import (
	"errors"
	"hash/fnv"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// serveTCP accepts a TCP listener's connections until its socket closes.
func (l *LB) serveTCP(s *serving) {
	acceptLoop(s.ln, func(c net.Conn) {
		if !s.tcp.add(c) {
			_ = c.Close()
			return
		}
		l.wg.Go(func() {
			defer s.tcp.remove(c)
			defer c.Close()
			l.proxyTCP(c, s.port, s.tcp)
		})
	})
}

// acceptLoop hands each connection ln accepts to handle until ln closes.
// A temporary failure (out of file descriptors) is waited out with a
// growing pause, as net/http's Server does, instead of ending the loop.
func acceptLoop(ln net.Listener, handle func(net.Conn)) {
	var delay time.Duration
	for {
		c, err := ln.Accept()
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
		handle(c)
	}
}

// targetDialTimeout bounds the connection to a target: ALB's connection
// timeout (10 s; a 504 when it expires), NLB's alike.
const targetDialTimeout = 10 * time.Second

// tcpIdleTimeout closes a TCP flow that carried no data either way for
// that long: NLB's default for TCP listeners, for a listener whose record
// has no tcp.idle_timeout.seconds.
const tcpIdleTimeout = 350 * time.Second

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
			pipe(c, tc, ls.tcpIdle)
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
// failed write, idle longer than idle when that is not 0) closes both
// connections, since the other direction could otherwise wait forever on
// a peer that never closes.
func pipe(a, b net.Conn, idle time.Duration) {
	f := &flow{idle: idle}
	done := make(chan struct{})
	go func() {
		defer close(done)
		endCopy(b, a, f.copy(b, a, 0))
	}()
	endCopy(a, b, f.copy(a, b, 1))
	<-done
	_ = b.Close()
}

// flow is a piped connection's idle clock: it ends once neither direction
// moved data for idle. Each direction reads (and writes) with a deadline
// and notes when it last moved data, both lazily (deadline.next: at most
// about once a second), so moving data costs no extra syscalls; a
// direction whose deadline passes goes on when the other one moved data
// meanwhile.
type flow struct {
	idle  time.Duration
	moved [2]atomic.Int64 // per direction, when it last moved data (unix ns)
}

var errIdle = errors.New("lb: connection idle")

var pipeBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copy copies src to dst until src ends (nil), either fails, or the flow
// is idle (errIdle); dir names the direction's clock.
func (f *flow) copy(dst, src net.Conn, dir int) error {
	if f.idle <= 0 {
		_, err := io.Copy(dst, src)
		return err
	}
	bp := pipeBufs.Get().(*[]byte)
	defer pipeBufs.Put(bp)
	var dl deadline
	f.moving(&dl, dst, src, dir)
	for {
		n, err := src.Read(*bp)
		if n > 0 {
			f.moving(&dl, dst, src, dir)
			if err := f.write(&dl, dst, src, (*bp)[:n]); err != nil {
				return err
			}
		}
		switch {
		case err == io.EOF:
			return nil
		case err != nil && isTimeout(err):
			if !f.extend(&dl, dst, src) {
				return errIdle
			}
		case err != nil:
			return err
		}
	}
}

func (f *flow) write(dl *deadline, dst, src net.Conn, p []byte) error {
	for {
		n, err := dst.Write(p)
		if err == nil {
			return nil
		}
		p = p[n:]
		if !isTimeout(err) {
			return err
		}
		if !f.extend(dl, dst, src) {
			return errIdle
		}
	}
}

// moving notes that the direction moves data: its deadlines move to idle
// from now when they are due.
func (f *flow) moving(dl *deadline, dst, src net.Conn, dir int) {
	if at, ok := dl.next(f.idle); ok {
		_ = src.SetReadDeadline(at)
		_ = dst.SetWriteDeadline(at)
		f.moved[dir].Store(at.Add(-f.idle).UnixNano())
	}
}

// extend reports whether a direction whose deadline passed may go on:
// the flow moved data within idle. Its deadlines then move to idle after
// that.
func (f *flow) extend(dl *deadline, dst, src net.Conn) bool {
	at := time.Unix(0, max(f.moved[0].Load(), f.moved[1].Load())).Add(f.idle)
	if !time.Now().Before(at) {
		return false
	}
	dl.at = at
	_ = src.SetReadDeadline(at)
	_ = dst.SetWriteDeadline(at)
	return true
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
