package ecs

import (
	"context"
	"slices"

	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// describeServices answers in a read transaction.
func (a *API) describeServices(ctx context.Context, in *model.DescribeServicesRequest) (*model.DescribeServicesResponse, error) {
	switch {
	case len(in.Services) == 0:
		return nil, errs.New(errs.InvalidParameter, "Services cannot be empty.")
	case len(in.Services) > maxDescribeServices:
		return nil, errs.New(errs.InvalidParameter, "Services cannot have more than %d elements", maxDescribeServices)
	}
	var out *model.DescribeServicesResponse
	err := a.view(ctx, func(tx store.ReadTx) (err error) {
		out, err = a.describeServiceList(tx, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// describeServiceList describes in.Services; unknown ones are MISSING
// failures.
func (a *API) describeServiceList(tx store.ReadTx, in *model.DescribeServicesRequest) (*model.DescribeServicesResponse, error) {
	cluster, err := activeCluster(tx, in.Cluster)
	if err != nil {
		return nil, err
	}
	withTags := slices.Contains(in.Include, model.ServiceFieldTags)
	out := &model.DescribeServicesResponse{Services: []model.Service{}, Failures: []model.Failure{}}
	for _, ref := range in.Services {
		rec, err := readService(tx, cluster.ClusterName, ref)
		if errs.CodeOf(err) == errs.ServiceNotFound {
			out.Failures = append(out.Failures, model.Failure{Arn: a.serviceArnOf(cluster.ClusterName, ref), Reason: "MISSING"})
			continue
		}
		if err != nil {
			return nil, err
		}
		out.Services = append(out.Services, serviceView(rec, withTags))
	}
	return out, nil
}

// serviceArnOf is the ARN a failure names for a service reference.
func (a *API) serviceArnOf(cluster, ref string) string {
	if arn.IsARN(ref) {
		return ref
	}
	return a.scope.Service(cluster, ref)
}

func (a *API) listServices(ctx context.Context, in *model.ListServicesRequest) (*model.ListServicesResponse, error) {
	p, err := newPager(in.NextToken, in.MaxResults, servicePageDefault, servicePageMax)
	if err != nil {
		return nil, err
	}
	match := func(s *store.ServiceRecord) bool {
		return s.Status == model.StatusActive &&
			(in.LaunchType == "" || s.LaunchType == in.LaunchType) &&
			(in.SchedulingStrategy == "" || s.SchedulingStrategy == in.SchedulingStrategy) &&
			(in.ResourceManagementType == "" || in.ResourceManagementType == model.ResourceManagementTypeCustomer)
	}
	out := &model.ListServicesResponse{}
	err = a.view(ctx, func(tx store.ReadTx) error {
		cluster, err := activeCluster(tx, in.Cluster)
		if err != nil {
			return err
		}
		out.ServiceArns, out.NextToken, err = listPage(tx, store.ServicesPrefix+cluster.ClusterName+"/", p, func(s *store.ServiceRecord) (string, bool) {
			return s.ServiceArn, match(s)
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// listServicesByNamespace lists the ACTIVE services, in every cluster, that
// use a Service Connect namespace. With no Cloud Map yet, a namespace is
// known when a service's serviceConnectConfiguration or a cluster's
// serviceConnectDefaults names it (by the same name or ARN); any other is
// NamespaceNotFoundException.
func (a *API) listServicesByNamespace(ctx context.Context, in *model.ListServicesByNamespaceRequest) (*model.ListServicesByNamespaceResponse, error) {
	if in.Namespace == "" {
		return nil, errs.New(errs.InvalidParameter, "Namespace cannot be empty.")
	}
	p, err := newPager(in.NextToken, in.MaxResults, servicePageDefault, servicePageMax)
	if err != nil {
		return nil, err
	}
	out := &model.ListServicesByNamespaceResponse{}
	err = a.view(ctx, func(tx store.ReadTx) error {
		defaults, err := clusterServiceConnectNamespaces(tx)
		if err != nil {
			return err
		}
		known, err := serviceNamespaceKnown(tx, defaults, in.Namespace)
		if err != nil {
			return err
		}
		if !known {
			return errs.New(errs.NamespaceNotFound, "Failed to retrieve namespace for %s", in.Namespace)
		}
		out.ServiceArns, out.NextToken, err = listPage(tx, store.ServicesPrefix, p, func(s *store.ServiceRecord) (string, bool) {
			return s.ServiceArn, s.Status == model.StatusActive && serviceNamespace(s, defaults) == in.Namespace
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// clusterServiceConnectNamespaces maps each cluster to its default Service Connect
// namespace, for those that have one.
func clusterServiceConnectNamespaces(tx store.ReadTx) (map[string]string, error) {
	m := map[string]string{}
	err := store.ScanJSON(tx, store.ClustersPrefix, "", func(_ string, c *model.Cluster) (bool, error) {
		if c.ServiceConnectDefaults != nil && c.ServiceConnectDefaults.Namespace != "" {
			m[c.ClusterName] = c.ServiceConnectDefaults.Namespace
		}
		return true, nil
	})
	return m, err
}

// serviceNamespace is the namespace a service uses with Service Connect:
// its own, else its cluster's default; "" when Service Connect is off.
func serviceNamespace(s *store.ServiceRecord, clusterDefaults map[string]string) string {
	sc := s.ServiceConnect
	if sc == nil || !sc.Enabled {
		return ""
	}
	if sc.Namespace != "" {
		return sc.Namespace
	}
	return clusterDefaults[s.Cluster]
}

func serviceNamespaceKnown(tx store.ReadTx, clusterDefaults map[string]string, ns string) (bool, error) {
	for _, d := range clusterDefaults {
		if d == ns {
			return true, nil
		}
	}
	known := false
	err := store.ScanJSON(tx, store.ServicesPrefix, "", func(_ string, s *store.ServiceRecord) (bool, error) {
		known = s.ServiceConnect != nil && s.ServiceConnect.Namespace == ns
		return !known, nil
	})
	return known, err
}
