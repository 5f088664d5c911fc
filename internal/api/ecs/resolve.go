package ecs

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// DefaultCluster is the cluster an operation uses when none is named.
const DefaultCluster = "default"

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// validName reports whether s is a legal cluster, service, family or
// container name.
func validName(s string) bool { return nameRE.MatchString(s) }

// clusterName turns a cluster reference (name, ARN or empty) into a name.
func clusterName(ref string) (string, error) {
	if ref == "" {
		return DefaultCluster, nil
	}
	if arn.IsARN(ref) {
		a, err := arn.Parse(ref)
		if err != nil || a.Type() != "cluster" || len(a.Path()) != 1 {
			return "", errs.New(errs.InvalidParameter, "Invalid identifier: Unexpected number of separators")
		}
		return a.Path()[0], nil
	}
	if !validName(ref) {
		return "", errs.New(errs.ClusterNotFound, "Cluster not found.")
	}
	return ref, nil
}

// readCluster returns the cluster ref names, whatever its status, or
// ClusterNotFoundException.
func readCluster(tx store.ReadTx, ref string) (*model.Cluster, error) {
	name, err := clusterName(ref)
	if err != nil {
		return nil, err
	}
	c := new(model.Cluster)
	_, ok, err := store.GetJSON(tx, store.ClusterKey(name), c)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errs.New(errs.ClusterNotFound, "Cluster not found.")
	}
	return c, nil
}

// activeCluster is readCluster for operations that need an ACTIVE cluster; a
// deleted (INACTIVE) cluster is not found.
func activeCluster(tx store.ReadTx, ref string) (*model.Cluster, error) {
	c, err := readCluster(tx, ref)
	if err != nil {
		return nil, err
	}
	if c.Status != model.StatusActive {
		return nil, errs.New(errs.ClusterNotFound, "Cluster not found.")
	}
	return c, nil
}

// childID extracts the id of a task or container instance from an id or a
// long-format ARN of the given type ("task", "container-instance") in
// cluster. It returns "" when ref cannot name anything in that cluster.
func childID(ref, typ, cluster string) string {
	if !arn.IsARN(ref) {
		if strings.Contains(ref, "/") {
			return ""
		}
		return ref
	}
	a, err := arn.Parse(ref)
	if err != nil || a.Type() != typ {
		return ""
	}
	p := a.Path()
	switch {
	case len(p) == 2 && p[0] == cluster:
		return p[1]
	case len(p) == 1: // legacy short ARN
		return p[0]
	}
	return ""
}

// serviceName extracts a service name from a name or ARN.
func serviceName(ref, cluster string) string {
	if !arn.IsARN(ref) {
		return ref
	}
	a, err := arn.Parse(ref)
	if err != nil || a.Type() != "service" {
		return ""
	}
	p := a.Path()
	switch {
	case len(p) == 2 && p[0] == cluster:
		return p[1]
	case len(p) == 1:
		return p[0]
	}
	return ""
}

// parseTaskDefinitionRef splits "family", "family:rev" or a task definition
// ARN. rev is 0 when only a family was given.
func parseTaskDefinitionRef(ref string) (family string, rev int64, err error) {
	bad := errs.New(errs.Client, "Invalid revision number. Number: %s", ref)
	s := ref
	if arn.IsARN(ref) {
		a, perr := arn.Parse(ref)
		if perr != nil || a.Type() != "task-definition" {
			return "", 0, errs.New(errs.Client, "Unable to describe task definition.")
		}
		s = strings.TrimPrefix(a.Resource, "task-definition/")
	}
	family, revStr, hasRev := strings.Cut(s, ":")
	if !validName(family) {
		return "", 0, errs.New(errs.Client, "Unable to describe task definition.")
	}
	if !hasRev {
		return family, 0, nil
	}
	rev, perr := strconv.ParseInt(revStr, 10, 64)
	if perr != nil || rev < 1 {
		return "", 0, bad
	}
	return family, rev, nil
}

// findTaskDefinition resolves a task definition reference: a bare family is
// its latest ACTIVE revision. It returns nil, nil when nothing matches.
func findTaskDefinition(tx store.ReadTx, ref string) (*store.TaskDefinitionRecord, error) {
	family, rev, err := parseTaskDefinitionRef(ref)
	if err != nil {
		return nil, err
	}
	if rev > 0 {
		td := new(store.TaskDefinitionRecord)
		_, ok, err := store.GetJSON(tx, store.TaskDefKey(family, rev), td)
		if err != nil || !ok {
			return nil, err
		}
		return td, nil
	}
	var latest *store.TaskDefinitionRecord
	err = store.ScanJSON(tx, store.TaskDefsPrefix+family+"/", "", func(_ string, td *store.TaskDefinitionRecord) (bool, error) {
		if td.Status == model.TaskDefinitionStatusActive {
			latest = td
		}
		return true, nil
	})
	return latest, err
}
