package model

import (
	"slices"
	"strconv"
)

// Resource names and types of container instance resources.
const (
	ResourceCPU      = "CPU"
	ResourceMemory   = "MEMORY"
	ResourcePorts    = "PORTS"
	ResourcePortsUDP = "PORTS_UDP"
	ResourceGPU      = "GPU"

	ResourceTypeInteger   = "INTEGER"
	ResourceTypeStringSet = "STRINGSET"
)

// DefaultReservedPorts are the TCP ports an ECS agent reserves on a node.
var DefaultReservedPorts = []string{"22", "2375", "2376", "51678", "51679"}

// ResourceInt returns the integer value of the named resource (0 if absent).
func ResourceInt(rs []Resource, name string) int64 {
	for _, r := range rs {
		if r.Name == name {
			switch {
			case r.IntegerValue != 0:
				return int64(r.IntegerValue)
			case r.LongValue != 0:
				return r.LongValue
			default:
				return int64(r.DoubleValue)
			}
		}
	}
	return 0
}

// ResourceSet returns the string-set value of the named resource.
func ResourceSet(rs []Resource, name string) []string {
	for _, r := range rs {
		if r.Name == name {
			return r.StringSetValue
		}
	}
	return nil
}

// IntResource builds an INTEGER resource.
func IntResource(name string, v int64) Resource {
	return Resource{Name: name, Type: ResourceTypeInteger, IntegerValue: int32(v), LongValue: 0, DoubleValue: 0}
}

// SetResource builds a STRINGSET resource, sorted numerically when the members
// are port numbers.
func SetResource(name string, v []string) Resource {
	out := slices.Clone(v)
	if out == nil {
		out = []string{}
	}
	slices.SortFunc(out, comparePorts)
	return Resource{Name: name, Type: ResourceTypeStringSet, StringSetValue: slices.Compact(out)}
}

// WithResource returns rs with the resource named r.Name replaced by r (or
// appended).
func WithResource(rs []Resource, r Resource) []Resource {
	out := slices.Clone(rs)
	for i := range out {
		if out[i].Name == r.Name {
			out[i] = r
			return out
		}
	}
	return append(out, r)
}

func comparePorts(a, b string) int {
	x, errA := strconv.Atoi(a)
	y, errB := strconv.Atoi(b)
	if errA != nil || errB != nil {
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	}
	return x - y
}
