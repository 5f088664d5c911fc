package ecs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// identityDocument is the part of an EC2 instance identity document that
// ECS turns into the instance's id and built-in attributes.
type identityDocument struct {
	InstanceID       string `json:"instanceId"`
	AvailabilityZone string `json:"availabilityZone"`
	InstanceType     string `json:"instanceType"`
	ImageID          string `json:"imageId"`
	Architecture     string `json:"architecture"`
}

func (a *API) registerContainerInstance(ctx context.Context, in *model.RegisterContainerInstanceRequest) (*model.RegisterContainerInstanceResponse, error) {
	reg, err := newRegistration(in)
	if err != nil {
		return nil, err
	}
	var out model.ContainerInstance
	err = a.update(ctx, func(tx store.Tx) error {
		c, err := activeCluster(tx, in.Cluster)
		if err != nil {
			return err
		}
		var rec *store.InstanceRecord
		if in.ContainerInstanceArn != "" {
			rec, err = a.reregister(tx, c, in.ContainerInstanceArn, reg)
		} else {
			rec, err = a.registerNew(tx, c, reg)
		}
		if err != nil {
			return err
		}
		out = instanceView(rec, true, false)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &model.RegisterContainerInstanceResponse{ContainerInstance: &out}, nil
}

// registration is a validated RegisterContainerInstance request.
type registration struct {
	resources   []model.Resource
	attributes  []model.Attribute
	ec2ID       string
	versionInfo *model.VersionInfo
	tags        []model.Tag
}

func newRegistration(in *model.RegisterContainerInstanceRequest) (*registration, error) {
	rs, err := registeredResources(in.TotalResources)
	if err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	doc, err := parseIdentityDocument(in.InstanceIdentityDocument)
	if err != nil {
		return nil, err
	}
	for _, at := range in.Attributes {
		if err := validateAttribute(at); err != nil {
			return nil, err
		}
	}
	attrs := setAttributes(doc.attributes(), in.Attributes)
	if err := checkCustomAttributeLimit(attrs); err != nil {
		return nil, err
	}
	r := &registration{resources: rs, attributes: attrs, ec2ID: doc.InstanceID, versionInfo: in.VersionInfo, tags: in.Tags}
	if r.ec2ID == "" {
		r.ec2ID = newEC2InstanceID()
	}
	if r.versionInfo == nil {
		r.versionInfo = &model.VersionInfo{}
	}
	return r, nil
}

func parseIdentityDocument(s string) (identityDocument, error) {
	var d identityDocument
	if s == "" {
		return d, nil
	}
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return d, errs.New(errs.InvalidParameter, "The instance identity document is not a valid JSON document.")
	}
	return d, nil
}

// attributes are the built-in attributes ECS derives from the document.
func (d identityDocument) attributes() []model.Attribute {
	var out []model.Attribute
	add := func(name, v string) {
		if v != "" {
			out = append(out, model.Attribute{Name: name, Value: v})
		}
	}
	add("ecs.availability-zone", d.AvailabilityZone)
	add("ecs.instance-type", d.InstanceType)
	add("ecs.ami-id", d.ImageID)
	add("ecs.cpu-architecture", d.Architecture)
	return out
}

// newEC2InstanceID makes up an EC2-style instance id ("i-" + 17 hex digits)
// for a node that did not send an identity document.
func newEC2InstanceID() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return "i-" + hex.EncodeToString(b[:])[:17]
}

func (a *API) registerNew(tx store.Tx, c *model.Cluster, r *registration) (*store.InstanceRecord, error) {
	id := arn.NewID()
	rec := &store.InstanceRecord{Cluster: c.ClusterName, ID: id}
	rec.ContainerInstance = model.ContainerInstance{
		ContainerInstanceArn: a.scope.ContainerInstance(c.ClusterName, id),
		Ec2InstanceId:        r.ec2ID,
		Status:               model.StatusActive,
		AgentConnected:       true, // until agents connect by protocol, registering means connected
		RegisteredAt:         model.At(a.now()),
		RegisteredResources:  r.resources,
		RemainingResources:   r.resources,
		Attributes:           r.attributes,
		VersionInfo:          r.versionInfo,
		Tags:                 r.tags,
		Attachments:          []model.Attachment{},
		Version:              1,
	}
	if err := store.PutJSON(tx, store.InstanceKey(c.ClusterName, id), rec); err != nil {
		return nil, err
	}
	return rec, adjustRegisteredCount(tx, c, 1)
}

// reregister is an agent registering again with the ARN it was given: the
// instance keeps its id and tasks; its resources, attributes and version
// info are replaced. What its tasks hold stays held.
func (a *API) reregister(tx store.Tx, c *model.Cluster, ref string, r *registration) (*store.InstanceRecord, error) {
	rec, err := getInstance(tx, c.ClusterName, ref)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, errs.New(errs.Client, "Referenced container instance %s not registered.", refID(ref))
	}
	if rec.Status == model.StatusInactive {
		return nil, errs.New(errs.Client, "Container instance %s is inactive.", rec.ID)
	}
	rec.RemainingResources = carryClaims(rec.RegisteredResources, rec.RemainingResources, r.resources)
	rec.RegisteredResources = r.resources
	rec.Attributes = setAttributes(customAttributes(rec.Attributes), r.attributes)
	if err := checkCustomAttributeLimit(rec.Attributes); err != nil {
		return nil, err
	}
	rec.VersionInfo = r.versionInfo
	rec.AgentConnected = true
	if len(r.tags) > 0 {
		rec.Tags = r.tags
	}
	rec.Version++
	return rec, store.PutJSON(tx, store.InstanceKey(c.ClusterName, rec.ID), rec)
}

// refID is the last path element of an id or ARN, for messages.
func refID(ref string) string { return ref[strings.LastIndexByte(ref, '/')+1:] }

// customAttributes keeps the attributes set with PutAttributes (a
// re-registration replaces the agent's and ECS's own).
func customAttributes(attrs []model.Attribute) []model.Attribute {
	return slices.DeleteFunc(slices.Clone(attrs), func(at model.Attribute) bool { return !isCustomAttribute(at.Name) })
}

// carryClaims computes the remaining resources of a re-registered instance:
// the new totals minus what its tasks already hold.
func carryClaims(oldReg, oldRem, newReg []model.Resource) []model.Resource {
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

// registeredResources validates totalResources and returns them with CPU,
// MEMORY, PORTS and PORTS_UDP always present (zero or empty when not
// given); other resources are kept as sent.
func registeredResources(in []model.Resource) ([]model.Resource, error) {
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
	if len(ports) > maxReservedPorts {
		return errs.New(errs.InvalidParameter, "Resource %s has %d ports; at most %d ports can be reserved on a container instance.", name, len(ports), maxReservedPorts)
	}
	return nil
}
