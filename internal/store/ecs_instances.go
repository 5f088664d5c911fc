package store

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
)

// Limits on container instance attributes and resources (facts §3.2, §7).
const (
	MaxCustomAttributes = 10
	MaxReservedPorts    = 100
)

var (
	attrNameRE  = regexp.MustCompile(`^[A-Za-z0-9\-_/\\.]{1,128}$`)
	attrValueRE = regexp.MustCompile(`^[A-Za-z0-9\-_.@/\\: ]{1,128}$`)
)

// InstanceRegistration is a node registering as a container instance, as
// both the ECS RegisterContainerInstance operation and the agent protocol
// produce it. Resources must have gone through RegisteredResources and
// every attribute through ValidateAttribute.
type InstanceRegistration struct {
	Resources     []model.Resource
	Attributes    []model.Attribute // built-in and the node's own
	EC2InstanceID string
	// Address is the node's IP address (agent protocol only; empty
	// otherwise).
	Address     string
	VersionInfo *model.VersionInfo // nil: empty
	Tags        []model.Tag
	// HeartbeatAt is when the node's agent spoke the agent protocol; zero
	// for a registration through the ECS API (then the instance's
	// LastHeartbeatAt is left as it was).
	HeartbeatAt time.Time
}

// RegisterInstance stores a new ACTIVE, connected container instance with id
// and ARN in cluster c (which must be ACTIVE) and counts it in c's
// registeredContainerInstancesCount.
func RegisterInstance(tx Tx, c *model.Cluster, id, arn string, r *InstanceRegistration, now time.Time) (*InstanceRecord, error) {
	if err := CheckCustomAttributeLimit(r.Attributes); err != nil {
		return nil, err
	}
	rec := &InstanceRecord{Cluster: c.ClusterName, ID: id, Address: r.Address}
	setHeartbeat(rec, r)
	rec.ContainerInstance = model.ContainerInstance{
		ContainerInstanceArn: arn,
		Ec2InstanceId:        r.EC2InstanceID,
		Status:               model.StatusActive,
		AgentConnected:       true,
		RegisteredAt:         model.At(now),
		RegisteredResources:  r.Resources,
		RemainingResources:   r.Resources,
		Attributes:           SetAttributes(nil, r.Attributes),
		VersionInfo:          versionInfo(r.VersionInfo),
		Tags:                 r.Tags,
		Attachments:          []model.Attachment{},
		Version:              1,
	}
	if err := PutJSON(tx, InstanceKey(c.ClusterName, id), rec); err != nil {
		return nil, err
	}
	c.RegisteredContainerInstancesCount++
	return rec, PutJSON(tx, ClusterKey(c.ClusterName), c)
}

// ReregisterInstance is a node registering again with the identity it was
// given: rec (not INACTIVE) keeps its id and tasks; its resources, built-in
// and node attributes and version info are replaced (custom attributes set
// with PutAttributes stay), and it is connected again. What its tasks hold
// stays held. Tags are replaced only when r has some.
func ReregisterInstance(tx Tx, rec *InstanceRecord, r *InstanceRegistration) error {
	rec.RemainingResources = CarryClaims(rec.RegisteredResources, rec.RemainingResources, r.Resources)
	rec.RegisteredResources = r.Resources
	rec.Attributes = SetAttributes(CustomAttributes(rec.Attributes), r.Attributes)
	if err := CheckCustomAttributeLimit(rec.Attributes); err != nil {
		return err
	}
	rec.VersionInfo = versionInfo(r.VersionInfo)
	if r.Address != "" {
		rec.Address = r.Address
	}
	rec.AgentConnected = true
	setHeartbeat(rec, r)
	if len(r.Tags) > 0 {
		rec.Tags = r.Tags
	}
	rec.Version++
	return PutJSON(tx, InstanceKey(rec.Cluster, rec.ID), rec)
}

func setHeartbeat(rec *InstanceRecord, r *InstanceRegistration) {
	if !r.HeartbeatAt.IsZero() {
		rec.LastHeartbeatAt = model.At(r.HeartbeatAt)
	}
}

func versionInfo(v *model.VersionInfo) *model.VersionInfo {
	if v == nil {
		return &model.VersionInfo{}
	}
	return v
}

// CarryClaims computes the remaining resources of a re-registered instance:
// the new totals minus what its tasks already hold.
func CarryClaims(oldReg, oldRem, newReg []model.Resource) []model.Resource {
	rem := slices.Clone(newReg)
	for _, name := range []string{model.ResourceCPU, model.ResourceMemory} {
		held := model.ResourceInt(oldReg, name) - model.ResourceInt(oldRem, name)
		rem = model.WithResource(rem, model.IntResource(name, model.ResourceInt(newReg, name)-held))
	}
	for _, name := range []string{model.ResourcePorts, model.ResourcePortsUDP} {
		held := slices.DeleteFunc(slices.Clone(model.ResourceSet(oldRem, name)), func(p string) bool {
			return slices.Contains(model.ResourceSet(oldReg, name), p)
		})
		rem = model.WithResource(rem, model.SetResource(name, append(slices.Clone(model.ResourceSet(newReg, name)), held...)))
	}
	return rem
}

// ---- attributes ----

// IsCustomAttribute reports whether name counts against the custom
// attribute limit (names under ecs. and com.amazonaws.ecs. belong to ECS
// and the agent).
func IsCustomAttribute(name string) bool {
	return !strings.HasPrefix(name, "ecs.") && !strings.HasPrefix(name, "com.amazonaws.ecs.")
}

// CustomAttributes keeps the attributes set with PutAttributes (a
// re-registration replaces the agent's and ECS's own).
func CustomAttributes(attrs []model.Attribute) []model.Attribute {
	return slices.DeleteFunc(slices.Clone(attrs), func(at model.Attribute) bool { return !IsCustomAttribute(at.Name) })
}

// ValidateAttribute checks one attribute's name and (optional) value.
func ValidateAttribute(at model.Attribute) error {
	if !attrNameRE.MatchString(at.Name) {
		return errs.New(errs.InvalidParameter,
			"Attribute name %q is not valid. It must be 1-128 letters, numbers, hyphens, underscores, forward or back slashes, or periods.", at.Name)
	}
	if at.Value == "" {
		return nil
	}
	if !attrValueRE.MatchString(at.Value) || strings.TrimSpace(at.Value) != at.Value {
		return errs.New(errs.InvalidParameter,
			"Attribute value %q of %s is not valid. It must be 1-128 letters, numbers, hyphens, underscores, periods, at signs, forward or back slashes, colons, or spaces, and cannot start or end with a space.",
			at.Value, at.Name)
	}
	return nil
}

// SetAttributes returns attrs with each of add set (replacing an attribute
// of the same name). Only name and value are kept.
func SetAttributes(attrs []model.Attribute, add []model.Attribute) []model.Attribute {
	out := slices.Clone(attrs)
	for _, at := range add {
		at = model.Attribute{Name: at.Name, Value: at.Value}
		if i := slices.IndexFunc(out, func(x model.Attribute) bool { return x.Name == at.Name }); i >= 0 {
			out[i] = at
		} else {
			out = append(out, at)
		}
	}
	return out
}

// CheckCustomAttributeLimit refuses a set of attributes with more than ten
// custom ones.
func CheckCustomAttributeLimit(attrs []model.Attribute) error {
	n := 0
	for _, at := range attrs {
		if IsCustomAttribute(at.Name) {
			n++
		}
	}
	if n > MaxCustomAttributes {
		return errs.New(errs.AttributeLimitExceeded,
			"You can apply up to %d custom attributes for each resource. You can view the attributes of a resource with ListAttributes. You can remove existing attributes on a resource with DeleteAttributes.",
			MaxCustomAttributes)
	}
	return nil
}

// ---- resources ----

// RegisteredResources validates a node's totalResources and returns them
// with CPU, MEMORY, PORTS and PORTS_UDP always present (zero or empty when
// not given); other resources are kept as sent.
func RegisteredResources(in []model.Resource) ([]model.Resource, error) {
	out := []model.Resource{
		model.IntResource(model.ResourceCPU, 0), model.IntResource(model.ResourceMemory, 0),
		model.SetResource(model.ResourcePorts, nil), model.SetResource(model.ResourcePortsUDP, nil),
	}
	seen := map[string]bool{}
	for _, r := range in {
		if r.Name == "" {
			return nil, errs.New(errs.InvalidParameter, "Resource name cannot be empty.")
		}
		if seen[r.Name] {
			return nil, errs.New(errs.InvalidParameter, "Resource %s is given more than once.", r.Name)
		}
		seen[r.Name] = true
		nr, err := normalizeResource(r)
		if err != nil {
			return nil, err
		}
		out = model.WithResource(out, nr)
	}
	return out, nil
}

func normalizeResource(r model.Resource) (model.Resource, error) {
	switch r.Name {
	case model.ResourceCPU, model.ResourceMemory:
		if r.Type != "" && r.Type != model.ResourceTypeInteger && r.Type != "LONG" && r.Type != "DOUBLE" {
			return r, errs.New(errs.InvalidParameter, "Resource %s must be of type INTEGER.", r.Name)
		}
		v := model.ResourceInt([]model.Resource{r}, r.Name)
		if v < 0 || v > 1<<31-1 {
			return r, errs.New(errs.InvalidParameter, "Resource %s must be a non-negative integer.", r.Name)
		}
		return model.IntResource(r.Name, v), nil
	case model.ResourcePorts, model.ResourcePortsUDP:
		if r.Type != "" && r.Type != model.ResourceTypeStringSet {
			return r, errs.New(errs.InvalidParameter, "Resource %s must be of type STRINGSET.", r.Name)
		}
		if err := validatePorts(r.Name, r.StringSetValue); err != nil {
			return r, err
		}
		return model.SetResource(r.Name, r.StringSetValue), nil
	}
	return r, nil
}

func validatePorts(name string, ports []string) error {
	for _, p := range ports {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
			return errs.New(errs.InvalidParameter, "Port %q of resource %s is not a port number (1-65535).", p, name)
		}
	}
	if len(ports) > MaxReservedPorts {
		return errs.New(errs.InvalidParameter, "Resource %s has %d ports; at most %d ports can be reserved on a container instance.", name, len(ports), MaxReservedPorts)
	}
	return nil
}
