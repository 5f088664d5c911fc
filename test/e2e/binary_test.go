package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// quaysideBinary builds cmd/quayside once per test run.
func quaysideBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "quayside-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "quayside")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/quayside/quayside/cmd/quayside").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a `quayside server` process.
type proc struct {
	t       *testing.T
	cmd     *exec.Cmd
	DataDir string
	Listen  string
	Log     string // the file holding the process's output
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer runs `quayside server` on dataDir, with flags added, and
// waits for /healthz.
func startServer(t *testing.T, dataDir, listen string, flags ...string) *proc {
	t.Helper()
	cmd := exec.Command(quaysideBinary(t), append([]string{"server", "--listen", listen, "--data-dir", dataDir}, flags...)...)
	logf, err := os.Create(filepath.Join(t.TempDir(), "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, DataDir: dataDir, Listen: listen, Log: logf.Name()}
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + listen + "/healthz")
		if err == nil {
			resp.Body.Close()
			return p
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, _ := os.ReadFile(logf.Name())
	t.Fatalf("server did not become healthy:\n%s", b)
	return nil
}

func (p *proc) URL() string { return "http://" + p.Listen }

// kill sends SIGKILL: no shutdown code runs.
func (p *proc) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		p.t.Fatalf("server exit: %v", err)
	}
}

// env is the environment a user exports to reach the server: the caller's
// own AWS settings are removed (not emptied: an empty AWS_PROFILE names a
// profile "" that does not exist).
func (p *proc) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(p.DataDir, "credentials"),
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_PAGER=",
	)
}

// ecsClient is an SDK client using the credentials file, as a user would.
func (p *proc) ecsClient(t *testing.T) *ecs.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithSharedCredentialsFiles([]string{filepath.Join(p.DataDir, "credentials")}),
		config.WithSharedConfigFiles([]string{}),
		config.WithRegion("us-east-1"),
		config.WithBaseEndpoint(p.URL()),
	)
	if err != nil {
		t.Fatal(err)
	}
	return ecs.NewFromConfig(cfg)
}

func readCredentialsKey(t *testing.T, dataDir string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(dataDir, "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && strings.TrimSpace(k) == "aws_access_key_id" {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("no access key in credentials file")
	return ""
}

// mustAWS(call(...))(t) returns the call's result or fails the test.
func mustAWS[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ecsContainer(name string, memory int32) []types.ContainerDefinition {
	return []types.ContainerDefinition{{Name: aws.String(name), Image: aws.String("quayside/echo:latest"), Memory: aws.Int32(memory)}}
}
