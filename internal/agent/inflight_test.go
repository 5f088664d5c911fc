package agent_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
)

// inflightCreate plays an engine that is still creating a container for an
// agent killed during the call: the first create of the runtime makes the
// container but keeps it out of List for a while (Docker reserves the name
// before the container exists), then refuses the new agent's create of the
// same name.
type inflightCreate struct {
	runtime.Runtime
	mu     sync.Mutex
	done   bool
	hidden string    // the container still being created
	until  time.Time // when List shows it
}

func (r *inflightCreate) CreateContainer(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	r.mu.Lock()
	first := !r.done
	r.done = true
	r.mu.Unlock()
	if !first {
		return r.Runtime.CreateContainer(ctx, spec)
	}
	id, err := r.Runtime.CreateContainer(ctx, spec)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.hidden, r.until = id, time.Now().Add(500*time.Millisecond)
	r.mu.Unlock()
	return r.Runtime.CreateContainer(ctx, spec)
}

func (r *inflightCreate) List(ctx context.Context, labels map[string]string) ([]runtime.ContainerStatus, error) {
	cs, err := r.Runtime.List(ctx, labels)
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Now().Before(r.until) {
		cs = slices.DeleteFunc(cs, func(c runtime.ContainerStatus) bool { return c.ID == r.hidden })
	}
	return cs, err
}

// TestTakenNameOfAnUnfinishedCreateIsAdopted: a name taken by a create the
// engine has not finished is waited for and adopted, not a failed task.
func TestTakenNameOfAnUnfinishedCreateIsAdopted(t *testing.T) {
	e := newEnv(t)
	e.eng = &inflightCreate{Runtime: e.rt}
	e.start()
	e.instance()
	arn := e.run(e.register("inflight", container("app")))
	e.waitRunning(arn)
	if cs := e.containers(arn); len(cs) != 1 || !cs[0].Running {
		t.Fatalf("engine containers of the task: %+v", cs)
	}
}
