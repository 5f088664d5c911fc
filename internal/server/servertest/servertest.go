// Package servertest starts a real control plane on a loopback port for
// tests, with aws-sdk-go-v2 clients configured against it (real HTTP, real
// SigV4 signing), and can restart it on the same data directory.
package servertest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/quayside/quayside/internal/server"
)

// Harness is a control plane under test.
type Harness struct {
	t      testing.TB
	Dir    string
	Config server.Config
	Server *server.Server
	AWS    aws.Config
	ECS    *ecs.Client
}

// Start runs a server in a temporary directory, after applying opts to its
// configuration. The server is closed when the test ends.
func Start(t testing.TB, opts ...func(*server.Config)) *Harness {
	t.Helper()
	cfg := server.Config{
		Listen:  "127.0.0.1:0",
		DataDir: t.TempDir(),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, o := range opts {
		o(&cfg)
	}
	h := &Harness{t: t, Dir: cfg.DataDir, Config: cfg}
	h.start()
	t.Cleanup(h.stop)
	return h
}

func (h *Harness) start() {
	h.t.Helper()
	s, err := server.Start(h.Config)
	if err != nil {
		h.t.Fatalf("start server: %v", err)
	}
	h.Server = s
	// Later starts reuse the port so clients made earlier keep working.
	h.Config.Listen = s.URL()[len("http://"):]
	c := s.Credentials()
	h.AWS = aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, ""),
		BaseEndpoint: aws.String(s.URL()),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
		HTTPClient:   &http.Client{Transport: sdkRaceTransport{http.DefaultTransport}},
	}
	h.ECS = ecs.NewFromConfig(h.AWS)
}

func (h *Harness) stop() {
	if h.Server == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Server.Close(ctx); err != nil {
		h.t.Errorf("close server: %v", err)
	}
	h.Server = nil
}

// sdkRaceTransport works around a client-side race in smithy-go: the SDK
// closes a request body as soon as the response headers arrive, and its
// body's WriteTo then returns io.EOF as an error. When net/http's write loop
// makes its final read of a body larger than its 4 KiB buffer after that
// (the server answered first, which on loopback it can), it takes the EOF
// for a write error and closes the connection under the response being
// read: "deserialization failed, ... use of closed network connection".
// Hiding WriteTo makes that last read an ordinary EOF. Real AWS is far
// enough away that clients never see this.
type sdkRaceTransport struct{ rt http.RoundTripper }

func (t sdkRaceTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = plainBody{r.Body}
	}
	return t.rt.RoundTrip(r)
}

type plainBody struct{ io.ReadCloser }

// Restart stops the server and starts it again on the same data directory
// and port.
func (h *Harness) Restart() {
	h.t.Helper()
	h.stop()
	h.start()
}

// Ctx returns a context that ends with the test.
func (h *Harness) Ctx() context.Context { return h.t.Context() }
