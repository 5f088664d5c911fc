package agent

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
	"github.com/quayside/quayside/internal/agent/task"
	"github.com/quayside/quayside/internal/model"
)

// nameInUseWait bounds how long create waits for the holder of a taken
// container name to show up in the engine's list.
const nameInUseWait = 15 * time.Second

// exec carries out an engine action. An error means "try again later";
// failures that are the task's (a missing image, a container that cannot
// start) are recorded in the state instead.
func (r *runner) exec(ctx context.Context, act task.Action) error {
	switch act.Kind {
	case task.Pull:
		r.pull(act.Container)
	case task.CancelPulls:
		r.pullCancel()
		r.pullCtx, r.pullCancel = context.WithCancel(ctx)
	case task.Create:
		return r.create(ctx, act.Container)
	case task.Start:
		return r.start(ctx, act.Container)
	case task.Stop:
		r.stop(ctx, act.Container, act.Timeout)
	case task.Remove:
		return r.remove(ctx, act.Container)
	case task.CreateVolume:
		return r.createVolume(ctx, act.Volume)
	case task.RemoveVolume:
		r.removeVolume(ctx, act.Volume)
	}
	return nil
}

func (r *runner) image(name string) string {
	if name == task.PauseName {
		return r.t.Opts.PauseImage
	}
	return r.t.Container(name).Def.Image
}

// pull makes an image available in the background.
func (r *runner) pull(name string) {
	ctx, ref := r.pullCtx, r.image(name)
	r.inflight++
	r.bg.Go(func() {
		err := r.a.rt.EnsureImage(ctx, ref)
		abandoned := ctx.Err() != nil
		text := ""
		if err != nil {
			text = err.Error()
			var pe *runtime.PullError
			if errors.As(err, &pe) && pe.Err != nil {
				text = pe.Err.Error()
			}
		}
		r.post(func() {
			r.inflight--
			r.s.PullDone(name, text, abandoned)
		})
	})
}

func (r *runner) spec(name string) runtime.ContainerSpec {
	if name == task.PauseName {
		return r.t.PauseSpec()
	}
	ids := make(map[string]string, len(r.s.Containers))
	for n, cs := range r.s.Containers {
		ids[n] = cs.RuntimeID
	}
	return r.t.ContainerSpec(r.t.Container(name), ids)
}

// create creates a container. If the engine refuses, the container may
// exist already (a crash between creating it and recording it): it is
// adopted rather than created twice. A taken name whose holder is not
// listed yet is a create still under way in the engine (the agent was
// killed during it): the runner asks again until the holder shows up, for
// at most nameInUseWait.
func (r *runner) create(ctx context.Context, name string) error {
	id, err := r.a.rt.CreateContainer(ctx, r.spec(name))
	if err == nil {
		r.s.Created(name, id)
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if st, ok := r.find(ctx, name); ok {
		r.s.C(name).Observe(st)
		return nil
	}
	if errors.Is(err, runtime.ErrNameInUse) {
		now := r.a.now()
		if r.nameInUse == nil {
			r.nameInUse = map[string]time.Time{}
		}
		if _, ok := r.nameInUse[name]; !ok {
			r.nameInUse[name] = now
		}
		if now.Sub(r.nameInUse[name]) < nameInUseWait {
			return err
		}
	}
	r.s.CreateFailed(name, err.Error())
	return nil
}

// find looks for an existing container of the task by its name.
func (r *runner) find(ctx context.Context, name string) (runtime.ContainerStatus, bool) {
	list, err := r.a.rt.List(ctx, map[string]string{runtime.LabelManaged: "true", runtime.LabelTask: r.arn, runtime.LabelContainer: name})
	if err != nil || len(list) == 0 {
		return runtime.ContainerStatus{}, false
	}
	for _, st := range list {
		if st.Running {
			return st, true
		}
	}
	return list[0], true
}

func (r *runner) start(ctx context.Context, name string) error {
	cs := r.s.C(name)
	err := r.a.rt.StartContainer(ctx, cs.RuntimeID)
	switch {
	case errors.Is(err, runtime.ErrNotFound):
		cs.ObserveGone()
		return nil
	case err != nil && ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		r.s.StartFailed(name, err.Error())
	}
	r.inspect(ctx, name)
	return nil
}

// stop stops a container in the background (it may take the whole stop
// timeout).
func (r *runner) stop(ctx context.Context, name string, timeout time.Duration) {
	id := r.s.C(name).RuntimeID
	r.inflight++
	r.bg.Go(func() {
		err := r.a.rt.StopContainer(ctx, id, timeout)
		if err != nil && !errors.Is(err, runtime.ErrNotFound) {
			// The engine may be down: do not ask again at once.
			sleep(ctx, time.Second)
		}
		r.post(func() {
			r.inflight--
			r.s.StopDone(name)
			switch {
			case errors.Is(err, runtime.ErrNotFound):
				r.s.C(name).ObserveGone()
			case err != nil && ctx.Err() == nil:
				r.a.log.Warn("cannot stop a container", "task", r.arn, "container", name, "err", err)
			}
			r.inspect(ctx, name)
		})
	})
}

func (r *runner) remove(ctx context.Context, name string) error {
	cs := r.s.C(name)
	err := r.a.rt.RemoveContainer(ctx, cs.RuntimeID)
	if err == nil || errors.Is(err, runtime.ErrNotFound) {
		r.s.Removed(name)
		return nil
	}
	r.inspect(ctx, name)
	return err
}

func (r *runner) volumeSpec(name string) runtime.VolumeSpec {
	v := r.t.Volume(name)
	labels := maps.Clone(v.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[runtime.LabelManaged] = "true"
	labels[runtime.LabelCluster] = r.t.Opts.Cluster
	if v.Kind == task.VolumeTask {
		labels[runtime.LabelInstance] = r.t.Opts.Instance
		labels[runtime.LabelTask] = r.arn
	}
	return runtime.VolumeSpec{Name: v.Source, Driver: v.Driver, Options: v.Options, Labels: labels}
}

func (r *runner) createVolume(ctx context.Context, name string) error {
	err := r.a.rt.CreateVolume(ctx, r.volumeSpec(name))
	switch {
	case err == nil:
		r.s.VolumesCreated[name] = true
	case ctx.Err() != nil:
		return ctx.Err()
	default:
		r.s.Apply(task.Action{Kind: task.Fail, StopCode: model.TaskStopCodeTaskFailedToStart,
			Reason: task.PrefixInit + "failed to create volume " + name + ": " + err.Error()}, r.a.now())
	}
	return nil
}

// removeVolume removes a task volume; a failure is logged, not retried, so
// that a stuck volume cannot keep the task from STOPPED.
func (r *runner) removeVolume(ctx context.Context, name string) {
	if err := r.a.rt.RemoveVolume(ctx, r.t.Volume(name).Source); err != nil && ctx.Err() == nil {
		r.a.log.Warn("cannot remove a task volume", "task", r.arn, "volume", name, "err", err)
	}
	r.s.VolumesRemoved[name] = true
}
