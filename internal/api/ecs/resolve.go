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
	return readRecord(tx, store.ClusterKey(name), ref, errs.New(errs.ClusterNotFound, "Cluster not found."),
		func(c *model.Cluster) string { return c.ClusterArn })
}

// readRecord decodes the record stored at key, or answers missing when
// there is none (nil, nil when missing is nil). ref, the identifier that named it, must be in the scope of
// the record's own ARN (see checkARNScope).
func readRecord[T any](tx store.ReadTx, key, ref string, missing error, arnOf func(*T) string) (*T, error) {
	v := new(T)
	_, ok, err := store.GetJSON(tx, key, v)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, missing
	}
	if err := checkARNScope(ref, arnOf(v)); err != nil {
		return nil, err
	}
	return v, nil
}

// checkARNScope refuses ref when it is an ARN of another partition,
// service, region or account than own, the ARN of the resource ref was
// resolved to (or any ARN of this API's scope): resolving only the resource
// part would let an ARN from elsewhere act on a local resource of the same
// name. Names and ids (not ARNs) always pass.
func checkARNScope(ref, own string) error {
	if !arn.IsARN(ref) {
		return nil
	}
	r, err := arn.Parse(ref)
	o, oerr := arn.Parse(own)
	switch {
	case err != nil || oerr != nil || r.Partition != o.Partition || r.Service != o.Service:
		return errs.New(errs.InvalidParameter, "Invalid identifier: %s is not an Amazon ECS ARN.", ref)
	case r.Region != o.Region:
		return errs.New(errs.InvalidParameter, "Invalid Region in ARN")
	case r.Account != o.Account:
		return errs.New(errs.InvalidParameter, "Identifier is for %s. Your accountId is %s", r.Account, o.Account)
	}
	return nil
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

// childRef extracts the name or id of a cluster's service, task or
// container instance from a name, an id or an ARN of the given type
// ("service", "task", "container-instance"). It returns "" when ref cannot
// name anything of that type, and InvalidParameterException, as ECS does,
// for a long-format ARN of another cluster.
func childRef(ref, typ, cluster string) (string, error) {
	if !arn.IsARN(ref) {
		if strings.Contains(ref, "/") {
			return "", nil
		}
		return ref, nil
	}
	a, err := arn.Parse(ref)
	if err != nil || a.Type() != typ {
		return "", nil
	}
	p := a.Path()
	switch {
	case len(p) == 2 && p[0] == cluster:
		return p[1], nil
	case len(p) == 2:
		return "", errs.New(errs.InvalidParameter, "Invalid identifier: Identifier is for cluster %s. Your cluster is %s", p[0], cluster)
	case len(p) == 1: // legacy short ARN
		return p[0], nil
	}
	return "", nil
}

// childID is childRef for callers that treat every bad reference as not
// found: "" when ref cannot name anything of type typ in cluster.
func childID(ref, typ, cluster string) string {
	id, err := childRef(ref, typ, cluster)
	if err != nil {
		return ""
	}
	return id
}

// serviceName extracts a service name from a name or ARN ("" when ref
// cannot name a service of cluster).
func serviceName(ref, cluster string) string { return childID(ref, "service", cluster) }

// parseTaskDefinitionRef splits "family", "family:rev" or a task definition
// ARN. rev is 0 when only a family was given.
func parseTaskDefinitionRef(ref string) (family string, rev int64, err error) {
	bad := errs.New(errs.Client, "Invalid revision number. Number: %s", ref)
	s := ref
	if arn.IsARN(ref) {
		a, perr := arn.Parse(ref)
		if perr != nil || a.Type() != "task-definition" || len(a.Path()) != 1 {
			return "", 0, errs.New(errs.Client, "Unable to describe task definition.")
		}
		s = a.Path()[0]
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
		return readRecord(tx, store.TaskDefKey(family, rev), ref, nil, taskDefinitionARN)
	}
	var latest *store.TaskDefinitionRecord
	err = store.ScanJSON(tx, store.TaskDefsPrefix+family+"/", "", func(_ string, td *store.TaskDefinitionRecord) (bool, error) {
		if td.Status == model.TaskDefinitionStatusActive {
			latest = td
		}
		return true, nil
	})
	if err != nil || latest == nil {
		return nil, err
	}
	if err := checkARNScope(ref, latest.TaskDefinitionArn); err != nil {
		return nil, err
	}
	return latest, nil
}

func taskDefinitionARN(td *store.TaskDefinitionRecord) string { return td.TaskDefinitionArn }
