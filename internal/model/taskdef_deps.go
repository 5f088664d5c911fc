package model

import "strings"

// checkDependencyConditions checks one container's dependsOn entries on
// their own: a container name and a known condition.
func checkDependencyConditions(c *ContainerDefinition, _ *taskCtx) error {
	for _, d := range c.DependsOn {
		if d.ContainerName == "" {
			return clientFail("Invalid 'dependsOn' setting for container '%s'. The containerName must be specified.", c.Name)
		}
		switch d.Condition {
		case ContainerConditionStart, ContainerConditionComplete, ContainerConditionSuccess, ContainerConditionHealthy:
		default:
			return clientFail("Invalid 'dependsOn' setting for container '%s'. Unknown condition '%s'; valid values are START, COMPLETE, SUCCESS and HEALTHY.", c.Name, d.Condition)
		}
	}
	return nil
}

// checkDependencies checks dependsOn across the task: the dependency must
// exist; COMPLETE and SUCCESS cannot wait on an essential container (it
// would stop the task when it exits); HEALTHY needs a health check on the
// dependency; and the graph has no cycle.
func checkDependencies(cs []ContainerDefinition, _ *taskCtx) error {
	for _, c := range cs {
		for _, d := range c.DependsOn {
			dep := findContainer(cs, d.ContainerName)
			if dep == nil {
				// ECS's own wording, stray "+" included.
				return clientFail("Cannot depend on container + '%s' because it does not exist", d.ContainerName)
			}
			switch d.Condition {
			case ContainerConditionComplete, ContainerConditionSuccess:
				if dep.Essential != nil && *dep.Essential {
					return clientFail("A dependency container with SUCCESS or COMPLETE condition cannot be an essential container")
				}
			case ContainerConditionHealthy:
				if dep.HealthCheck == nil {
					return clientFail("Container '%s' depends on container '%s' being HEALTHY, but '%s' has no health check.", c.Name, dep.Name, dep.Name)
				}
			}
		}
	}
	if cycle := dependencyCycle(cs); cycle != nil {
		return clientFail("Invalid 'dependsOn' setting. The container dependencies form a cycle: %s.", strings.Join(cycle, " -> "))
	}
	return nil
}

// dependencyCycle returns the containers of a dependsOn cycle (first one
// repeated at the end), or nil.
func dependencyCycle(cs []ContainerDefinition) []string {
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(name string) []string
	visit = func(name string) []string {
		switch state[name] {
		case onPath:
			for i, n := range path {
				if n == name {
					return append(append([]string{}, path[i:]...), name)
				}
			}
		case done:
			return nil
		}
		state[name] = onPath
		path = append(path, name)
		if c := findContainer(cs, name); c != nil {
			for _, d := range c.DependsOn {
				if cyc := visit(d.ContainerName); cyc != nil {
					return cyc
				}
			}
		}
		path = path[:len(path)-1]
		state[name] = done
		return nil
	}
	for _, c := range cs {
		if cyc := visit(c.Name); cyc != nil {
			return cyc
		}
	}
	return nil
}

// checkEssential: at least one container must be essential (the default).
func checkEssential(cs []ContainerDefinition, _ *taskCtx) error {
	for _, c := range cs {
		if c.Essential == nil || *c.Essential {
			return nil
		}
	}
	return clientFail("Task definition doesn't have any essential container.")
}
