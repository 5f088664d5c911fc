package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/quayside/quayside/internal/testimages"
)

const (
	swService = "quayside-bench-echo"
	// swPoll is how often the Swarm half asks the engine.
	swPoll = 10 * time.Millisecond
)

// swarmMarker records that a bench run initialised the swarm, so that a
// later run leaves a swarm an interrupted run left behind, and never one
// that was there before.
var swarmMarker = filepath.Join(os.TempDir(), "quayside-bench-swarm-initialised")

type swarmSys struct {
	dk      *client.Client
	imgs    testimages.Images
	o       options
	owned   bool // this run (or an interrupted earlier one) initialised the swarm
	service string
	rng     *rand.Rand
}

func newSwarm(dk *client.Client, imgs testimages.Images, o options) *swarmSys {
	return &swarmSys{dk: dk, imgs: imgs, o: o, rng: rand.New(rand.NewPCG(1, 2))}
}

func (s *swarmSys) name() string { return "swarm" }

// setup initialises a single-node swarm on loopback unless the engine is
// already in one, and removes a bench service an earlier run left.
func (s *swarmSys) setup(ctx context.Context) error {
	info, err := s.dk.Info(ctx, client.InfoOptions{})
	if err != nil {
		return err
	}
	_, markerErr := os.Stat(swarmMarker)
	switch state := info.Info.Swarm.LocalNodeState; state {
	case swarm.LocalNodeStateInactive:
		if err := os.WriteFile(swarmMarker, nil, 0o644); err != nil {
			return err
		}
		s.owned = true
		logf("swarm: docker swarm init --advertise-addr 127.0.0.1")
		if out, err := exec.CommandContext(ctx, "docker", "swarm", "init", "--advertise-addr", "127.0.0.1").CombinedOutput(); err != nil {
			return fmt.Errorf("docker swarm init: %v: %s", err, out)
		}
	case swarm.LocalNodeStateActive:
		s.owned = markerErr == nil
		logf("swarm: the engine is already in a swarm (left as it is at the end: %v)", !s.owned)
	default:
		return fmt.Errorf("the engine's swarm state is %q", state)
	}
	return s.removeService(ctx)
}

func (s *swarmSys) createAndWaitSteady(ctx context.Context) (time.Duration, error) {
	replicas := uint64(s.o.replicas)
	spec := swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: swService},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: s.imgs.Echo}},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
	}
	t0 := time.Now()
	out, err := s.dk.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec}) // as `docker service create --replicas N`, without the registry lookup of a local image
	if err != nil {
		return 0, fmt.Errorf("service create: %w", err)
	}
	s.service = out.ID
	if err := s.waitSteady(ctx); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// tasks returns the service's tasks that are desired running, and which of
// them are running.
func (s *swarmSys) tasks(ctx context.Context) (all []swarm.Task, running map[string]swarm.Task, err error) {
	f := client.Filters{}.Add("service", s.service).Add("desired-state", "running")
	out, err := s.dk.TaskList(ctx, client.TaskListOptions{Filters: f})
	if err != nil {
		return nil, nil, err
	}
	running = map[string]swarm.Task{}
	for _, t := range out.Items {
		if t.Status.State == swarm.TaskStateRunning {
			running[t.ID] = t
		}
	}
	return out.Items, running, nil
}

// waitSteady waits until the service has its replicas running (`docker
// service ls` showing 20/20).
func (s *swarmSys) waitSteady(ctx context.Context) error {
	var last string
	err := poll(ctx, s.o.waitLimit, swPoll, "swarm service converged", func(ctx context.Context) (bool, error) {
		all, running, err := s.tasks(ctx)
		last = fmt.Sprintf("%d/%d running, %d desired running", len(running), s.o.replicas, len(all))
		return err == nil && len(running) == s.o.replicas, err
	})
	if err != nil {
		return fmt.Errorf("%w (last seen: %s)", err, last)
	}
	return nil
}

func (s *swarmSys) killOne(ctx context.Context) (time.Duration, error) {
	_, before, err := s.tasks(ctx)
	if err != nil {
		return 0, err
	}
	var ids []string
	for id := range before {
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return 0, errors.New("no running task to kill")
	}
	victim := before[ids[s.rng.IntN(len(ids))]]
	if victim.Status.ContainerStatus == nil || victim.Status.ContainerStatus.ContainerID == "" {
		return 0, fmt.Errorf("task %s has no container", victim.ID)
	}
	t0 := time.Now()
	if _, err := s.dk.ContainerKill(ctx, victim.Status.ContainerStatus.ContainerID, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		return 0, fmt.Errorf("docker kill: %w", err)
	}
	var t1 time.Time
	err = poll(ctx, s.o.waitLimit, swPoll, "replacement running", func(ctx context.Context) (bool, error) {
		_, now, err := s.tasks(ctx)
		for id := range now {
			if _, ok := before[id]; !ok {
				t1 = time.Now()
				return true, nil
			}
		}
		return false, err
	})
	if err != nil {
		return 0, err
	}
	return t1.Sub(t0), nil
}

// cleanup removes the service, waits for its containers to go, and leaves
// the swarm if this run (or an interrupted earlier one) initialised it.
func (s *swarmSys) cleanup(bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.removeService(ctx); err != nil {
		logf("swarm: cleanup: %v", err)
	}
	if !s.owned {
		return
	}
	logf("swarm: docker swarm leave --force")
	if out, err := exec.CommandContext(ctx, "docker", "swarm", "leave", "--force").CombinedOutput(); err != nil {
		logf("swarm: docker swarm leave: %v: %s", err, strings.TrimSpace(string(out)))
		return
	}
	_ = os.Remove(swarmMarker)
}

// removeService removes the bench service if it exists and waits until its
// containers are gone.
func (s *swarmSys) removeService(ctx context.Context) error {
	list, err := s.dk.ServiceList(ctx, client.ServiceListOptions{Filters: client.Filters{}.Add("name", swService)})
	if err != nil {
		if cerrdefs.IsUnavailable(err) { // not a swarm manager: nothing to remove
			return nil
		}
		return err
	}
	for _, svc := range list.Items {
		if svc.Spec.Name != swService {
			continue
		}
		if _, err := s.dk.ServiceRemove(ctx, svc.ID, client.ServiceRemoveOptions{}); err != nil {
			return err
		}
		label := client.Filters{}.Add("label", "com.docker.swarm.service.id="+svc.ID)
		err := poll(ctx, 30*time.Second, 100*time.Millisecond, "swarm service containers removed", func(ctx context.Context) (bool, error) {
			out, err := s.dk.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: label})
			return err == nil && len(out.Items) == 0, err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
