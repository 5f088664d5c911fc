package testimages

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"

	"github.com/quayside/quayside/test/images"
)

// Tags of the images Ensure builds.
const (
	EchoTag  = "quayside-test/echo:latest"
	PauseTag = "quayside-test/pause:latest"
)

// LabelHash is the image label holding the hash of the image's source and
// architecture.
const LabelHash = "com.quayside.testimage.hash"

// Images names the local test images.
type Images struct {
	Echo  string // HTTP echo server, entrypoint /echo (see test/images/echo)
	Pause string // sleeps until signalled, entrypoint /pause
}

var (
	mu    sync.Mutex
	built = map[string]Images{}
)

// Ensure builds the test images on the engine at host ("" = DOCKER_HOST or
// the default socket) unless images with the same source hash exist, and
// returns their tags. Safe for concurrent use; builds at most once per host
// and process.
func Ensure(ctx context.Context, host string) (Images, error) {
	mu.Lock()
	defer mu.Unlock()
	if imgs, ok := built[host]; ok {
		return imgs, nil
	}
	cli, err := newClient(host)
	if err != nil {
		return Images{}, err
	}
	defer cli.Close()
	goarch, err := engineArch(ctx, cli)
	if err != nil {
		return Images{}, err
	}
	for _, name := range images.Names {
		if err := ensureOne(ctx, cli, name, goarch); err != nil {
			return Images{}, fmt.Errorf("test image %s: %w", name, err)
		}
	}
	imgs := Images{Echo: EchoTag, Pause: PauseTag}
	built[host] = imgs
	return imgs, nil
}

func newClient(host string) (*client.Client, error) {
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	return client.New(opts...)
}

// engineArch is the engine's architecture in GOARCH spelling.
func engineArch(ctx context.Context, cli *client.Client) (string, error) {
	info, err := cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return "", fmt.Errorf("docker info: %w", err)
	}
	switch a := info.Info.Architecture; a {
	case "x86_64", "amd64":
		return "amd64", nil
	case "aarch64", "arm64":
		return "arm64", nil
	default:
		return "", fmt.Errorf("unsupported engine architecture %q", a)
	}
}

func tagOf(name string) string { return "quayside-test/" + name + ":latest" }

func ensureOne(ctx context.Context, cli *client.Client, name, goarch string) error {
	hash, err := sourceHash(name, goarch)
	if err != nil {
		return err
	}
	img, err := cli.ImageInspect(ctx, tagOf(name))
	switch {
	case err == nil && img.Config != nil && img.Config.Labels[LabelHash] == hash:
		return nil
	case err != nil && !cerrdefs.IsNotFound(err):
		return err
	}
	bin, err := compile(ctx, name, goarch)
	if err != nil {
		return err
	}
	if err := buildImage(ctx, cli, name, hash, bin); err != nil {
		return err
	}
	if img.ID != "" { // drop the outdated build unless a container still uses it
		_, _ = cli.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{})
	}
	return nil
}

// sourceHash hashes the program's files and the target architecture.
func sourceHash(name, goarch string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", name, goarch)
	files, err := fs.Glob(images.Sources, name+"/*.go")
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	for _, f := range files {
		data, err := images.Sources.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// compile builds the program in a scratch module and returns the binary.
func compile(ctx context.Context, name, goarch string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "quayside-testimage-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := writeSources(dir, name); err != nil {
		return nil, err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("the go command is needed to build test images: %w", err)
	}
	out := filepath.Join(dir, "bin")
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch,
		"GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local", "GO111MODULE=on")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %w: %s", err, msg)
	}
	return os.ReadFile(out)
}

func writeSources(dir, name string) error {
	gomod := "module quayside-test/" + name + "\n\ngo 1.22\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	files, err := fs.Glob(images.Sources, name+"/*.go")
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := images.Sources.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, path.Base(f)), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// buildImage sends a FROM-scratch context holding the binary to the
// engine's build endpoint.
func buildImage(ctx context.Context, cli *client.Client, name, hash string, bin []byte) error {
	dockerfile := fmt.Sprintf("FROM scratch\nCOPY %s /%s\nENTRYPOINT [\"/%s\"]\n", name, name, name)
	buildCtx, err := tarOf(map[string][]byte{"Dockerfile": []byte(dockerfile), name: bin})
	if err != nil {
		return err
	}
	res, err := cli.ImageBuild(ctx, buildCtx, client.ImageBuildOptions{
		Tags:        []string{tagOf(name)},
		Labels:      map[string]string{LabelHash: hash},
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
	})
	if err != nil {
		return fmt.Errorf("docker build: %w", err)
	}
	defer res.Body.Close()
	return drainBuild(res.Body)
}

// drainBuild reads the build's JSON message stream and returns its error.
func drainBuild(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("docker build: %w", err)
		}
		if msg.Error != "" {
			return fmt.Errorf("docker build: %s", msg.Error)
		}
	}
}

func tarOf(files map[string][]byte) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		hdr := &tar.Header{Name: n, Mode: 0o755, Size: int64(len(files[n])), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(files[n]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}
