// Package service is the ECS service scheduler: for each service it keeps
// the tasks the service asks for running, rolls deployments, and reports
// what it does as ECS does (deployments, counts, events).
//
// What it does (facts §3.2, §4.3, §4.4, §4.5, §5.8):
//
//   - REPLICA: desiredCount tasks of the PRIMARY deployment, placed with
//     the service's strategies and constraints (default: spread across
//     availability zones, then instances). A task that stops is replaced
//     at once; only tasks that keep stopping before they reach RUNNING
//     slow launches down (the ECS throttle: 5 s after the third in a row,
//     doubling up to 15 min, reset by a task that runs, a new deployment
//     or an UpdateService).
//   - DAEMON: one task on every ACTIVE, connected instance that meets the
//     constraints; desiredCount is the number of those instances.
//   - Deployments: a new PRIMARY (UpdateService, or a circuit breaker
//     rollback) replaces the older ones within minimumHealthyPercent (a
//     healthy task is stopped only while that many stay healthy) and
//     maximumPercent (live tasks, those asked to stop included until they
//     have stopped, never exceed it). A deployment with no task left
//     leaves the list; the PRIMARY's rollout is COMPLETED once it alone
//     runs its desired count of tasks that have run healthy for
//     Deps.SuccessAfter. The circuit breaker counts a deployment's
//     consecutive failed tasks (stopped before running SuccessAfter, or
//     for failing health checks) and at ceil(desired/2) within [3, 200]
//     marks it FAILED and, with rollback, starts a deployment of the last
//     COMPLETED one.
//   - Health: a task is healthy when RUNNING and, if an essential
//     container has a health check, HEALTHY. Without health checks ECS
//     waits 40 s; Quayside counts it healthy once RUNNING past the
//     service's healthCheckGracePeriodSeconds, so rollouts do not wait for
//     nothing. Tasks failing their health checks past the grace period are
//     stopped and replaced.
//   - Load balancers (lb.go): a service's loadBalancers register each
//     RUNNING task with its target groups (instance targets: the EC2
//     instance ID and the host port bound to the container port; ip
//     targets: the task's private IP and the container port), and the
//     task's record lists them. Behind a load balancer a task is healthy
//     only once its targets are; a target unhealthy past the grace period
//     has the task replaced ("Task failed ELB health checks in
//     (target-group <arn>)"). A task the scheduler stops has its targets
//     deregistered first and is asked to stop once they have drained (the
//     data plane finishes the requests in flight, for at most the group's
//     deregistration delay), so a rolling deployment loses no request; a
//     task that stops on its own, or whose instance is lost, has them
//     deregistered at once.
//   - DRAINING instances take no new task (placement sees only ACTIVE
//     ones); a service task not yet RUNNING there is stopped at once, a
//     RUNNING one is replaced within the bounds above. Standalone tasks
//     are left alone.
//   - Lost instances: once an instance's agent has been disconnected for
//     Deps.LostAfter, its service tasks are asked to stop and replaced
//     elsewhere. They keep counting toward maximumPercent until they are
//     known to have stopped: when the node comes back its agent stops
//     them, and the service never ran more than maximumPercent.
//   - DeleteService: a DRAINING service has all its tasks stopped and
//     becomes INACTIVE once they are all STOPPING or STOPPED.
//   - Events: newest first, at most 100, worded as ECS words them. A
//     message is not said again while nothing has been started, stopped
//     or completed since, for up to 6 hours: "has reached a steady state."
//     comes when the service becomes steady and every 6 hours while it
//     stays so; "was unable to place a task ..." once per shortage.
//
// How: a key per service ("cluster/name", Key). Reconcile reads the
// service, its tasks and their instances (all of the cluster's for
// DAEMON), and its target groups and their targets, in one read
// transaction, and calls Decide, a pure function of
// what it read and the time, which returns a Plan: tasks to launch (one
// deployment's, a count or an instance list), tasks to stop with the
// reason, the service record as it should be, events, and when to look
// again. The plan is applied in one transaction: the placement's
// (internal/placement, with the service's strategies, constraints and the
// group "service:<name>", startedBy the deployment id), whose first step
// checks that the service record is unchanged (else the key is decided
// again), asks the tasks to stop and registers, deregisters and drains
// targets, and whose last stores the service with events naming the
// tasks actually started and stopped. Watches of the services, tasks
// (waking the task's service), instances (waking the services of the
// cluster) and targets (waking the services registering with the group)
// feed the queue, with a periodic resync.
//
// Layout of the files:
//
//	decide.go      Input, Plan, Decide
//	view.go        one decision: classifying tasks and nodes
//	replica.go     REPLICA
//	daemon.go      DAEMON
//	failures.go    failed and successful runs, throttle, circuit breaker
//	settle.go      deployments, counts, completion, steady state
//	lb.go          load balancing: health gating, draining, registering
//	events.go      the ECS wording of service events
//	controller.go  Deps, New, Reconcile
//	observe.go     reading a service and what it runs
//	apply.go       applying a plan
//	lbobserve.go   reading the target groups, working out a task's targets
//	lbapply.go     registering, deregistering and draining targets
//	launch.go      building a deployment's tasks
//	registry.go    what the watches remember (targets wake the services
//	               registering with their group)
//
// It imports internal/ctrl, internal/placement, internal/sched,
// internal/store, internal/model and internal/arn.
package service
