package agentproto_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/agentproto"
)

func TestClientSendsTokenAndDecodes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != agentproto.PathRegister {
			t.Errorf("got %s %s", r.Method, r.URL.Path)
		}
		if got := r.Header.Get("Authorization"); got != "Bearer tok" {
			t.Errorf("Authorization = %q", got)
		}
		var req agentproto.RegisterRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Cluster != "c1" {
			t.Errorf("request %+v, %v", req, err)
		}
		json.NewEncoder(w).Encode(agentproto.RegisterResponse{ContainerInstanceArn: "arn:x", HeartbeatPeriod: 2 * time.Second})
	}))
	defer srv.Close()

	c := agentproto.NewClient(srv.URL+"/", "tok", nil)
	got, err := c.Register(context.Background(), &agentproto.RegisterRequest{Cluster: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if got.ContainerInstanceArn != "arn:x" || got.HeartbeatPeriod != 2*time.Second {
		t.Errorf("got %+v", got)
	}
}

func TestClientErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		wantCode string
	}{
		{"protocol error", 410, `{"code":"InstanceInactive","message":"gone"}`, agentproto.CodeInstanceInactive},
		{"unauthorized", 401, `{"code":"Unauthorized","message":"bad token"}`, agentproto.CodeUnauthorized},
		{"not json", 502, "bad gateway", "HTTP 502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			_, err := agentproto.NewClient(srv.URL, "t", nil).Heartbeat(context.Background(), &agentproto.HeartbeatRequest{})
			var pe *agentproto.Error
			if !errors.As(err, &pe) || pe.Code != tt.wantCode {
				t.Fatalf("err = %v, want code %q", err, tt.wantCode)
			}
		})
	}
}

func TestClientAssignmentsHonoursContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := agentproto.NewClient(srv.URL, "t", nil).Assignments(ctx, &agentproto.AssignmentsRequest{})
		errc <- err
	}()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		var pe *agentproto.Error
		if errors.As(err, &pe) {
			t.Fatalf("transport error decoded as protocol error %v", pe)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Assignments did not return after cancel")
	}
}
