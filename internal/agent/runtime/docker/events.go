package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/quayside/quayside/internal/agent/runtime"
)

// forwarded lists the container actions Events passes on; the rest (exec_*
// from health checks, attach, resize, ...) are noise to the agent.
var forwarded = map[string]bool{
	"create": true, "start": true, "restart": true, "stop": true, "kill": true,
	"die": true, "oom": true, "destroy": true, "pause": true, "unpause": true,
	"rename": true, "update": true, "health_status": true,
}

// attributes the engine adds to an event's labels, which are not labels.
var notLabels = map[string]bool{"image": true, "name": true, "exitCode": true, "signal": true}

// Events streams changes of containers labelled LabelManaged=true until ctx
// ends. When the engine's stream breaks (daemon stopped or restarted), the
// error channel yields one error and both channels close; when ctx ends they
// close without an error.
func (r *Runtime) Events(ctx context.Context) (<-chan runtime.Event, <-chan error) {
	out := make(chan runtime.Event, 64)
	errc := make(chan error, 1)
	f := client.Filters{}
	f.Add("type", string(events.ContainerEventType))
	f.Add("label", runtime.LabelManaged+"=true")
	ctx, cancel := context.WithCancel(ctx)
	res := r.cli.Events(ctx, client.EventsListOptions{Filters: f})
	go func() {
		defer cancel()
		defer close(errc)
		defer close(out)
		if err := relay(ctx, res, out); err != nil && ctx.Err() == nil {
			errc <- err
		}
	}()
	return out, errc
}

// relay copies engine messages to out until the stream or ctx ends.
func relay(ctx context.Context, res client.EventsResult, out chan<- runtime.Event) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-res.Err:
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("docker events: %w", err)
		case m := <-res.Messages:
			ev, ok := eventOf(m)
			if !ok {
				continue
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// eventOf converts an engine message; ok is false for ignored actions.
func eventOf(m events.Message) (runtime.Event, bool) {
	action, health, _ := strings.Cut(string(m.Action), ":")
	if m.Type != events.ContainerEventType || !forwarded[action] {
		return runtime.Event{}, false
	}
	ev := runtime.Event{
		ContainerID: m.Actor.ID,
		Action:      action,
		Health:      strings.TrimSpace(health),
		Labels:      map[string]string{},
		Time:        eventTime(m),
	}
	for k, v := range m.Actor.Attributes {
		if !notLabels[k] {
			ev.Labels[k] = v
		}
	}
	return ev, true
}

func eventTime(m events.Message) time.Time {
	if m.TimeNano != 0 {
		return time.Unix(0, m.TimeNano)
	}
	return time.Unix(m.Time, 0)
}
