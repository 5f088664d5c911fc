package bolt_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/quayside/quayside/internal/store"
	"github.com/quayside/quayside/internal/store/bolt"
)

// BenchmarkCommits64Writers measures durable commits per second with 64
// concurrent writers, each Update putting one small distinct key.
func BenchmarkCommits64Writers(b *testing.B) {
	s, err := bolt.Open(b.TempDir()+"/bench.db", bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	value := []byte(`{"status":"RUNNING","desiredStatus":"RUNNING"}`)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range 64 {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				key := fmt.Sprintf("/bench/%09d", i)
				if _, err := s.Update(b.Context(), func(tx store.Tx) error { return tx.Put(key, value) }); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}
