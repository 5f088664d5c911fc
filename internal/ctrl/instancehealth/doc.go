// Package instancehealth marks container instances whose agent has gone
// silent agentConnected=false, as ECS does (the instance stays ACTIVE; the
// scheduler places nothing on a disconnected node). A node's next heartbeat
// or registration connects it again; that is the agent protocol's job.
// Instances registered through the ECS API that no agent ever spoke for
// are left alone.
//
// Decide is pure: given the instances, when each was last heard from and
// the time, it returns the ones to disconnect. Controller.Run applies it
// every period, writing the store only for those transitions.
//
// It imports internal/model and internal/store.
package instancehealth
