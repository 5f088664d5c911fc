package agent

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quayside/quayside/internal/agentproto"
)

// The journal is the agent's memory on disk (DataDir/agent.db): its
// identity, every task it manages with the last report it made, and the
// outbox of reports not yet acknowledged, keyed task ARN + sequence number
// so that they come out in order per task.
var (
	bucketMeta   = []byte("meta")
	bucketTasks  = []byte("tasks")
	bucketOutbox = []byte("outbox")
	keyIdentity  = []byte("identity")
)

type journal struct{ db *bolt.DB }

// identity is who the node is to the control plane.
type identity struct {
	Cluster              string `json:"cluster"`
	ContainerInstanceArn string `json:"containerInstanceArn,omitzero"`
	EC2InstanceID        string `json:"ec2InstanceId"`
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
		for _, b := range [][]byte{bucketMeta, bucketTasks, bucketOutbox} {
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
	return &journal{db: db}, nil
}

func (j *journal) Close() error { return j.db.Close() }

func (j *journal) identity() (identity, error) {
	var id identity
	err := j.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyIdentity); v != nil {
			return json.Unmarshal(v, &id)
		}
		return nil
	})
	return id, err
}

func (j *journal) saveIdentity(id identity) error {
	return j.db.Update(func(tx *bolt.Tx) error { return putJSON(tx.Bucket(bucketMeta), keyIdentity, id) })
}

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

// putAssignment stores the latest assignment of a task.
func (j *journal) putAssignment(a *agentproto.Assignment) error {
	return j.update(a.Task.TaskArn, func(r *taskRecord) { r.Assignment = *a })
}

// record stores a new report: in the outbox and as the task's last one, in
// one transaction, before it is sent.
func (j *journal) record(rep *agentproto.TaskReport) error {
	return j.db.Update(func(tx *bolt.Tx) error {
		if err := putJSON(tx.Bucket(bucketOutbox), outboxKey(rep.TaskArn, rep.Seq), rep); err != nil {
			return err
		}
		return updateTx(tx, rep.TaskArn, func(r *taskRecord) { r.Last = *rep })
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
	return j.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		prefix := outboxPrefix(arn)
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketTasks).Delete([]byte(arn))
	})
}

// pending returns up to limit unacknowledged reports, in order per task.
func (j *journal) pending(limit int) ([]agentproto.TaskReport, error) {
	var out []agentproto.TaskReport
	err := j.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
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

// ack removes acknowledged reports (and every earlier one of the same task:
// the control plane applies reports in order) and forgets finished tasks
// whose reports are all delivered.
func (j *journal) ack(acks []agentproto.Ack) error {
	return j.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutbox)
		for _, a := range acks {
			prefix := outboxPrefix(a.TaskArn)
			c := b.Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && seqOf(k) <= a.Seq; k, _ = c.Seek(prefix) {
				if err := c.Delete(); err != nil {
					return err
				}
			}
			if err := dropIfSettled(tx, a.TaskArn); err != nil {
				return err
			}
		}
		return nil
	})
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

func (j *journal) update(arn string, fn func(*taskRecord)) error {
	return j.db.Update(func(tx *bolt.Tx) error { return updateTx(tx, arn, fn) })
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

func seqOf(k []byte) uint64 {
	if len(k) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k[len(k)-8:])
}
