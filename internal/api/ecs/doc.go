// Package ecs serves the Amazon ECS API (AWS JSON 1.1, target prefix
// AmazonEC2ContainerServiceV20141113) over the store: each operation
// validates its input, reads and writes records in one store transaction and
// answers with the ECS wire shapes of internal/model. It holds no state of
// its own (the placement engine's views are caches of the store);
// controllers and agents meet it only through the store.
//
// Files are grouped by resource: clusters.go, taskdefs.go, instances.go,
// attributes.go, tasks.go, placement.go, services.go, tags.go, settings.go.
//
// RunTask and StartTask place tasks through internal/placement (the
// scheduler is internal/sched); ListContainerInstances filters with
// internal/sched/cql.
//
// It imports internal/api/awsproto, internal/model, internal/store,
// internal/sched, internal/placement, internal/arn and internal/errs.
package ecs
