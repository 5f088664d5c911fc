package docker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/quayside/quayside/internal/agent/runtime"
)

// pull is one in-flight EnsureImage shared by every caller for its reference.
type pull struct {
	done chan struct{}
	err  error
}

// errStalled and errPullTimeout are the causes of an aborted pull.
var (
	errStalled     = errors.New("no progress from the engine")
	errPullTimeout = errors.New("pull took too long")
)

// EnsureImage makes ref available locally. Present images are used as they
// are; absent ones are pulled once however many callers ask at the same
// time. A caller whose ctx ends stops waiting but does not cancel the pull
// for the others. A failed pull returns a *runtime.PullError.
func (r *Runtime) EnsureImage(ctx context.Context, ref string) error {
	r.mu.Lock()
	p, ok := r.pulls[ref]
	if !ok {
		p = &pull{done: make(chan struct{})}
		r.pulls[ref] = p
		go r.ensure(context.WithoutCancel(ctx), ref, p)
	}
	r.mu.Unlock()
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ensure runs the shared work for ref and publishes its result.
func (r *Runtime) ensure(ctx context.Context, ref string, p *pull) {
	p.err = r.inspectOrPull(ctx, ref)
	r.mu.Lock()
	delete(r.pulls, ref)
	r.mu.Unlock()
	close(p.done)
}

func (r *Runtime) inspectOrPull(ctx context.Context, ref string) error {
	_, err := r.cli.ImageInspect(ctx, ref)
	if err == nil {
		return nil
	}
	if !isNotFound(err) {
		return fmt.Errorf("inspect image %s: %w", ref, err)
	}
	start := time.Now()
	if err := r.pull(ctx, ref); err != nil {
		r.log.Warn("image pull failed", "image", ref, "elapsed", time.Since(start), "err", err)
		return &runtime.PullError{Image: ref, Err: err}
	}
	r.log.Debug("image pulled", "image", ref, "elapsed", time.Since(start))
	return nil
}

// pull pulls ref, aborting after PullTimeout in total or PullStallTimeout
// without a progress message from the engine.
func (r *Runtime) pull(ctx context.Context, ref string) error {
	ctx, cancel := context.WithTimeoutCause(ctx, r.opts.PullTimeout, errPullTimeout)
	defer cancel()
	ctx, stall := context.WithCancelCause(ctx)
	defer stall(nil)
	watchdog := time.AfterFunc(r.opts.PullStallTimeout, func() { stall(errStalled) })
	defer watchdog.Stop()

	resp, err := r.cli.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		return r.pullErr(ctx, err)
	}
	defer resp.Close()
	for msg, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return r.pullErr(ctx, err)
		}
		if msg.Error != nil {
			return errors.New(msg.Error.Message)
		}
		watchdog.Reset(r.opts.PullStallTimeout)
	}
	return r.pullErr(ctx, nil)
}

// pullErr explains an aborted pull by its cause rather than "context
// canceled", and drops the client's "Error response from daemon" prefix.
func (r *Runtime) pullErr(ctx context.Context, err error) error {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errStalled):
		return fmt.Errorf("%w for %s", cause, r.opts.PullStallTimeout)
	case errors.Is(cause, errPullTimeout):
		return fmt.Errorf("%w (over %s)", cause, r.opts.PullTimeout)
	case err != nil:
		return errors.New(strings.TrimPrefix(err.Error(), "Error response from daemon: "))
	}
	return nil
}
