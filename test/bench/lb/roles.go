package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/quayside/quayside/internal/lb"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
	"github.com/quayside/quayside/internal/store/bolt"
)

// The driver runs itself as child processes in these roles, so that the
// backends, the load balancer under test and the load generator never
// share a Go runtime.

// body is what every backend answers: a small API-like response.
var body = []byte(`{"status":"ok","service":"bench","items":[1,2,3]}` + "\n")

// runBackends serves the backends on the given ports until SIGTERM.
func runBackends(ports []string) error {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hdr := w.Header()
		hdr["Content-Type"] = []string{"application/json"}
		_, _ = w.Write(body)
	})
	var srvs []*http.Server
	for _, p := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:"+p)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		srvs = append(srvs, srv)
		go func() { _ = srv.Serve(ln) }()
	}
	waitSignal()
	for _, s := range srvs {
		_ = s.Close()
	}
	return nil
}

// runLB runs Quayside's data plane on a store in dir with one application
// load balancer: an HTTP listener on port forwarding to one target group
// of the targets (round robin, HTTP health checks every 5 s).
func runLB(dir string, port int, targets []string, cpuprofile string) error {
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	st, err := bolt.Open(filepath.Join(dir, "state.db"), bolt.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	now := model.At(time.Now())
	_, err = st.Update(context.Background(), func(tx store.Tx) error {
		const lbID, lid, tgID = "00000000000000a1", "00000000000000b1", "00000000000000c1"
		put := func(k string, v any) error { return store.PutJSON(tx, k, v) }
		if err := put(store.LoadBalancerKey(lbID), &store.LoadBalancerRecord{
			Arn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/bench/" + lbID,
			ID:  lbID, Name: "bench", Type: store.LBTypeApplication, State: store.LBStateActive, CreatedTime: now,
		}); err != nil {
			return err
		}
		tgArn := "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/bench/" + tgID
		if err := put(store.TargetGroupKey(tgID), &store.TargetGroupRecord{
			Arn: tgArn, ID: tgID, Name: "bench", Protocol: store.ProtocolHTTP, Port: 80, TargetType: store.TargetTypeIP,
			HealthCheck: store.HealthCheck{Enabled: true, Protocol: store.ProtocolHTTP, Port: "traffic-port", Path: "/",
				IntervalSeconds: 5, TimeoutSeconds: 2, HealthyThreshold: 2, UnhealthyThreshold: 2, Matcher: "200"},
		}); err != nil {
			return err
		}
		for _, t := range targets {
			host, p, _ := net.SplitHostPort(t)
			n, _ := strconv.Atoi(p)
			if err := put(store.TargetKey(tgID, host, int32(n)), &store.TargetRecord{
				TargetGroupID: tgID, ID: host, Port: int32(n), RegisteredAt: now, State: store.TargetInitial,
			}); err != nil {
				return err
			}
		}
		return put(store.ListenerKey(lbID, lid), &store.ListenerRecord{
			Arn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/bench/" + lbID + "/" + lid,
			ID:  lid, LoadBalancerID: lbID, Port: int32(port), Protocol: store.ProtocolHTTP,
			DefaultActions: []store.Action{{Type: store.ActionForward, Forward: &store.ForwardConfig{
				TargetGroups: []store.WeightedTargetGroup{{Arn: tgArn, ID: tgID, Weight: 1}}}}},
		})
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := lb.New(lb.Deps{Store: st, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitSignal()
	cancel()
	return <-done
}

func waitSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	<-ch
}

// nginxConf proxies port to the backends with a keep-alive upstream pool
// and the same X-Forwarded-* headers the load balancer sets.
func nginxConf(dir string, port int, backends []string) string {
	var up strings.Builder
	for _, b := range backends {
		fmt.Fprintf(&up, "    server %s;\n", b)
	}
	return fmt.Sprintf(`worker_processes auto;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  keepalive_requests 1000000;
  upstream backends {
%[3]s    keepalive 512;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:%[2]d;
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Port $server_port;
    }
  }
}
`, dir, port, up.String())
}

// waitHTTP waits until url answers 200.
func waitHTTP(url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		resp, err := http.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer 200 within %v: %v", url, limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
