package ecs

import (
	"encoding/json"
	"strconv"
)

// jsonString reads one top-level string member of a JSON object without
// decoding the whole record (for cheap status checks over many records).
func jsonString(b []byte, field string) string {
	var v map[string]json.RawMessage
	if json.Unmarshal(b, &v) != nil {
		return ""
	}
	var s string
	_ = json.Unmarshal(v[field], &s)
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
