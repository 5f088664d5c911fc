package e2e

import (
	"net"
	"os/exec"
	"testing"
)

// TestELBv2WithBothCLIs drives the ELBv2 API (AWS Query protocol) through
// each aws CLI (test/cli/elbv2.sh): create-load-balancer → target group →
// listener → register-targets → describe-target-health → rules →
// attributes and tags → the errors → deletes. The second server names its
// load balancers under a --lb-dns-suffix of its own.
func TestELBv2WithBothCLIs(t *testing.T) {
	for i, c := range cliBinaries {
		t.Run(c.name, func(t *testing.T) {
			cli := requireTool(t, c.path)
			suffix, flags := "lb.localhost", []string(nil)
			if i == 1 {
				suffix = "lb.quayside.test"
				flags = []string{"--lb-dns-suffix", suffix}
			}
			p := startServer(t, t.TempDir(), freePort(t), flags...)
			_, lbPort, _ := net.SplitHostPort(freePort(t))
			cmd := exec.Command("bash", "../cli/elbv2.sh")
			cmd.Env = append(p.env(), "AWS_CLI="+cli, "ENDPOINT="+p.URL(), "LB_PORT="+lbPort, "LB_DNS_SUFFIX="+suffix)
			out, err := cmd.CombinedOutput()
			t.Logf("%s", out)
			if err != nil {
				t.Fatalf("elbv2.sh with %s: %v", cli, err)
			}
		})
	}
}
