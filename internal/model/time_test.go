package model

import (
	"encoding/json"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestTimeWireForm(t *testing.T) {
	tm := At(time.Date(2015, 5, 12, 15, 28, 34, 347_000_000, time.UTC))
	b, err := json.Marshal(tm)
	if err != nil || string(b) != "1431444514.347" {
		t.Fatalf("marshal = %s, %v", b, err)
	}
	var back Time
	if err := json.Unmarshal([]byte("1431444514.347"), &back); err != nil || !back.Equal(tm.Time) {
		t.Fatalf("unmarshal = %v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`"yesterday"`), &back); err == nil {
		t.Fatal("a non-number timestamp was accepted")
	}
}

// A stored record is read and written many times; its timestamps must not
// drift.
func TestTimeRoundTripIsStable(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ms := rapid.Int64Range(0, 4_102_444_800_000).Draw(t, "ms")
		tm := At(time.UnixMilli(ms))
		for range 3 {
			b, _ := json.Marshal(tm)
			var next Time
			if err := json.Unmarshal(b, &next); err != nil {
				t.Fatal(err)
			}
			if !next.Equal(tm.Time) {
				t.Fatalf("%d ms drifted to %d ms", ms, next.UnixMilli())
			}
			tm = next
		}
	})
}
