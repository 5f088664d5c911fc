package ecs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
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

// newRegistration validates a RegisterContainerInstance request.
func newRegistration(in *model.RegisterContainerInstanceRequest) (*store.InstanceRegistration, error) {
	rs, err := store.RegisteredResources(in.TotalResources)
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
		if err := store.ValidateAttribute(at); err != nil {
			return nil, err
		}
	}
	attrs := store.SetAttributes(doc.attributes(), in.Attributes)
	if err := store.CheckCustomAttributeLimit(attrs); err != nil {
		return nil, err
	}
	r := &store.InstanceRegistration{Resources: rs, Attributes: attrs, EC2InstanceID: doc.InstanceID, VersionInfo: in.VersionInfo, Tags: in.Tags}
	if r.EC2InstanceID == "" {
		r.EC2InstanceID = newEC2InstanceID()
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

func (a *API) registerNew(tx store.Tx, c *model.Cluster, r *store.InstanceRegistration) (*store.InstanceRecord, error) {
	id := arn.NewID()
	return store.RegisterInstance(tx, c, id, a.scope.ContainerInstance(c.ClusterName, id), r, a.now())
}

// reregister is an agent registering again with the ARN it was given: the
// instance keeps its id and tasks; its resources, attributes and version
// info are replaced. What its tasks hold stays held.
func (a *API) reregister(tx store.Tx, c *model.Cluster, ref string, r *store.InstanceRegistration) (*store.InstanceRecord, error) {
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
	return rec, store.ReregisterInstance(tx, rec, r)
}

// refID is the last path element of an id or ARN, for messages.
func refID(ref string) string { return ref[strings.LastIndexByte(ref, '/')+1:] }
