package lb

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/quayside/quayside/internal/store"
)

// state is the decoded /elbv2/ subtree at one revision, keyed by store key.
// Only the run loop touches it.
type state struct {
	rev       int64
	lbs       map[string]*store.LoadBalancerRecord
	listeners map[string]*store.ListenerRecord
	rules     map[string]*store.RuleRecord
	tgs       map[string]*store.TargetGroupRecord
	targets   map[string]*store.TargetRecord
}

func newState() *state {
	return &state{
		lbs:       map[string]*store.LoadBalancerRecord{},
		listeners: map[string]*store.ListenerRecord{},
		rules:     map[string]*store.RuleRecord{},
		tgs:       map[string]*store.TargetGroupRecord{},
		targets:   map[string]*store.TargetRecord{},
	}
}

// list reads the whole subtree.
func list(ctx context.Context, st store.Store) (*state, error) {
	s := newState()
	err := st.View(ctx, func(tx store.ReadTx) error {
		s.rev = tx.Rev()
		return tx.Scan(store.ELBv2Prefix, "", func(kv store.KV) (bool, error) {
			return true, s.put(kv.Key, kv.Value)
		})
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// apply folds one watch response into the state.
func (s *state) apply(resp store.WatchResponse) error {
	for _, ev := range resp.Events {
		if ev.Type == store.EventDelete {
			s.del(ev.KV.Key)
			continue
		}
		if err := s.put(ev.KV.Key, ev.KV.Value); err != nil {
			return err
		}
	}
	s.rev = resp.Rev
	return nil
}

func (s *state) put(key string, val []byte) error {
	var err error
	switch {
	case strings.HasPrefix(key, store.LoadBalancersPrefix):
		err = decodeInto(s.lbs, key, val)
	case strings.HasPrefix(key, store.ListenersPrefix):
		err = decodeInto(s.listeners, key, val)
	case strings.HasPrefix(key, store.RulesPrefix):
		err = decodeInto(s.rules, key, val)
	case strings.HasPrefix(key, store.TargetGroupsPrefix):
		err = decodeInto(s.tgs, key, val)
	case strings.HasPrefix(key, store.TargetsPrefix):
		err = decodeInto(s.targets, key, val)
	}
	return err
}

func decodeInto[T any](m map[string]*T, key string, val []byte) error {
	v := new(T)
	if err := json.Unmarshal(val, v); err != nil {
		// A record this version cannot read is left out, not fatal: the
		// rest of the table still routes.
		delete(m, key)
		return fmt.Errorf("lb: decode %s: %w", key, err)
	}
	m[key] = v
	return nil
}

func (s *state) del(key string) {
	delete(s.lbs, key)
	delete(s.listeners, key)
	delete(s.rules, key)
	delete(s.tgs, key)
	delete(s.targets, key)
}
