package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/quayside/quayside/"

type pkg struct {
	ImportPath string
	Imports    []string
}

func loadPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", mod+"...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// rule: packages whose path starts with from may import, of this module, only
// packages that start with one of allow.
type rule struct {
	from  string
	allow []string
}

var rules = []rule{
	{"internal/errs", nil},
	{"internal/arn", nil},
	{"internal/model", []string{"internal/errs", "internal/arn"}},
	{"internal/store", []string{"internal/store", "internal/model", "internal/errs", "internal/arn"}},
	{"internal/sched", []string{"internal/sched", "internal/model", "internal/errs", "internal/arn"}},
	{"internal/api/awsproto", []string{"internal/errs", "internal/arn"}},
	{"internal/api/", []string{"internal/api/awsproto", "internal/model", "internal/store", "internal/errs", "internal/arn", "internal/sched", "internal/placement"}},
	// The agent protocol's server side speaks agentproto's wire types.
	{"internal/api/agentapi", []string{"internal/agentproto", "internal/api/awsproto", "internal/model", "internal/store", "internal/errs", "internal/arn"}},
	{"internal/ctrl/", []string{"internal/ctrl", "internal/model", "internal/store", "internal/errs", "internal/arn", "internal/sched", "internal/placement"}},
	{"internal/agent", []string{"internal/agent", "internal/agentproto", "internal/model", "internal/errs", "internal/arn"}},
	// The load balancer data plane is fed by the store only.
	{"internal/lb", []string{"internal/lb", "internal/store", "internal/model", "internal/errs", "internal/arn"}},
}

func TestImportWalls(t *testing.T) {
	for _, p := range loadPackages(t) {
		rel := strings.TrimPrefix(p.ImportPath, mod)
		r, ok := ruleFor(rel)
		if !ok {
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, mod) {
				continue
			}
			dep := strings.TrimPrefix(imp, mod)
			if !allowed(r, rel, dep) {
				t.Errorf("%s imports %s, which DESIGN.md forbids", rel, dep)
			}
		}
	}
}

// ruleFor picks the most specific rule for a package.
func ruleFor(rel string) (rule, bool) {
	best, found := rule{}, false
	for _, r := range rules {
		if (rel == r.from || strings.HasPrefix(rel, r.from)) && len(r.from) > len(best.from) {
			best, found = r, true
		}
	}
	return best, found
}

func allowed(r rule, rel, dep string) bool {
	if strings.HasPrefix(r.from, "internal/api/") && r.from != "internal/api/awsproto" {
		// One API package never imports another (they meet in the store).
		if strings.HasPrefix(dep, "internal/api/") && dep != "internal/api/awsproto" && !strings.HasPrefix(dep, apiRoot(rel)) {
			return false
		}
	}
	for _, a := range r.allow {
		if dep == a || strings.HasPrefix(dep, a+"/") || strings.HasPrefix(dep, a) && strings.HasSuffix(a, "/") {
			return true
		}
	}
	return strings.HasPrefix(r.from, "internal/api/") && strings.HasPrefix(dep, apiRoot(rel))
}

// apiRoot is "internal/api/<service>" for a package under it.
func apiRoot(rel string) string {
	parts := strings.SplitN(rel, "/", 4)
	if len(parts) < 3 {
		return rel
	}
	return strings.Join(parts[:3], "/")
}

func TestRulesCatchViolations(t *testing.T) {
	cases := []struct {
		pkg, dep string
		ok       bool
	}{
		{"internal/model", "internal/store", false},
		{"internal/model", "internal/errs", true},
		{"internal/api/ecs", "internal/store", true},
		{"internal/api/ecs", "internal/api/elbv2", false},
		{"internal/api/ecs", "internal/api/awsproto", true},
		{"internal/sched", "internal/store", false},
		{"internal/agent/runtime/docker", "internal/store", false},
		{"internal/store/bolt", "internal/store", true},
	}
	for _, c := range cases {
		r, _ := ruleFor(c.pkg)
		if got := allowed(r, c.pkg, c.dep); got != c.ok {
			t.Errorf("allowed(%s → %s) = %v, want %v", c.pkg, c.dep, got, c.ok)
		}
	}
}
