package testimages

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

func TestSourceHash(t *testing.T) {
	a, err := sourceHash("echo", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := sourceHash("echo", "amd64")
	c, _ := sourceHash("echo", "arm64")
	d, _ := sourceHash("pause", "amd64")
	if a != b || a == c || a == d || len(a) != 32 {
		t.Errorf("hashes %s %s %s %s: want stable and distinct per program and architecture", a, b, c, d)
	}
}

// Ensure builds (or finds) the images; a second call reuses them.
func TestEnsure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli, err := newClient("")
	if err == nil {
		_, err = cli.Ping(ctx, client.PingOptions{})
		cli.Close()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Docker is required under CI=true: %v", err)
		}
		t.Skipf("no Docker engine: %v", err)
	}
	imgs, err := Ensure(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if imgs.Echo != EchoTag || imgs.Pause != PauseTag {
		t.Errorf("Ensure = %+v", imgs)
	}
	before := imageID(ctx, t, EchoTag)
	// Forget the in-process memo: the label check alone must find them.
	mu.Lock()
	delete(built, "")
	mu.Unlock()
	if _, err := Ensure(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if after := imageID(ctx, t, EchoTag); after != before {
		t.Errorf("echo image rebuilt (%s → %s) though its source did not change", before, after)
	}
}

func imageID(ctx context.Context, t *testing.T, ref string) string {
	cli, err := newClient("")
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	img, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	return img.ID
}
