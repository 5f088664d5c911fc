package agent

import (
	"testing"

	"github.com/quayside/quayside/internal/agentproto"
)

func reports(arn string, seqs ...uint64) []agentproto.TaskReport {
	var out []agentproto.TaskReport
	for _, s := range seqs {
		out = append(out, agentproto.TaskReport{TaskArn: arn, Seq: s, LastStatus: "PENDING"})
	}
	return out
}

func seqs(rs []agentproto.TaskReport) []uint64 {
	var out []uint64
	for _, r := range rs {
		out = append(out, r.Seq)
	}
	return out
}

func TestJournalOutboxOrderAckAndSettle(t *testing.T) {
	dir := t.TempDir()
	j, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	asg := &agentproto.Assignment{}
	asg.Task.TaskArn = "arn:b"
	// Seq 256 sorts after 9 (big-endian keys), and tasks keep their order.
	if err := j.record("arn:b", asg, reports("arn:b", 9, 256)); err != nil {
		t.Fatal(err)
	}
	if err := j.record("arn:a", nil, reports("arn:a", 1, 2, 3)); err != nil {
		t.Fatal(err)
	}
	got, _ := j.pending(10)
	if s := seqs(got); len(s) != 5 || s[0] != 1 || s[2] != 3 || s[3] != 9 || s[4] != 256 {
		t.Fatalf("pending = %v, want a's 1 2 3 then b's 9 256", s)
	}
	j.ack([]agentproto.Ack{{TaskArn: "arn:a", Seq: 2}})
	if got, _ := j.pending(10); len(got) != 3 || got[0].Seq != 3 {
		t.Errorf("after ack of a/2 (covering a/1): %v", seqs(got))
	}
	if err := j.finish("arn:a"); err != nil {
		t.Fatal(err)
	}
	j.ack([]agentproto.Ack{{TaskArn: "arn:a", Seq: 3}})
	if err := j.settle(); err != nil {
		t.Fatal(err)
	}
	recs, _ := j.tasks()
	if len(recs) != 1 || recs[0].Assignment.Task.TaskArn != "arn:b" || recs[0].Last.Seq != 256 {
		t.Errorf("records after a finished and settled: %+v", recs)
	}
	j.Close()

	// Unsettled acknowledgements are lost with the process: the reports
	// are sent again.
	j, err = openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	j.ack([]agentproto.Ack{{TaskArn: "arn:b", Seq: 9}})
	j.Close()
	if j, err = openJournal(dir); err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if got, _ := j.pending(10); len(got) != 2 {
		t.Errorf("after a restart, pending = %v, want b's 9 and 256 again", seqs(got))
	}
	if err := j.forget("arn:b"); err != nil {
		t.Fatal(err)
	}
	if got, _ := j.pending(10); len(got) != 0 {
		t.Errorf("after forget: %v", seqs(got))
	}
}
