package arn

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
)

// DefaultAccount is the 12-digit account id used when none is configured.
// It is documented in the README so users can recognise it in ARNs.
const DefaultAccount = "000000000000"

// Scope is where ARNs live: partition, region and account.
type Scope struct {
	Partition string
	Region    string
	Account   string
}

func (s Scope) prefix(service string) string {
	p := s.Partition
	if p == "" {
		p = "aws"
	}
	return "arn:" + p + ":" + service + ":" + s.Region + ":" + s.Account + ":"
}

// ECS builds an ECS ARN for resource, e.g. ECS("cluster/web").
func (s Scope) ECS(resource string) string { return s.prefix("ecs") + resource }

func (s Scope) Cluster(name string) string { return s.ECS("cluster/" + name) }
func (s Scope) Service(cluster, name string) string {
	return s.ECS("service/" + cluster + "/" + name)
}
func (s Scope) Task(cluster, id string) string { return s.ECS("task/" + cluster + "/" + id) }
func (s Scope) ContainerInstance(cluster, id string) string {
	return s.ECS("container-instance/" + cluster + "/" + id)
}
func (s Scope) Container(cluster, taskID, id string) string {
	return s.ECS("container/" + cluster + "/" + taskID + "/" + id)
}
func (s Scope) TaskDefinition(family string, revision int64) string {
	return s.ECS("task-definition/" + family + ":" + itoa(revision))
}
func (s Scope) CapacityProvider(name string) string { return s.ECS("capacity-provider/" + name) }

// ARN is a parsed ARN. Resource is everything after the fifth colon, e.g.
// "task/web/0123..."; Type is the part before the first "/" (or ":").
type ARN struct {
	Partition, Service, Region, Account, Resource string
}

// ErrInvalid reports a string that is not an ARN.
var ErrInvalid = errors.New("arn: invalid ARN")

// Parse splits an ARN into its parts.
func Parse(s string) (ARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return ARN{}, ErrInvalid
	}
	return ARN{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}, nil
}

// IsARN reports whether s looks like an ARN rather than a name or id.
func IsARN(s string) bool { return strings.HasPrefix(s, "arn:") }

// Type is the resource type: "cluster", "task", "task-definition", ...
func (a ARN) Type() string {
	if i := strings.IndexAny(a.Resource, "/"); i >= 0 {
		return a.Resource[:i]
	}
	return a.Resource
}

// Path is the resource after its type, split on "/": for
// "task/web/0123" it is ["web", "0123"].
func (a ARN) Path() []string {
	i := strings.IndexByte(a.Resource, '/')
	if i < 0 {
		return nil
	}
	return strings.Split(a.Resource[i+1:], "/")
}

// NewID returns a long-format ECS id: 32 lowercase hex digits.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewUUID returns a random (version 4) UUID.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
