package service

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quayside/quayside/internal/store"
)

// registry is what the controller's watches remember between events, so
// that each change wakes only the services it concerns: the services of
// each cluster, the service of each task, what each instance was when last
// seen, since when each instance has been disconnected, and which services
// wait for capacity. It is filled from the watches' listings and events
// (their keyOf functions), never by reading the store.
type registry struct {
	now func() time.Time

	mu       sync.Mutex
	services map[string]map[string]bool // cluster → service names
	tasks    map[string]string          // task store key → service key
	insts    map[string]string          // instance store key → what wakes all services when it changes
	down     map[string]time.Time       // instance store key → when first seen disconnected
	blocked  map[string]bool            // service keys waiting for capacity
	groups   map[string]map[string]bool // target group ID → keys of the services registering with it
}

func newRegistry(now func() time.Time) *registry {
	return &registry{
		now: now, services: map[string]map[string]bool{}, tasks: map[string]string{},
		insts: map[string]string{}, down: map[string]time.Time{}, blocked: map[string]bool{},
		groups: map[string]map[string]bool{},
	}
}

// Key is the controller's key of a service: "cluster/name".
func Key(cluster, name string) string { return cluster + "/" + name }

func splitKey(key string) (cluster, name string, ok bool) {
	return strings.Cut(key, "/")
}

// serviceEvent is the keyOf of the services watch.
func (r *registry) serviceEvent(ev store.Event) []string {
	key, ok := strings.CutPrefix(ev.KV.Key, store.ServicesPrefix)
	cluster, name, ok2 := splitKey(key)
	if !ok || !ok2 {
		return nil
	}
	var groups []string
	if ev.Type != store.EventDelete {
		groups = targetGroupsOf(ev.KV.Value)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.setGroups(key, groups)
	if ev.Type == store.EventDelete {
		delete(r.services[cluster], name)
		delete(r.blocked, key)
		return []string{key}
	}
	if r.services[cluster] == nil {
		r.services[cluster] = map[string]bool{}
	}
	r.services[cluster][name] = true
	return []string{key}
}

var targetGroupField = []byte(`"targetGroupArn"`)

// targetGroupsOf reads the IDs of a service record's target groups (a
// byte search skips the services without any).
func targetGroupsOf(value []byte) []string {
	if !bytes.Contains(value, targetGroupField) {
		return nil
	}
	var m struct {
		LoadBalancers []struct {
			TargetGroupArn string `json:"targetGroupArn"`
		} `json:"loadBalancers"`
	}
	if json.Unmarshal(value, &m) != nil {
		return nil
	}
	var ids []string
	for _, lb := range m.LoadBalancers {
		if lb.TargetGroupArn != "" {
			ids = append(ids, groupID(lb.TargetGroupArn))
		}
	}
	return ids
}

// setGroups notes the target groups a service registers with. r.mu is
// held.
func (r *registry) setGroups(key string, ids []string) {
	for id, keys := range r.groups {
		if keys[key] && !slices.Contains(ids, id) {
			delete(keys, key)
			if len(keys) == 0 {
				delete(r.groups, id)
			}
		}
	}
	for _, id := range ids {
		if r.groups[id] == nil {
			r.groups[id] = map[string]bool{}
		}
		r.groups[id][key] = true
	}
}

// targetEvent is the keyOf of the targets watch: a target's health or
// draining wakes the services registering with its group.
func (r *registry) targetEvent(ev store.Event) []string {
	rest, ok := strings.CutPrefix(ev.KV.Key, store.TargetsPrefix)
	id, _, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var keys []string
	for key := range r.groups[id] {
		keys = append(keys, key)
	}
	return keys
}

var serviceField = []byte(`"qService":"`)

// taskEvent is the keyOf of the tasks watch: a task wakes its service.
func (r *registry) taskEvent(ev store.Event) []string {
	rest, ok := strings.CutPrefix(ev.KV.Key, store.TasksPrefix)
	cluster, _, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.Type == store.EventDelete {
		key, ok := r.tasks[ev.KV.Key]
		delete(r.tasks, ev.KV.Key)
		if !ok {
			return nil
		}
		return []string{key}
	}
	name := serviceOf(ev.KV.Value)
	if name == "" {
		return nil
	}
	key := Key(cluster, name)
	r.tasks[ev.KV.Key] = key
	return []string{key}
}

// serviceOf reads a task record's service name without decoding the
// record: the key "qService" occurs nowhere else (quotes inside JSON
// strings are escaped), and service names need no escaping.
func serviceOf(value []byte) string {
	i := bytes.Index(value, serviceField)
	if i < 0 {
		return ""
	}
	rest := value[i+len(serviceField):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// instanceMark is the part of an instance record that matters to the
// services of its cluster.
type instanceMark struct {
	Status         string `json:"status"`
	AgentConnected bool   `json:"agentConnected"`
	Attributes     []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"attributes"`
}

// instanceEvent is the keyOf of the instances watch. An instance that
// appears, goes, or changes status, connection or attributes wakes every
// service of its cluster; any other change (its free resources) wakes
// those waiting for capacity.
func (r *registry) instanceEvent(ev store.Event) []string {
	rest, ok := strings.CutPrefix(ev.KV.Key, store.InstancesPrefix)
	cluster, _, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		return nil
	}
	sig := ""
	if ev.Type != store.EventDelete {
		var m instanceMark
		if json.Unmarshal(ev.KV.Value, &m) == nil {
			sig = signature(&m)
			r.noteConnected(ev.KV.Key, m.AgentConnected)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old, had := r.insts[ev.KV.Key]
	if ev.Type == store.EventDelete {
		delete(r.insts, ev.KV.Key)
		delete(r.down, ev.KV.Key)
	} else {
		r.insts[ev.KV.Key] = sig
	}
	if !had || old != sig {
		return r.clusterKeys(cluster, nil)
	}
	return r.clusterKeys(cluster, r.blocked)
}

func signature(m *instanceMark) string {
	var b strings.Builder
	b.WriteString(m.Status)
	if m.AgentConnected {
		b.WriteString("|connected")
	}
	for _, a := range m.Attributes {
		b.WriteString("|" + a.Name + "=" + a.Value)
	}
	return b.String()
}

// clusterKeys lists the keys of the cluster's services (only those in
// filter, when it is not nil). r.mu is held.
func (r *registry) clusterKeys(cluster string, filter map[string]bool) []string {
	var keys []string
	for name := range r.services[cluster] {
		key := Key(cluster, name)
		if filter == nil || filter[key] {
			keys = append(keys, key)
		}
	}
	return keys
}

// noteConnected keeps when an instance was first seen disconnected.
func (r *registry) noteConnected(instKey string, connected bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if connected {
		delete(r.down, instKey)
	} else if _, ok := r.down[instKey]; !ok {
		r.down[instKey] = r.now()
	}
}

// downSince is when the instance was first seen disconnected (zero when
// connected). An instance the watch has not reported yet counts from now:
// after a restart every lost instance gets a full grace period.
func (r *registry) downSince(instKey string, connected bool) time.Time {
	r.noteConnected(instKey, connected)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.down[instKey]
}

// setBlocked notes whether the service waits for capacity.
func (r *registry) setBlocked(key string, blocked bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if blocked {
		r.blocked[key] = true
	} else {
		delete(r.blocked, key)
	}
}

// allKeys lists every known service, for the periodic resync.
func (r *registry) allKeys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var keys []string
	for cluster := range r.services {
		keys = append(keys, r.clusterKeys(cluster, nil)...)
	}
	slices.Sort(keys)
	return keys
}
