package agentapi

import (
	"encoding/json"
	"fmt"

	"github.com/quayside/quayside/internal/store"
)

func unmarshal(kv store.KV, v any) error {
	if err := json.Unmarshal(kv.Value, v); err != nil {
		return fmt.Errorf("agentapi: decode %s: %w", kv.Key, err)
	}
	return nil
}
