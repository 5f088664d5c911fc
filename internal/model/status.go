package model

// Task and container statuses in the ECS vocabulary. Observed status
// (lastStatus) only moves forward in this order; desiredStatus is RUNNING or
// STOPPED.
const (
	StatusProvisioning   = "PROVISIONING"
	StatusPending        = "PENDING"
	StatusActivating     = "ACTIVATING"
	StatusRunning        = "RUNNING"
	StatusDeactivating   = "DEACTIVATING"
	StatusStopping       = "STOPPING"
	StatusDeprovisioning = "DEPROVISIONING"
	StatusStopped        = "STOPPED"
	StatusDeleted        = "DELETED"
)

// Resource statuses shared by clusters, services, instances, definitions.
const (
	StatusActive   = "ACTIVE"
	StatusInactive = "INACTIVE"
	StatusDraining = "DRAINING"
)

var taskRank = map[string]int{
	StatusProvisioning: 1, StatusPending: 2, StatusActivating: 3, StatusRunning: 4,
	StatusDeactivating: 5, StatusStopping: 6, StatusDeprovisioning: 7, StatusStopped: 8, StatusDeleted: 9,
}

// TaskStatusRank orders task statuses; unknown statuses rank 0.
func TaskStatusRank(s string) int { return taskRank[s] }

// TaskStatusAdvances reports whether moving from `from` to `to` is a forward
// move (observed status never goes back).
func TaskStatusAdvances(from, to string) bool { return TaskStatusRank(to) > TaskStatusRank(from) }

// IsPendingStatus reports whether a task in lastStatus s counts as pending
// (it has been placed but is not running yet).
func IsPendingStatus(s string) bool {
	return s == StatusProvisioning || s == StatusPending || s == StatusActivating
}
