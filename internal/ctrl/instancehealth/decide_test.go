package instancehealth

import (
	"slices"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	const timeout = 6 * time.Second
	tests := []struct {
		name  string
		in    Instance
		since time.Time
		want  bool
	}{
		{"heard from recently", Instance{Connected: true, Seen: ago(time.Second)}, ago(time.Hour), false},
		{"silent in memory", Instance{Connected: true, Seen: ago(7 * time.Second)}, ago(time.Hour), true},
		{"exactly at the timeout", Instance{Connected: true, Seen: ago(timeout)}, ago(time.Hour), false},
		{"never heard, persisted old", Instance{Connected: true, Persisted: ago(time.Minute)}, ago(time.Hour), true},
		{"persisted newer than memory", Instance{Connected: true, Seen: ago(time.Minute), Persisted: ago(time.Second)}, ago(time.Hour), false},
		{"just restarted: grace", Instance{Connected: true, Persisted: ago(time.Hour)}, ago(time.Second), false},
		{"no agent ever (ECS API registration)", Instance{Connected: true}, ago(time.Hour), false},
		{"already disconnected", Instance{Connected: false, Seen: ago(time.Hour)}, ago(time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.ID = "n"
			got := Decide([]Instance{tt.in}, tt.since, now, timeout)
			if (len(got) == 1) != tt.want {
				t.Errorf("Decide = %v, want disconnect %v", got, tt.want)
			}
		})
	}
}

func TestDecideKeepsOthers(t *testing.T) {
	now := time.Now()
	ins := []Instance{
		{ID: "a", Connected: true, Seen: now},
		{ID: "b", Connected: true, Seen: now.Add(-time.Minute)},
		{ID: "c", Connected: true, Seen: now.Add(-time.Minute)},
	}
	var ids []string
	for _, in := range Decide(ins, now.Add(-time.Hour), now, time.Second) {
		ids = append(ids, in.ID)
	}
	if !slices.Equal(ids, []string{"b", "c"}) {
		t.Errorf("Decide = %v", ids)
	}
}
