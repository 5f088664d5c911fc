package ctrl_test

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/quayside/quayside/internal/ctrl"
)

func get(t *testing.T, q *ctrl.Queue, want string) {
	t.Helper()
	if k, shut := q.Get(); k != want || shut {
		t.Fatalf("Get = %q, %v; want %q", k, shut, want)
	}
}

func TestQueueDeduplicates(t *testing.T) {
	q := ctrl.NewQueue(ctrl.Backoff{}, nil)
	q.Add("a")
	q.Add("b")
	q.Add("a")
	if n := q.Len(); n != 2 {
		t.Fatalf("Len = %d, want 2", n)
	}
	get(t, q, "a")
	// Added while processing: not handed out again until Done.
	q.Add("a")
	q.Add("a")
	if n := q.Len(); n != 1 {
		t.Fatalf("Len while a is processing = %d, want 1 (b)", n)
	}
	get(t, q, "b")
	q.Done("b")
	q.Done("a")
	get(t, q, "a")
	q.Done("a")
	if n := q.Len(); n != 0 {
		t.Fatalf("Len = %d, want 0", n)
	}
}

func TestQueueAddAfterEarliestWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := ctrl.NewQueue(ctrl.Backoff{}, nil)
		q.AddAfter("a", 10*time.Second)
		q.AddAfter("a", 5*time.Second)
		q.AddAfter("a", 20*time.Second)
		time.Sleep(5*time.Second - 1)
		if n := q.Len(); n != 0 {
			t.Fatalf("Len before 5s = %d", n)
		}
		time.Sleep(1)
		synctest.Wait()
		get(t, q, "a")
		q.Done("a")
		time.Sleep(time.Minute)
		if n := q.Len(); n != 0 {
			t.Fatalf("later delays fired too: Len = %d", n)
		}
	})
}

func TestQueueRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := ctrl.NewQueue(ctrl.Backoff{Base: time.Second, Max: 4 * time.Second}, nil)
		var got []time.Duration
		for range 4 {
			got = append(got, q.AddRateLimited("a"))
			time.Sleep(got[len(got)-1])
			get(t, q, "a")
			q.Done("a")
		}
		q.Forget("a")
		got = append(got, q.AddRateLimited("a"))
		want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, time.Second}
		if !slices.Equal(got, want) {
			t.Fatalf("delays = %v, want %v", got, want)
		}
		q.ShutDown()
	})
}

func TestQueueShutDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := ctrl.NewQueue(ctrl.Backoff{}, nil)
		woke := make(chan bool)
		go func() {
			_, shut := q.Get()
			woke <- shut
		}()
		synctest.Wait()
		q.Add("x")
		if shut := <-woke; shut {
			t.Fatal("Get reported shutdown before ShutDown")
		}
		q.Add("queued")
		q.AddAfter("delayed", time.Second)
		go func() {
			q.Get() // queued
			_, shut := q.Get()
			woke <- shut
		}()
		synctest.Wait()
		q.ShutDown()
		if shut := <-woke; !shut {
			t.Fatal("Get not woken by ShutDown")
		}
		q.Add("late")
		time.Sleep(time.Minute)
		if n := q.Len(); n != 0 {
			t.Fatalf("Len after ShutDown = %d", n)
		}
		if _, shut := q.Get(); !shut {
			t.Fatal("Get after ShutDown did not report it")
		}
	})
}
