package agentapi

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/quayside/quayside/internal/agentproto"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func baseTask() store.TaskRecord {
	return store.TaskRecord{
		ID: "t1", InstanceID: "n1", ReportedSeq: 3,
		Task: model.Task{
			LastStatus: model.StatusPending, DesiredStatus: model.StatusRunning, HealthStatus: model.HealthStatusUnknown,
			Containers: []model.Container{
				{Name: "web", LastStatus: model.StatusPending, NetworkBindings: []model.NetworkBinding{}},
				{Name: "side", LastStatus: model.StatusPending},
			},
			Attachments: []model.Attachment{{Id: "eni", Status: "PRECREATED"}},
		},
	}
}

func TestApplyReport(t *testing.T) {
	exit0 := int32(0)
	tests := []struct {
		name    string
		before  func(*store.TaskRecord)
		report  agentproto.TaskReport
		applied bool
		want    func(*store.TaskRecord)
	}{
		{
			name:   "old seq is not applied",
			report: agentproto.TaskReport{Seq: 3, LastStatus: model.StatusRunning},
		},
		{
			name:    "running with containers, bindings and times",
			report:  agentproto.TaskReport{Seq: 4, LastStatus: model.StatusRunning, StartedAt: model.At(t0), Containers: []agentproto.ContainerReport{{Name: "web", RuntimeID: "abc", LastStatus: model.StatusRunning, NetworkBindings: []model.NetworkBinding{{HostPort: new(int32(32768))}}}, {Name: "ghost", LastStatus: model.StatusRunning}}},
			applied: true,
			want: func(t *store.TaskRecord) {
				t.ReportedSeq, t.LastStatus, t.StartedAt = 4, model.StatusRunning, model.At(t0)
				t.Containers[0].RuntimeId, t.Containers[0].LastStatus = "abc", model.StatusRunning
				t.Containers[0].NetworkBindings = []model.NetworkBinding{{HostPort: new(int32(32768))}}
			},
		},
		{
			name:    "status never goes back; timestamps are set once",
			before:  func(t *store.TaskRecord) { t.LastStatus, t.StartedAt = model.StatusRunning, model.At(t0) },
			report:  agentproto.TaskReport{Seq: 9, LastStatus: model.StatusPending, StartedAt: model.At(t0.Add(time.Hour)), HealthStatus: model.HealthStatusHealthy},
			applied: true,
			want: func(t *store.TaskRecord) {
				t.ReportedSeq, t.HealthStatus = 9, model.HealthStatusHealthy
			},
		},
		{
			name:    "stopped keeps the user's stop reason and is desired stopped",
			before:  func(t *store.TaskRecord) { t.StopCode, t.StoppedReason = model.TaskStopCodeUserInitiated, "bye" },
			report:  agentproto.TaskReport{Seq: 5, LastStatus: model.StatusStopped, StopCode: model.TaskStopCodeEssentialContainerExited, StoppedReason: "Essential container in task exited", Containers: []agentproto.ContainerReport{{Name: "web", LastStatus: model.StatusStopped, ExitCode: &exit0, Reason: "done"}}},
			applied: true,
			want: func(t *store.TaskRecord) {
				t.ReportedSeq, t.LastStatus, t.DesiredStatus, t.StoppedAt = 5, model.StatusStopped, model.StatusStopped, model.At(t0)
				t.Containers[0].LastStatus, t.Containers[0].ExitCode, t.Containers[0].Reason = model.StatusStopped, new(int32(0)), "done"
			},
		},
		{
			name:    "the node's stop reason when there is none",
			report:  agentproto.TaskReport{Seq: 4, LastStatus: model.StatusStopped, StopCode: model.TaskStopCodeTaskFailedToStart, StoppedReason: "CannotPullContainerError: nope", StoppedAt: model.At(t0.Add(time.Second))},
			applied: true,
			want: func(t *store.TaskRecord) {
				t.ReportedSeq, t.LastStatus, t.DesiredStatus = 4, model.StatusStopped, model.StatusStopped
				t.StopCode, t.StoppedReason, t.StoppedAt = model.TaskStopCodeTaskFailedToStart, "CannotPullContainerError: nope", model.At(t0.Add(time.Second))
			},
		},
		{
			name:    "attachments merge by id; connectivity",
			report:  agentproto.TaskReport{Seq: 4, LastStatus: model.StatusPending, ConnectivityAt: model.At(t0), Attachments: []model.Attachment{{Id: "eni", Status: "ATTACHED"}, {Id: "other", Status: "ATTACHED"}}},
			applied: true,
			want: func(t *store.TaskRecord) {
				t.ReportedSeq, t.ConnectivityAt, t.Connectivity = 4, model.At(t0), model.ConnectivityConnected
				t.Attachments = []model.Attachment{{Id: "eni", Status: "ATTACHED"}, {Id: "other", Status: "ATTACHED"}}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := baseTask()
			if tt.before != nil {
				tt.before(&got)
			}
			want := got
			want.Containers = append([]model.Container(nil), got.Containers...)
			want.Attachments = append([]model.Attachment(nil), got.Attachments...)
			if tt.want != nil {
				tt.want(&want)
			}
			if applied := applyReport(&got, &tt.report, t0); applied != tt.applied {
				t.Fatalf("applied = %v, want %v", applied, tt.applied)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("task (-want +got):\n%s", d)
			}
		})
	}
}
