package lb

import (
	"bufio"
	"net"
	"sync"
	"syscall"
	"time"
)

// Target connection pool limits.
const (
	maxIdlePerTarget = 1024
	idleConnTimeout  = 55 * time.Second
	// probeAfter: a pooled connection idle longer than this is checked
	// (a non-blocking peek) before it is reused, so one the target closed
	// meanwhile (a server's keep-alive timeout) is not used.
	probeAfter = time.Second
)

// bconn is a keep-alive connection to a target.
type bconn struct {
	c      net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	idleAt time.Time
	dl     deadline
}

func (bc *bconn) close() { _ = bc.c.Close() }

// alive reports whether the target has not closed the idle connection
// (nor sent anything on it).
func (bc *bconn) alive() bool {
	sc, ok := bc.c.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := true
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		alive = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true
	})
	return alive && err == nil
}

// connPool keeps a target's idle connections, most recently used first.
type connPool struct {
	mu     sync.Mutex
	idle   []*bconn
	closed bool
}

// getConn returns an idle connection (reused true) or dials a new one,
// waiting at most dial for it.
func (b *backend) getConn(fresh bool, dial time.Duration) (bc *bconn, reused bool, err error) {
	for !fresh {
		p := &b.pool
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			break
		}
		bc = p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if idle := time.Since(bc.idleAt); idle > idleConnTimeout || idle > probeAfter && !bc.alive() {
			bc.close()
			continue
		}
		return bc, true, nil
	}
	c, err := net.DialTimeout("tcp", b.addr, dial)
	if err != nil {
		return nil, false, err
	}
	return &bconn{c: c, br: bufio.NewReaderSize(c, 16<<10), bw: bufio.NewWriterSize(c, 16<<10)}, false, nil
}

// putConn keeps a connection whose last exchange ended cleanly.
func (b *backend) putConn(bc *bconn) {
	bc.idleAt = time.Now()
	p := &b.pool
	p.mu.Lock()
	if p.closed || len(p.idle) >= maxIdlePerTarget {
		p.mu.Unlock()
		bc.close()
		return
	}
	p.idle = append(p.idle, bc)
	p.mu.Unlock()
}

// closeIdle closes the idle connections (the target drained).
func (p *connPool) closeIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, bc := range idle {
		bc.close()
	}
}

func (p *connPool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.closeIdle()
}

// sweep closes connections idle longer than idleConnTimeout.
func (p *connPool) sweep(now time.Time) {
	p.mu.Lock()
	var old []*bconn
	keep := p.idle[:0]
	for _, bc := range p.idle {
		if now.Sub(bc.idleAt) > idleConnTimeout {
			old = append(old, bc)
		} else {
			keep = append(keep, bc)
		}
	}
	clear(p.idle[len(keep):])
	p.idle = keep
	p.mu.Unlock()
	for _, bc := range old {
		bc.close()
	}
}

// deadline refreshes a connection's deadline lazily: at most about once a
// second, since moving a deadline costs timer work on every request.
type deadline struct{ at time.Time }

func (d *deadline) touch(c net.Conn, idle time.Duration) {
	if at, ok := d.next(idle); ok {
		_ = c.SetDeadline(at)
	}
}

// next moves the deadline to idle from now when it is less than idle
// minus the slack away, and reports whether it moved.
func (d *deadline) next(idle time.Duration) (time.Time, bool) {
	now := time.Now()
	slack := min(time.Second, idle/2)
	if d.at.Sub(now) < idle-slack {
		d.at = now.Add(idle)
		return d.at, true
	}
	return d.at, false
}
