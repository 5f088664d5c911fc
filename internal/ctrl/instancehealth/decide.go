package instancehealth

import "time"

// Instance is what Decide needs to know of a container instance.
type Instance struct {
	Cluster, ID string
	Connected   bool
	// Persisted is the heartbeat time stored with the instance (zero if
	// none); Seen is the latest time this process heard from the node (zero
	// if it has not).
	Persisted, Seen time.Time
}

// Decide returns the connected instances not heard from for longer than
// timeout at now. since is when this process started watching: a node is
// never judged silent for time it could not have been heard (after a
// restart every node gets a full timeout to check in again). An instance
// no agent has ever spoken for (registered through the ECS API by a script
// or test playing the agent) is left alone.
func Decide(ins []Instance, since, now time.Time, timeout time.Duration) []Instance {
	var out []Instance
	for _, in := range ins {
		if !in.Connected || in.Persisted.IsZero() && in.Seen.IsZero() {
			continue
		}
		last := latest(in.Persisted, in.Seen, since)
		if now.Sub(last) > timeout {
			out = append(out, in)
		}
	}
	return out
}

func latest(ts ...time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}
