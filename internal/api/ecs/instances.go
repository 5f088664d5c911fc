package ecs

import "github.com/quayside/quayside/internal/api/awsproto"

func (a *API) instanceOps() map[string]awsproto.Handler {
	return map[string]awsproto.Handler{}
}
