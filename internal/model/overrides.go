package model

import "slices"

// ApplyContainerOverride returns cd as a RunTask/StartTask container
// override changes it: command and resource requirements replace, the
// environment merges by name (the override wins), cpu, memory and
// memoryReservation replace when given. A nil override or one for another
// container leaves cd as it is. The control plane uses it to account
// resources and the agent to run the container, so both see one definition.
func ApplyContainerOverride(cd ContainerDefinition, o *ContainerOverride) ContainerDefinition {
	if o == nil || o.Name != cd.Name {
		return cd
	}
	if len(o.Command) > 0 {
		cd.Command = slices.Clone(o.Command)
	}
	cd.Environment = mergeEnvironment(cd.Environment, o.Environment)
	if o.Cpu != nil {
		cd.Cpu = *o.Cpu
	}
	if o.Memory != nil {
		cd.Memory = o.Memory
	}
	if o.MemoryReservation != nil {
		cd.MemoryReservation = o.MemoryReservation
	}
	if o.ResourceRequirements != nil {
		cd.ResourceRequirements = slices.Clone(o.ResourceRequirements)
	}
	return cd
}

func mergeEnvironment(base, over []KeyValuePair) []KeyValuePair {
	out := slices.Clone(base)
	for _, kv := range over {
		i := slices.IndexFunc(out, func(b KeyValuePair) bool { return b.Name == kv.Name })
		if i >= 0 {
			out[i] = kv
		} else {
			out = append(out, kv)
		}
	}
	return out
}
