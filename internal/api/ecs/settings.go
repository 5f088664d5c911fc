package ecs

import (
	"context"
	"slices"
	"strings"

	"github.com/quayside/quayside/internal/api/awsproto"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

func (a *API) settingOps() map[string]awsproto.Handler {
	return map[string]awsproto.Handler{
		"PutAccountSetting":        awsproto.Typed(a.putAccountSetting),
		"PutAccountSettingDefault": awsproto.Typed(a.putAccountSettingDefault),
		"DeleteAccountSetting":     awsproto.Typed(a.deleteAccountSetting),
		"ListAccountSettings":      awsproto.Typed(a.listAccountSettings),
	}
}

// accountSettingRule is what a setting accepts and its AWS-managed default.
type accountSettingRule struct {
	values   []string
	def      string
	readOnly string // non-empty: the setting cannot be set, and why
}

var accountSettingRules = map[model.SettingName]accountSettingRule{
	// Long ARN formats are mandatory since 2021-04-01: always enabled.
	model.SettingNameServiceLongArnFormat:            {values: []string{"enabled"}, def: "enabled"},
	model.SettingNameTaskLongArnFormat:               {values: []string{"enabled"}, def: "enabled"},
	model.SettingNameContainerInstanceLongArnFormat:  {values: []string{"enabled"}, def: "enabled"},
	model.SettingNameAwsvpcTrunking:                  {values: []string{"enabled", "disabled"}, def: "disabled"},
	model.SettingNameContainerInsights:               {values: []string{"enabled", "disabled", "enhanced"}, def: "disabled"},
	model.SettingNameFargateFIPSMode:                 {values: []string{"enabled", "disabled"}, def: "disabled"},
	model.SettingNameTagResourceAuthorization:        {values: []string{"on", "off"}, def: "on"},
	model.SettingNameFargateTaskRetirementWaitPeriod: {values: []string{"0", "7", "14"}, def: "7"},
	model.SettingNameGuardDutyActivate:               {def: "off", readOnly: "guardDutyActivate is managed by Amazon GuardDuty and cannot be changed with this API."},
	model.SettingNameDefaultLogDriverMode:            {values: []string{"blocking", "non-blocking"}, def: "non-blocking"},
	model.SettingNameFargateEventWindows:             {values: []string{"enabled", "disabled"}, def: "disabled"},
}

func settingNames() []model.SettingName {
	names := make([]model.SettingName, 0, len(accountSettingRules))
	for n := range accountSettingRules {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func checkSetting(name model.SettingName, value string) error {
	rule, ok := accountSettingRules[name]
	switch {
	case !ok:
		return errs.New(errs.InvalidParameter, "Invalid account setting name %q.", name)
	case rule.readOnly != "":
		return errs.New(errs.InvalidParameter, "%s", rule.readOnly)
	case !slices.Contains(rule.values, value):
		return errs.New(errs.InvalidParameter, "Invalid value %q for %s: valid values are %s.", value, name, strings.Join(rule.values, ", "))
	}
	return nil
}

// settingPrincipal is the principal a setting call acts for: the one named,
// else the caller. Only principals of this account can be named.
func (a *API) settingPrincipal(ctx context.Context, named string) (string, error) {
	if named == "" {
		return a.principal(ctx), nil
	}
	acct := strings.TrimSuffix(strings.TrimPrefix(a.principal(ctx), "arn:aws:iam::"), ":root")
	if !strings.HasPrefix(named, "arn:aws:iam::"+acct+":") {
		return "", errs.New(errs.InvalidParameter, "principalArn %q is not a valid IAM user, role or root ARN of this account.", named)
	}
	return named, nil
}

func (a *API) putAccountSetting(ctx context.Context, in *model.PutAccountSettingRequest) (*model.PutAccountSettingResponse, error) {
	principal, err := a.settingPrincipal(ctx, in.PrincipalArn)
	if err != nil {
		return nil, err
	}
	s, err := a.storeSetting(ctx, principal, in.Name, in.Value)
	if err != nil {
		return nil, err
	}
	return &model.PutAccountSettingResponse{Setting: s}, nil
}

// putAccountSettingDefault sets the account-wide default: it is stored for
// the account's root principal, which every principal falls back to.
func (a *API) putAccountSettingDefault(ctx context.Context, in *model.PutAccountSettingDefaultRequest) (*model.PutAccountSettingDefaultResponse, error) {
	s, err := a.storeSetting(ctx, a.principal(ctx), in.Name, in.Value)
	if err != nil {
		return nil, err
	}
	return &model.PutAccountSettingDefaultResponse{Setting: s}, nil
}

func (a *API) storeSetting(ctx context.Context, principal string, name model.SettingName, value string) (*model.Setting, error) {
	if err := checkSetting(name, value); err != nil {
		return nil, err
	}
	s := &model.Setting{Name: name, Value: value, PrincipalArn: principal, Type: model.SettingTypeUser}
	err := a.update(ctx, func(tx store.Tx) error { return store.PutJSON(tx, store.SettingKey(principal, string(name)), s) })
	return s, err
}

func (a *API) deleteAccountSetting(ctx context.Context, in *model.DeleteAccountSettingRequest) (*model.DeleteAccountSettingResponse, error) {
	if _, ok := accountSettingRules[in.Name]; !ok {
		return nil, errs.New(errs.InvalidParameter, "Invalid account setting name %q.", in.Name)
	}
	principal, err := a.settingPrincipal(ctx, in.PrincipalArn)
	if err != nil {
		return nil, err
	}
	out := &model.DeleteAccountSettingResponse{}
	err = a.update(ctx, func(tx store.Tx) error {
		key := store.SettingKey(principal, string(in.Name))
		s := new(model.Setting)
		_, ok, err := store.GetJSON(tx, key, s)
		if err != nil {
			return err
		}
		if !ok {
			return errs.New(errs.InvalidParameter, "The account setting %s is not set for %s.", in.Name, principal)
		}
		out.Setting = s
		return tx.Delete(key)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (a *API) listAccountSettings(ctx context.Context, in *model.ListAccountSettingsRequest) (*model.ListAccountSettingsResponse, error) {
	if in.Value != "" && in.Name == "" {
		return nil, errs.New(errs.InvalidParameter, "You must also specify an account setting name to filter by value.")
	}
	var max *int32
	if in.MaxResults != 0 {
		max = &in.MaxResults
	}
	p, err := newPager(in.NextToken, max, 10, 10)
	if err != nil {
		return nil, err
	}
	principal, err := a.settingPrincipal(ctx, in.PrincipalArn)
	if err != nil {
		return nil, err
	}
	var all []model.Setting
	err = a.view(ctx, func(tx store.ReadTx) error {
		all, err = a.settingsOf(tx, principal, in.EffectiveSettings)
		return err
	})
	if err != nil {
		return nil, err
	}
	all = slices.DeleteFunc(all, func(s model.Setting) bool {
		return (in.Name != "" && s.Name != in.Name) || (in.Value != "" && s.Value != in.Value)
	})
	return pageSettings(all, p), nil
}

// settingsOf lists the settings of principal: the ones set for it, or with
// effective=true the value in force for every setting (its own, else the
// account default, else the AWS-managed default).
func (a *API) settingsOf(tx store.ReadTx, principal string, effective bool) ([]model.Setting, error) {
	own, err := readSettings(tx, principal)
	if err != nil || !effective {
		return own, err
	}
	root := "arn:aws:iam::" + a.scope.Account + ":root"
	if acct := strings.Split(principal, ":"); len(acct) > 4 {
		root = "arn:aws:iam::" + acct[4] + ":root"
	}
	defaults, err := readSettings(tx, root)
	if err != nil {
		return nil, err
	}
	out := []model.Setting{}
	for _, name := range settingNames() {
		s := model.Setting{Name: name, Value: accountSettingRules[name].def, PrincipalArn: principal, Type: model.SettingTypeAwsManaged}
		for _, set := range [][]model.Setting{defaults, own} {
			if i := slices.IndexFunc(set, func(x model.Setting) bool { return x.Name == name }); i >= 0 {
				s = set[i]
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// readSettings lists the settings stored for principal. Principal ARNs
// contain "/" (role/path/name), so the key prefix of one principal also
// covers those of the principals below its path: keep only principal's own.
func readSettings(tx store.ReadTx, principal string) ([]model.Setting, error) {
	out := []model.Setting{}
	err := store.ScanJSON(tx, store.SettingsPrefix+principal+"/", "", func(_ string, s *model.Setting) (bool, error) {
		if s.PrincipalArn == principal {
			out = append(out, *s)
		}
		return true, nil
	})
	return out, err
}

// pageSettings cuts one page from a list sorted by name; the token names the
// last setting returned.
func pageSettings(all []model.Setting, p pager) *model.ListAccountSettingsResponse {
	slices.SortFunc(all, func(x, y model.Setting) int { return strings.Compare(string(x.Name), string(y.Name)) })
	out := &model.ListAccountSettingsResponse{Settings: []model.Setting{}}
	after := strings.TrimPrefix(p.after, "/settings/")
	for _, s := range all {
		if p.after != "" && string(s.Name) <= after {
			continue
		}
		if len(out.Settings) == p.limit {
			out.NextToken = pageToken("/settings/" + string(out.Settings[len(out.Settings)-1].Name))
			break
		}
		out.Settings = append(out.Settings, s)
	}
	return out
}
