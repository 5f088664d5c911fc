package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Time is a timestamp that travels as AWS JSON protocols want it: a JSON
// number of epoch seconds with a fractional part (for example
// 1431444514.347). The AWS SDK for Go v2 rejects a string here. The zero Time
// is left out of responses (it implements IsZero for `omitzero`).
type Time struct{ time.Time }

// At wraps t, truncated to milliseconds (the precision AWS returns).
func At(t time.Time) Time { return Time{t.Truncate(time.Millisecond)} }

// MarshalJSON writes epoch seconds with millisecond precision.
func (t Time) MarshalJSON() ([]byte, error) {
	ms := t.UnixMilli()
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

// UnmarshalJSON reads epoch seconds (integer or fractional).
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*t = Time{}
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		var s string
		if json.Unmarshal(b, &s) == nil {
			if pt, perr := time.Parse(time.RFC3339Nano, s); perr == nil {
				*t = At(pt)
				return nil
			}
		}
		return fmt.Errorf("timestamp %s is not epoch seconds", b)
	}
	// Round to the millisecond: truncating a float such as 1700000000.123
	// (stored as ...122999) would lose 1 ms each time a record is re-read.
	*t = Time{time.UnixMilli(int64(math.Round(f * 1000))).UTC()}
	return nil
}
