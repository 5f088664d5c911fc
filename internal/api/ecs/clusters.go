package ecs

import (
	"context"
	"slices"

	"github.com/quayside/quayside/internal/api/awsproto"
	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

func (a *API) clusterOps() map[string]awsproto.Handler {
	return map[string]awsproto.Handler{
		"CreateCluster":               awsproto.Typed(a.createCluster),
		"DescribeClusters":            awsproto.Typed(a.describeClusters),
		"ListClusters":                awsproto.Typed(a.listClusters),
		"DeleteCluster":               awsproto.Typed(a.deleteCluster),
		"UpdateCluster":               awsproto.Typed(a.updateCluster),
		"UpdateClusterSettings":       awsproto.Typed(a.updateClusterSettings),
		"PutClusterCapacityProviders": awsproto.Typed(a.putClusterCapacityProviders),
	}
}

const maxDescribeClusters = 100

func (a *API) createCluster(ctx context.Context, in *model.CreateClusterRequest) (*model.CreateClusterResponse, error) {
	name := in.ClusterName
	if name == "" {
		name = DefaultCluster
	}
	if !validName(name) {
		return nil, errs.New(errs.InvalidParameter, "Cluster name can have up to 255 characters; valid characters are letters (upper and lower case), numbers, hyphens and underscores.")
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	if err := validateClusterSettings(in.Settings); err != nil {
		return nil, err
	}
	if err := validateCapacityProviders(in.CapacityProviders, in.DefaultCapacityProviderStrategy); err != nil {
		return nil, err
	}
	if in.ServiceConnectDefaults != nil {
		return nil, errs.New(errs.NamespaceNotFound, "The namespace %q was not found.", in.ServiceConnectDefaults.Namespace)
	}
	out := &model.CreateClusterResponse{}
	err := a.update(ctx, func(tx store.Tx) error {
		c := new(model.Cluster)
		_, ok, err := store.GetJSON(tx, store.ClusterKey(name), c)
		if err != nil {
			return err
		}
		if ok && c.Status == model.StatusActive {
			out.Cluster = c // CreateCluster is idempotent by name.
			return nil
		}
		c = a.newCluster(name, in)
		out.Cluster = c
		return store.PutJSON(tx, store.ClusterKey(name), c)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (a *API) newCluster(name string, in *model.CreateClusterRequest) *model.Cluster {
	settings := in.Settings
	if len(settings) == 0 {
		settings = []model.ClusterSetting{{Name: model.ClusterSettingNameContainerInsights, Value: "disabled"}}
	}
	return &model.Cluster{
		ClusterArn:                      a.scope.Cluster(name),
		ClusterName:                     name,
		Status:                          model.StatusActive,
		Settings:                        settings,
		Configuration:                   in.Configuration,
		CapacityProviders:               nonNil(in.CapacityProviders),
		DefaultCapacityProviderStrategy: nonNil(in.DefaultCapacityProviderStrategy),
		Tags:                            nonNil(in.Tags),
		Statistics:                      []model.KeyValuePair{},
	}
}

// nonNil returns s, or an empty slice for nil, for lists ECS always sends.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

var clusterSettingValues = []string{"enabled", "disabled", "enhanced"}

func validateClusterSettings(settings []model.ClusterSetting) error {
	for _, s := range settings {
		if s.Name != model.ClusterSettingNameContainerInsights {
			return errs.New(errs.InvalidParameter, "Invalid cluster setting name %q.", s.Name)
		}
		if !slices.Contains(clusterSettingValues, s.Value) {
			return errs.New(errs.InvalidParameter, "Invalid value %q for containerInsights: valid values are enabled, disabled and enhanced.", s.Value)
		}
	}
	return nil
}

// builtinCapacityProviders are the providers every cluster may use. Custom
// (Auto Scaling group) providers come with the capacity provider issue.
var builtinCapacityProviders = []string{"FARGATE", "FARGATE_SPOT"}

func validateCapacityProviders(providers []string, strategy []model.CapacityProviderStrategyItem) error {
	for _, p := range providers {
		if !slices.Contains(builtinCapacityProviders, p) {
			return errs.New(errs.InvalidParameter, "The specified capacity provider '%s' does not exist. Specify a valid capacity provider and try again.", p)
		}
	}
	withBase := 0
	for _, item := range strategy {
		if !slices.Contains(providers, item.CapacityProvider) {
			return errs.New(errs.InvalidParameter, "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.")
		}
		if item.Base > 0 {
			withBase++
		}
	}
	if withBase > 1 {
		return errs.New(errs.InvalidParameter, "A capacity provider strategy can have only one capacity provider with a base defined.")
	}
	return nil
}

func (a *API) describeClusters(ctx context.Context, in *model.DescribeClustersRequest) (*model.DescribeClustersResponse, error) {
	refs := in.Clusters
	if len(refs) == 0 {
		refs = []string{DefaultCluster}
	}
	if len(refs) > maxDescribeClusters {
		return nil, errs.New(errs.InvalidParameter, "Clusters cannot have more than %d elements", maxDescribeClusters)
	}
	out := &model.DescribeClustersResponse{Clusters: []model.Cluster{}, Failures: []model.Failure{}}
	err := a.view(ctx, func(tx store.ReadTx) error {
		for _, ref := range refs {
			c, err := readCluster(tx, ref)
			if errs.CodeOf(err) == errs.ClusterNotFound || errs.CodeOf(err) == errs.InvalidParameter {
				out.Failures = append(out.Failures, model.Failure{Arn: a.clusterArnOf(ref), Reason: "MISSING"})
				continue
			}
			if err != nil {
				return err
			}
			if err := a.shapeCluster(tx, c, in.Include); err != nil {
				return err
			}
			out.Clusters = append(out.Clusters, *c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// clusterArnOf is the ARN a failure names for a cluster reference: the ARN
// as given, or the ARN of the named (or default) cluster.
func (a *API) clusterArnOf(ref string) string {
	if arn.IsARN(ref) {
		return ref
	}
	if ref == "" {
		ref = DefaultCluster
	}
	return a.scope.Cluster(ref)
}

// shapeCluster trims a stored cluster to what DescribeClusters shows for the
// requested include values.
func (a *API) shapeCluster(tx store.ReadTx, c *model.Cluster, include []model.ClusterField) error {
	has := func(f model.ClusterField) bool { return slices.Contains(include, f) }
	if !has(model.ClusterFieldTags) {
		c.Tags = []model.Tag{}
	}
	if !has(model.ClusterFieldSettings) {
		c.Settings = nil
	}
	if !has(model.ClusterFieldConfigurations) {
		c.Configuration = nil
	}
	if !has(model.ClusterFieldAttachments) {
		c.Attachments = nil
	}
	c.Statistics = []model.KeyValuePair{}
	if has(model.ClusterFieldStatistics) {
		stats, err := clusterStatistics(tx, c)
		if err != nil {
			return err
		}
		c.Statistics = stats
	}
	return nil
}

// clusterStatistics counts the cluster's running and pending tasks and its
// active and draining services, each split into EC2 and Fargate.
func clusterStatistics(tx store.ReadTx, c *model.Cluster) ([]model.KeyValuePair, error) {
	n := map[string]int{}
	err := store.ScanJSON(tx, store.ServicesPrefix+c.ClusterName+"/", "", func(_ string, s *store.ServiceRecord) (bool, error) {
		kind := launchKind(storedServiceSpec(s).usesFargate())
		switch s.Status {
		case model.StatusActive:
			n["active"+kind+"ServiceCount"]++
		case model.StatusDraining:
			n["draining"+kind+"ServiceCount"]++
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	err = store.ScanJSON(tx, store.TasksPrefix+c.ClusterName+"/", "", func(_ string, t *store.TaskRecord) (bool, error) {
		kind := launchKind(t.LaunchType == model.LaunchTypeFargate)
		switch {
		case t.LastStatus == model.StatusRunning:
			n["running"+kind+"TasksCount"]++
		case model.IsPendingStatus(t.LastStatus):
			n["pending"+kind+"TasksCount"]++
		}
		return true, nil
	})
	out := []model.KeyValuePair{}
	for _, name := range []string{
		"runningEC2TasksCount", "runningFargateTasksCount", "pendingEC2TasksCount", "pendingFargateTasksCount",
		"activeEC2ServiceCount", "activeFargateServiceCount", "drainingEC2ServiceCount", "drainingFargateServiceCount",
	} {
		out = append(out, model.KeyValuePair{Name: name, Value: itoa(n[name])})
	}
	return out, err
}

func launchKind(fargate bool) string {
	if fargate {
		return "Fargate"
	}
	return "EC2"
}

func (a *API) listClusters(ctx context.Context, in *model.ListClustersRequest) (*model.ListClustersResponse, error) {
	p, err := newPager(in.NextToken, in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	out := &model.ListClustersResponse{}
	err = a.view(ctx, func(tx store.ReadTx) error {
		out.ClusterArns, out.NextToken, err = listPage(tx, store.ClustersPrefix, p, func(c *model.Cluster) (string, bool) {
			return c.ClusterArn, c.Status == model.StatusActive
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (a *API) deleteCluster(ctx context.Context, in *model.DeleteClusterRequest) (*model.DeleteClusterResponse, error) {
	out := &model.DeleteClusterResponse{}
	err := a.update(ctx, func(tx store.Tx) error {
		c, err := activeCluster(tx, in.Cluster)
		if err != nil {
			return err
		}
		if err := checkClusterEmpty(tx, c); err != nil {
			return err
		}
		c.Status = model.StatusInactive
		out.Cluster = c
		return store.PutJSON(tx, store.ClusterKey(c.ClusterName), c)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkClusterEmpty refuses to delete a cluster that still holds container
// instances (ACTIVE or DRAINING), services (ACTIVE or DRAINING) or tasks that
// have not stopped.
func checkClusterEmpty(tx store.ReadTx, c *model.Cluster) error {
	checks := []struct {
		prefix, field string // records under prefix, the status member to read
		busy          func(status string) bool
		err           *errs.Error
	}{
		{store.InstancesPrefix, "status", isActiveOrDraining, errs.New(errs.ClusterContainsContainerInstances, "The Cluster cannot be deleted while Container Instances are active or draining.")},
		{store.ServicesPrefix, "status", isActiveOrDraining, errs.New(errs.ClusterContainsServices, "The Cluster cannot be deleted while Services are active.")},
		{store.TasksPrefix, "lastStatus", taskNotStopped, errs.New(errs.ClusterContainsTasks, "The Cluster cannot be deleted while Tasks are active.")},
	}
	for _, ch := range checks {
		found := false
		err := tx.Scan(ch.prefix+c.ClusterName+"/", "", func(kv store.KV) (bool, error) {
			found = ch.busy(jsonString(kv.Value, ch.field))
			return !found, nil
		})
		if err != nil {
			return err
		}
		if found {
			return ch.err
		}
	}
	return nil
}

// taskNotStopped reports whether a task in lastStatus s is still active:
// not STOPPED, nor the DELETED that may follow it.
func taskNotStopped(s string) bool {
	return model.TaskStatusRank(s) < model.TaskStatusRank(model.StatusStopped)
}

func isActiveOrDraining(s string) bool { return s == model.StatusActive || s == model.StatusDraining }

func (a *API) updateCluster(ctx context.Context, in *model.UpdateClusterRequest) (*model.UpdateClusterResponse, error) {
	if err := validateClusterSettings(in.Settings); err != nil {
		return nil, err
	}
	if in.ServiceConnectDefaults != nil {
		return nil, errs.New(errs.NamespaceNotFound, "The namespace %q was not found.", in.ServiceConnectDefaults.Namespace)
	}
	c, err := a.mutateCluster(ctx, in.Cluster, func(c *model.Cluster) {
		if in.Settings != nil {
			c.Settings = mergeSettings(c.Settings, in.Settings)
		}
		if in.Configuration != nil {
			c.Configuration = in.Configuration
		}
	})
	if err != nil {
		return nil, err
	}
	return &model.UpdateClusterResponse{Cluster: c}, nil
}

func (a *API) updateClusterSettings(ctx context.Context, in *model.UpdateClusterSettingsRequest) (*model.UpdateClusterSettingsResponse, error) {
	if err := validateClusterSettings(in.Settings); err != nil {
		return nil, err
	}
	c, err := a.mutateCluster(ctx, in.Cluster, func(c *model.Cluster) {
		c.Settings = mergeSettings(c.Settings, in.Settings)
	})
	if err != nil {
		return nil, err
	}
	return &model.UpdateClusterSettingsResponse{Cluster: c}, nil
}

func (a *API) putClusterCapacityProviders(ctx context.Context, in *model.PutClusterCapacityProvidersRequest) (*model.PutClusterCapacityProvidersResponse, error) {
	if err := validateCapacityProviders(in.CapacityProviders, in.DefaultCapacityProviderStrategy); err != nil {
		return nil, err
	}
	c, err := a.mutateCluster(ctx, in.Cluster, func(c *model.Cluster) {
		c.CapacityProviders = nonNil(in.CapacityProviders)
		c.DefaultCapacityProviderStrategy = nonNil(in.DefaultCapacityProviderStrategy)
	})
	if err != nil {
		return nil, err
	}
	return &model.PutClusterCapacityProvidersResponse{Cluster: c}, nil
}

// mutateCluster applies fn to an ACTIVE cluster and stores it, returning the
// cluster as UpdateCluster-style operations show it (with settings and
// configuration).
func (a *API) mutateCluster(ctx context.Context, ref string, fn func(*model.Cluster)) (*model.Cluster, error) {
	var out *model.Cluster
	err := a.update(ctx, func(tx store.Tx) error {
		c, err := activeCluster(tx, ref)
		if err != nil {
			return err
		}
		fn(c)
		out = c
		return store.PutJSON(tx, store.ClusterKey(c.ClusterName), c)
	})
	return out, err
}

func mergeSettings(old, set []model.ClusterSetting) []model.ClusterSetting {
	return upsert(old, set, func(s model.ClusterSetting) string { return string(s.Name) })
}

// EnsureCluster creates the named cluster unless it is ACTIVE already, as
// CreateCluster does (used by `quayside dev` to join the default cluster).
func (a *API) EnsureCluster(ctx context.Context, name string) error {
	_, err := a.createCluster(ctx, &model.CreateClusterRequest{ClusterName: name})
	return err
}
