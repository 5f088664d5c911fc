package store

import (
	"slices"
	"time"

	"github.com/quayside/quayside/internal/model"
)

// TargetGroupUsers maps each target group ID to the ARNs of the load
// balancers whose listeners (default actions) or rules forward to it. A
// group with no entry is not in use: its targets show as unused
// (Target.NotInUse) and deregistering them removes them at once.
func TargetGroupUsers(tx ReadTx) (map[string][]string, error) {
	lbArn := map[string]string{}
	if err := ScanJSON(tx, LoadBalancersPrefix, "", func(_ string, lb *LoadBalancerRecord) (bool, error) {
		lbArn[lb.ID] = lb.Arn
		return true, nil
	}); err != nil {
		return nil, err
	}
	used := map[string][]string{}
	note := func(lbID string, acts []Action) {
		arn := lbArn[lbID]
		if arn == "" {
			return
		}
		for _, act := range acts {
			if act.Forward == nil {
				continue
			}
			for _, g := range act.Forward.TargetGroups {
				if !slices.Contains(used[g.ID], arn) {
					used[g.ID] = append(used[g.ID], arn)
				}
			}
		}
	}
	if err := ScanJSON(tx, ListenersPrefix, "", func(_ string, l *ListenerRecord) (bool, error) {
		note(l.LoadBalancerID, l.DefaultActions)
		return true, nil
	}); err != nil {
		return nil, err
	}
	err := ScanJSON(tx, RulesPrefix, "", func(_ string, r *RuleRecord) (bool, error) {
		note(r.LoadBalancerID, r.Actions)
		return true, nil
	})
	return used, err
}

// RegisterTarget registers a target with a group, as RegisterTargets does:
// a new target starts initial (Elb.RegistrationInProgress); a draining one
// goes back to initial; any other registered one is left as it is. It
// reports whether a record was created. host is where an instance target
// is reached (see TargetRecord.Host); an existing record takes it too.
func RegisterTarget(tx Tx, tgID, id string, port int32, az, host string, now time.Time) (created bool, err error) {
	key := TargetKey(tgID, id, port)
	var rec TargetRecord
	_, had, err := GetJSON(tx, key, &rec)
	if err != nil {
		return false, err
	}
	if had && rec.State != TargetDraining {
		if host == "" || rec.Host == host {
			return false, nil
		}
		rec.Host = host
		return false, PutJSON(tx, key, &rec)
	}
	if !had {
		rec = TargetRecord{TargetGroupID: tgID, ID: id, Port: port, RegisteredAt: model.At(now)}
	}
	if host != "" {
		rec.Host = host
	}
	rec.AvailabilityZone = az
	rec.State, rec.Reason, rec.Description = TargetInitial, ReasonRegistrationInProgress, ""
	rec.Since, rec.DrainUntil = model.At(now), model.Time{}
	return !had, PutJSON(tx, key, &rec)
}

// DeregisterTarget deregisters a target, as DeregisterTargets does: when
// the group is in use (see TargetGroupUsers) and has a deregistration
// delay, the target drains (draining, Target.DeregistrationInProgress,
// DrainUntil = now + delay; a draining target keeps its deadline) and the
// data plane deletes it later; otherwise the record goes at once. ok is
// false when the target is not registered.
func DeregisterTarget(tx Tx, tg *TargetGroupRecord, id string, port int32, inUse bool, now time.Time) (ok bool, err error) {
	key := TargetKey(tg.ID, id, port)
	var rec TargetRecord
	_, had, err := GetJSON(tx, key, &rec)
	if err != nil || !had {
		return false, err
	}
	delay := tg.DeregistrationDelay()
	switch {
	case !inUse || delay <= 0:
		return true, tx.Delete(key)
	case rec.State == TargetDraining:
		return true, nil
	}
	rec.State, rec.Reason, rec.Description = TargetDraining, ReasonDeregistrationInProgress, ""
	rec.Since, rec.DrainUntil = model.At(now), model.At(now.Add(delay))
	return true, PutJSON(tx, key, &rec)
}
