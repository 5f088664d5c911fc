package store

import (
	"encoding/json"
	"fmt"
)

// GetJSON reads key into v. ok is false when the key is absent.
func GetJSON(tx ReadTx, key string, v any) (modRev int64, ok bool, err error) {
	kv, ok, err := tx.Get(key)
	if err != nil || !ok {
		return 0, ok, err
	}
	if err := json.Unmarshal(kv.Value, v); err != nil {
		return 0, false, fmt.Errorf("store: decode %s: %w", key, err)
	}
	return kv.ModRev, true, nil
}

// PutJSON encodes v and stores it under key.
func PutJSON(tx Tx, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %s: %w", key, err)
	}
	return tx.Put(key, b)
}

// ScanJSON decodes each value under prefix (after `after`) into a fresh T and
// calls fn with it, until fn returns false.
func ScanJSON[T any](tx ReadTx, prefix, after string, fn func(key string, v *T) (bool, error)) error {
	return tx.Scan(prefix, after, func(kv KV) (bool, error) {
		v := new(T)
		if err := json.Unmarshal(kv.Value, v); err != nil {
			return false, fmt.Errorf("store: decode %s: %w", kv.Key, err)
		}
		return fn(kv.Key, v)
	})
}
