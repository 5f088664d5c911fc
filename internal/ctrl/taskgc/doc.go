// Package taskgc keeps what ECS keeps, for as long as ECS keeps it, and
// removes the rest:
//
//   - a STOPPED task stays describable for at least the retention period
//     (ECS: "at least 1 hour"; Config.Retention, default one hour) after
//     its stoppedAt, then its record is deleted (store.DeleteTask, which
//     leaves every counter as it is);
//   - an INACTIVE service stays describable for the retention period after
//     it was first seen INACTIVE (ECS documents no period, only that
//     INACTIVE services "may be cleaned up and purged"; an hour is what it
//     documents for deregistered container instances), then its record is
//     deleted and DescribeServices reports it MISSING;
//   - a service keeps its latest 100 events, newest first;
//   - a task definition revision is kept indefinitely, ACTIVE or INACTIVE;
//     one in DELETE_IN_PROGRESS is purged once no task that has not
//     stopped and no service that is not INACTIVE references it, and its
//     family's count of stored revisions goes down (the family name and
//     its revision counter stay reserved).
//
// A stopped task without a stoppedAt, or an INACTIVE service without an
// InactiveAt, gets one (the time it was first seen so), so the retention
// period always runs from a recorded time.
//
// Decide is pure: from what a listing observed and the time it returns
// what to delete, stamp or trim, and when the next retained thing falls
// due. The controller observes in a read transaction and applies in small
// write transactions, judging each item again against its current record,
// so it never deletes something that changed since the listing.
//
// It imports internal/ctrl, internal/model and internal/store.
package taskgc
