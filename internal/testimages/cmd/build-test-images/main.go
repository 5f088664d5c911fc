// Command build-test-images builds the local test images (see
// internal/testimages) on the Docker engine and prints their tags, one per
// line:
//
//	go run ./internal/testimages/cmd/build-test-images [-host unix:///var/run/docker.sock]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/quayside/quayside/internal/testimages"
)

func main() {
	host := flag.String("host", "", "Docker engine address (default: DOCKER_HOST or the local socket)")
	timeout := flag.Duration("timeout", 5*time.Minute, "give up after this long")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	imgs, err := testimages.Ensure(ctx, *host)
	if err != nil {
		fmt.Fprintln(os.Stderr, "build-test-images:", err)
		os.Exit(1)
	}
	fmt.Println(imgs.Echo)
	fmt.Println(imgs.Pause)
}
