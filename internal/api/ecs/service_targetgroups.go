package ecs

import (
	"strings"

	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// checkTargetGroups checks the target groups of a service's loadBalancers
// that Quayside's ELBv2 API holds, as ECS does: a load balancer must use
// the group (a listener or rule forwards to it), and its target type must
// suit the task definition's network mode (ip for awsvpc, instance
// otherwise). A group it does not hold is let through: the service's
// tasks then never become healthy behind it.
func (s *serviceSpec) checkTargetGroups(tx store.ReadTx) error {
	var used map[string][]string
	for _, lb := range s.loadBalancers {
		if lb.TargetGroupArn == "" {
			continue
		}
		id := lb.TargetGroupArn[strings.LastIndexByte(lb.TargetGroupArn, '/')+1:]
		var tg store.TargetGroupRecord
		_, ok, err := store.GetJSON(tx, store.TargetGroupKey(id), &tg)
		if err != nil {
			return err
		}
		if !ok || tg.Arn != lb.TargetGroupArn {
			continue
		}
		if used == nil {
			if used, err = store.TargetGroupUsers(tx); err != nil {
				return err
			}
		}
		if len(used[tg.ID]) == 0 {
			return errs.New(errs.InvalidParameter, "The target group with targetGroupArn %s does not have an associated load balancer.", tg.Arn)
		}
		mode := s.networkMode()
		if (mode == model.NetworkModeAwsvpc) != (tg.TargetType == store.TargetTypeIP) {
			return errs.New(errs.InvalidParameter, "The provided target group %s has target type %s, which is incompatible with the %s network mode specified in the task definition.", tg.Arn, tg.TargetType, mode)
		}
	}
	return nil
}
