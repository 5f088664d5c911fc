package lb

import (
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/quayside/quayside/internal/store"
)

// serving is one open listening socket.
type serving struct {
	port     int32
	protocol string
	ln       net.Listener
	http     *h1server // HTTP listeners
	tcp      *tcpConns // TCP listeners
}

// syncListeners opens a socket for every listener of the snapshot and
// closes those no listener wants any more. A port that cannot be opened is
// retried every second.
func (l *LB) syncListeners(snap *snapshot) {
	for port, s := range l.serving {
		if ls := snap.listeners[port]; ls == nil || ls.protocol != s.protocol {
			l.stopServing(s, 30*time.Second)
			delete(l.serving, port)
		}
	}
	for port := range l.failedLn {
		if snap.listeners[port] == nil {
			delete(l.failedLn, port)
		}
	}
	for port, ls := range snap.listeners {
		if l.serving[port] != nil {
			continue
		}
		s, err := l.serve(ls)
		if err != nil {
			if l.failedLn[port] != err.Error() {
				l.deps.Logger.Error("lb: cannot listen", "listener", ls.arn, "port", port, "err", err)
			}
			l.failedLn[port] = err.Error()
			continue
		}
		delete(l.failedLn, port)
		l.serving[port] = s
	}
}

func (l *LB) serve(ls *listenerSnap) (*serving, error) {
	addr := net.JoinHostPort(l.deps.BindAddress, strconv.Itoa(int(ls.port)))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &serving{port: ls.port, protocol: ls.protocol, ln: ln}
	if ls.protocol == store.ProtocolTCP {
		s.tcp = &tcpConns{conns: map[net.Conn]struct{}{}}
		l.wg.Go(func() { l.serveTCP(s) })
		return s, nil
	}
	s.http = &h1server{l: l, ln: ln, port: ls.port, idle: ls.idle, conns: map[*h1conn]struct{}{}}
	if s.http.idle <= 0 {
		s.http.idle = 60 * time.Second
	}
	l.wg.Go(s.http.serve)
	return s, nil
}

// stopServing closes the socket at once (the port is free again) and lets
// requests in flight finish for up to grace.
func (l *LB) stopServing(s *serving, grace time.Duration) {
	if s.http != nil {
		done := s.http.shutdown()
		l.wg.Go(func() {
			t := time.NewTimer(grace)
			defer t.Stop()
			select {
			case <-done:
			case <-t.C:
				s.http.closeAll()
			}
		})
		return
	}
	_ = s.ln.Close()
	l.wg.Go(func() {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-s.tcp.idle():
		case <-t.C:
			s.tcp.closeAll()
		}
	})
}

// tcpConns tracks a TCP listener's client connections.
type tcpConns struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	empty  chan struct{}
}

func (t *tcpConns) add(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *tcpConns) remove(c net.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.conns, c)
	if len(t.conns) == 0 && t.empty != nil {
		close(t.empty)
		t.empty = nil
	}
}

// idle returns a channel closed once no connection is open; no new ones
// are accepted after it is called.
func (t *tcpConns) idle() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	ch := make(chan struct{})
	if len(t.conns) == 0 {
		close(ch)
	} else {
		t.empty = ch
	}
	return ch
}

func (t *tcpConns) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.conns {
		_ = c.Close()
	}
}
