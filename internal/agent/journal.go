package agent

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quayside/quayside/internal/agentproto"
)

// The journal is the agent's memory on disk (DataDir/agent.db): every task
// it manages with the last report it made, and the outbox of reports not
// yet acknowledged, keyed task ARN + sequence number so that they come out
// in order per task. Losing it loses nothing for good: the control plane's
// assignments carry the tasks, their state and the last sequence number
// applied, and the engine's labels lead back to the containers.
var (
	bucketTasks  = []byte("tasks")
	bucketOutbox = []byte("outbox")
)

// Acknowledgements are kept in memory first (pending skips them) and
// written with settle, in one transaction for many: losing them in a crash
// only means resending reports the control plane will acknowledge again.
type journal struct {
	db *bolt.DB

	mu    sync.Mutex
	acked map[string]uint64 // task ARN → highest acknowledged Seq not yet settled
}

// taskRecord is what the agent keeps of one task.
type taskRecord struct {
	Assignment agentproto.Assignment `json:"assignment"`
	// Last is the last report made (its Seq is the task's counter).
	Last agentproto.TaskReport `json:"last"`
	// Done is set when the task reached STOPPED and nothing is left on the
	// engine; the record goes once its reports are acknowledged.
	Done bool `json:"done,omitzero"`
}

func openJournal(dir string) (*journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	db, err := bolt.Open(filepath.Join(dir, "agent.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("agent: open journal: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketTasks, bucketOutbox} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &journal{db: db, acked: map[string]uint64{}}, nil
}

func (j *journal) Close() error { return j.db.Close() }

// tasks returns every task record.
func (j *journal) tasks() ([]taskRecord, error) {
	var out []taskRecord
	err := j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTasks).ForEach(func(_, v []byte) error {
			var r taskRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	return out, err
}

// record stores a task's latest assignment (if asg is not nil) and new
// reports, in the outbox and the last one as the task's, in one transaction,
// before the reports are sent.
func (j *journal) record(arn string, asg *agentproto.Assignment, reps []agentproto.TaskReport) error {
	return j.db.Update(func(tx *bolt.Tx) error {
		for i := range reps {
			if err := putJSON(tx.Bucket(bucketOutbox), outboxKey(reps[i].TaskArn, reps[i].Seq), &reps[i]); err != nil {
				return err
			}
		}
		return updateTx(tx, arn, func(r *taskRecord) {
			if asg != nil {
				r.Assignment = *asg
			}
			if len(reps) > 0 {
				r.Last = reps[len(reps)-1]
			}
		})
	})
}

// finish marks a task done, and forgets it if no report is pending.
func (j *journal) finish(arn string) error {
	return j.db.Update(func(tx *bolt.Tx) error {
		if err := updateTx(tx, arn, func(r *taskRecord) { r.Done = true }); err != nil {
			return err
		}
		return dropIfSettled(tx, arn)
	})
}

// forget removes a task and its pending reports (the control plane does not
// know it).
func (j *journal) forget(arn string) error {
	j.mu.Lock()
	delete(j.acked, arn)
	j.mu.Unlock()
	return j.db.Update(func(tx *bolt.Tx) error {
		if err := deleteOutbox(tx, arn, ^uint64(0)); err != nil {
			return err
		}
		return tx.Bucket(bucketTasks).Delete([]byte(arn))
	})
}

// pending returns up to limit unacknowledged reports, in order per task.
func (j *journal) pending(limit int) ([]agentproto.TaskReport, error) {
	j.mu.Lock()
	acked := maps.Clone(j.acked)
	j.mu.Unlock()
	var out []agentproto.TaskReport
	err := j.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			if seq, ok := acked[arnOf(k)]; ok && seqOf(k) <= seq {
				continue
			}
			var r agentproto.TaskReport
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// ack takes acknowledgements; each also covers the task's earlier reports
// (the control plane applies them in order).
func (j *journal) ack(acks []agentproto.Ack) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, a := range acks {
		if a.Seq > j.acked[a.TaskArn] {
			j.acked[a.TaskArn] = a.Seq
		}
	}
}

// settle writes the acknowledgements: the reports go, and so do finished
// tasks with nothing left to send.
func (j *journal) settle() error {
	j.mu.Lock()
	acked := maps.Clone(j.acked)
	j.mu.Unlock()
	if len(acked) == 0 {
		return nil
	}
	err := j.db.Update(func(tx *bolt.Tx) error {
		for arn, seq := range acked {
			if err := deleteOutbox(tx, arn, seq); err != nil {
				return err
			}
			if err := dropIfSettled(tx, arn); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	j.mu.Lock()
	for arn, seq := range acked {
		if j.acked[arn] == seq {
			delete(j.acked, arn)
		}
	}
	j.mu.Unlock()
	return nil
}

// deleteOutbox removes a task's reports up to seq.
func deleteOutbox(tx *bolt.Tx, arn string, seq uint64) error {
	c := tx.Bucket(bucketOutbox).Cursor()
	prefix := outboxPrefix(arn)
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && seqOf(k) <= seq; k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// outboxLen counts the pending reports.
func (j *journal) outboxLen() int {
	n := 0
	_ = j.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketOutbox).Stats().KeyN
		return nil
	})
	return n
}

func dropIfSettled(tx *bolt.Tx, arn string) error {
	var r taskRecord
	v := tx.Bucket(bucketTasks).Get([]byte(arn))
	if v == nil || json.Unmarshal(v, &r) != nil || !r.Done {
		return nil
	}
	prefix := outboxPrefix(arn)
	if k, _ := tx.Bucket(bucketOutbox).Cursor().Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) {
		return nil
	}
	return tx.Bucket(bucketTasks).Delete([]byte(arn))
}

func updateTx(tx *bolt.Tx, arn string, fn func(*taskRecord)) error {
	b := tx.Bucket(bucketTasks)
	var r taskRecord
	if v := b.Get([]byte(arn)); v != nil {
		if err := json.Unmarshal(v, &r); err != nil {
			return err
		}
	}
	fn(&r)
	return putJSON(b, []byte(arn), r)
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, raw)
}

func outboxPrefix(arn string) []byte { return append([]byte(arn), 0) }

func outboxKey(arn string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(outboxPrefix(arn), seq)
}

func arnOf(k []byte) string {
	if len(k) < 9 {
		return ""
	}
	return string(k[:len(k)-9])
}

func seqOf(k []byte) uint64 {
	if len(k) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k[len(k)-8:])
}
