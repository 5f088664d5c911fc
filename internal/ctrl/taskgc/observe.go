package taskgc

import (
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// The marks are the parts of the stored records the controller reads, so a
// listing decodes no more than it needs.

type taskMark struct {
	Cluster           string     `json:"qCluster"`
	ID                string     `json:"qId"`
	LastStatus        string     `json:"lastStatus"`
	StoppedAt         model.Time `json:"stoppedAt"`
	TaskDefinitionArn string     `json:"taskDefinitionArn"`
}

func (m *taskMark) task() Task {
	return Task{Cluster: m.Cluster, ID: m.ID, Stopped: stopped(m.LastStatus), StoppedAt: m.StoppedAt.Time, TaskDefinition: m.TaskDefinitionArn}
}

type withTaskDef struct {
	TaskDefinition string `json:"taskDefinition"`
}

type serviceMark struct {
	Cluster        string        `json:"qCluster"`
	ServiceName    string        `json:"serviceName"`
	Status         string        `json:"status"`
	InactiveAt     model.Time    `json:"qInactiveAt"`
	TaskDefinition string        `json:"taskDefinition"`
	Deployments    []withTaskDef `json:"deployments"`
	TaskSets       []withTaskDef `json:"taskSets"`
	Events         []struct{}    `json:"events"`
}

func (m *serviceMark) service() Service {
	s := Service{
		Cluster: m.Cluster, Name: m.ServiceName, Inactive: m.Status == model.StatusInactive,
		InactiveAt: m.InactiveAt.Time, Events: len(m.Events),
	}
	if m.TaskDefinition != "" {
		s.TaskDefinitions = append(s.TaskDefinitions, m.TaskDefinition)
	}
	for _, d := range append(m.Deployments, m.TaskSets...) {
		if d.TaskDefinition != "" {
			s.TaskDefinitions = append(s.TaskDefinitions, d.TaskDefinition)
		}
	}
	return s
}

type taskDefMark struct {
	Family            string                     `json:"family"`
	Revision          int64                      `json:"revision"`
	Status            model.TaskDefinitionStatus `json:"status"`
	TaskDefinitionArn string                     `json:"taskDefinitionArn"`
}

// observe lists every task, service and task definition revision.
func observe(tx store.ReadTx) (Observed, error) {
	var o Observed
	err := store.ScanJSON(tx, store.TasksPrefix, "", func(_ string, m *taskMark) (bool, error) {
		o.Tasks = append(o.Tasks, m.task())
		return true, nil
	})
	if err != nil {
		return o, err
	}
	err = store.ScanJSON(tx, store.ServicesPrefix, "", func(_ string, m *serviceMark) (bool, error) {
		o.Services = append(o.Services, m.service())
		return true, nil
	})
	if err != nil {
		return o, err
	}
	err = store.ScanJSON(tx, store.TaskDefsPrefix, "", func(_ string, m *taskDefMark) (bool, error) {
		o.TaskDefs = append(o.TaskDefs, TaskDef{
			Family: m.Family, Revision: m.Revision, ARN: m.TaskDefinitionArn,
			DeleteInProgress: m.Status == model.TaskDefinitionStatusDeleteInProgress,
		})
		return true, nil
	})
	return o, err
}

// stopped reports whether a task in lastStatus s has stopped (STOPPED, or
// the DELETED that may follow).
func stopped(s string) bool {
	return model.TaskStatusRank(s) >= model.TaskStatusRank(model.StatusStopped)
}
