package server

import (
	"context"
	"net/netip"

	"github.com/quayside/quayside/internal/api/elbv2"
	"github.com/quayside/quayside/internal/lb"
)

// startLB runs the load balancer data plane: every listener of the ELBv2
// state listens on its port at cfg.LBBindAddress. It runs on every server
// (not only the leader), as each serves its own load balancer address.
func (s *Server) startLB() {
	if ip, err := netip.ParseAddr(s.cfg.LBBindAddress); s.cfg.LBDNSSuffix == "" && (err != nil || !ip.IsLoopback()) {
		s.cfg.Logger.Warn("load balancers' DNS names end in "+elbv2.DefaultDNSSuffix+", which resolves to the loopback address, "+
			"but their listeners bind another address: set a DNS suffix that resolves there (--lb-dns-suffix)",
			"lbBindAddress", s.cfg.LBBindAddress)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := lb.New(lb.Deps{Store: s.store, BindAddress: s.cfg.LBBindAddress, Now: s.cfg.Now, Logger: s.cfg.Logger})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Run(ctx)
	}()
	s.lb = d
	s.stopLB = func() { cancel(); <-done }
}

// LB is the load balancer data plane, for tests that wait on its routing
// revision.
func (s *Server) LB() *lb.LB { return s.lb }
