package awsproto

import (
	"encoding/json"

	"github.com/quayside/quayside/internal/errs"
)

// Validate checks a request body against the input shape of op.
func (m *Model) Validate(op string, body []byte) error {
	var v map[string]json.RawMessage
	if err := json.Unmarshal(body, &v); err != nil {
		return errs.New(errs.Serialization, "Request body is not a JSON object.")
	}
	return nil
}
