package ecs

import "github.com/quayside/quayside/internal/api/awsproto"

func (a *API) settingOps() map[string]awsproto.Handler {
	return map[string]awsproto.Handler{}
}
