package fake

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
)

// eventBuffer is how many events a subscriber may lag behind before its
// stream ends with an error (the agent then re-lists and subscribes again,
// as after a lost Docker event stream).
const eventBuffer = 4096

type subscriber struct {
	ch    chan runtime.Event
	errc  chan error
	ended bool
}

// Events streams the changes of containers carrying runtime.LabelManaged
// until ctx ends.
func (r *Runtime) Events(ctx context.Context) (<-chan runtime.Event, <-chan error) {
	s := &subscriber{ch: make(chan runtime.Event, eventBuffer), errc: make(chan error, 1)}
	r.mu.Lock()
	r.subs[s] = struct{}{}
	r.mu.Unlock()
	context.AfterFunc(ctx, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.endSubscriber(s, nil)
	})
	return s.ch, s.errc
}

// endSubscriber ends a stream, with err if it did not end by its context.
// The caller holds r.mu.
func (r *Runtime) endSubscriber(s *subscriber, err error) {
	if s.ended {
		return
	}
	s.ended = true
	delete(r.subs, s)
	if err != nil {
		s.errc <- err
	}
	close(s.ch)
}

func (r *Runtime) emit(c *container, action string) {
	r.send(c, runtime.Event{ContainerID: c.id, Action: action})
}

func (r *Runtime) emitHealth(c *container, health string) {
	r.send(c, runtime.Event{ContainerID: c.id, Action: "health_status", Health: health})
}

// send delivers ev to every subscriber. The caller holds r.mu.
func (r *Runtime) send(c *container, ev runtime.Event) {
	if _, managed := c.spec.Labels[runtime.LabelManaged]; !managed {
		return
	}
	ev.Time = time.Now()
	for s := range r.subs {
		e := ev
		e.Labels = maps.Clone(c.spec.Labels)
		select {
		case s.ch <- e:
		default:
			r.endSubscriber(s, errors.New("fake: event subscriber fell behind"))
		}
	}
}
