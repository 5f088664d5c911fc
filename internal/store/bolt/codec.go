package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/quayside/quayside/internal/store"
)

var (
	dataBucket = []byte("data")
	metaBucket = []byte("meta")
	revKey     = []byte("rev")
)

// valueVersion is the first byte of every stored value; it names the header
// layout that follows: CreateRev and ModRev as uvarints, then the value.
const valueVersion = 1

var errCorrupt = errors.New("bolt: corrupt value header")

// encodeValue prefixes value with its revisions header.
func encodeValue(createRev, modRev int64, value []byte) []byte {
	buf := make([]byte, 0, 1+2*binary.MaxVarintLen64+len(value))
	buf = append(buf, valueVersion)
	buf = binary.AppendUvarint(buf, uint64(createRev))
	buf = binary.AppendUvarint(buf, uint64(modRev))
	return append(buf, value...)
}

// decodeValue parses a stored value into kv, copying the value bytes so
// they outlive the bbolt transaction.
func decodeValue(key string, raw []byte) (store.KV, error) {
	if len(raw) == 0 || raw[0] != valueVersion {
		return store.KV{}, fmt.Errorf("%w: key %q", errCorrupt, key)
	}
	rest := raw[1:]
	createRev, n := binary.Uvarint(rest)
	if n <= 0 {
		return store.KV{}, fmt.Errorf("%w: key %q", errCorrupt, key)
	}
	rest = rest[n:]
	modRev, n := binary.Uvarint(rest)
	if n <= 0 {
		return store.KV{}, fmt.Errorf("%w: key %q", errCorrupt, key)
	}
	value := make([]byte, len(rest[n:]))
	copy(value, rest[n:])
	return store.KV{Key: key, Value: value, CreateRev: int64(createRev), ModRev: int64(modRev)}, nil
}

func encodeRev(rev int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(rev))
}

func decodeRev(raw []byte) (int64, error) {
	if raw == nil {
		return 0, nil
	}
	if len(raw) != 8 {
		return 0, errors.New("bolt: corrupt revision counter")
	}
	return int64(binary.BigEndian.Uint64(raw)), nil
}
