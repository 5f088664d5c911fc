package e2e

import (
	"os/exec"
	"testing"
)

// TestPlacementWithBothCLIs drives the scheduler through each aws CLI with
// instances registered by hand (test/cli/placement.sh).
func TestPlacementWithBothCLIs(t *testing.T) {
	for _, c := range cliBinaries {
		t.Run(c.name, func(t *testing.T) {
			cli := requireTool(t, c.path)
			p := startServer(t, t.TempDir(), freePort(t))
			cmd := exec.Command("bash", "../cli/placement.sh")
			cmd.Env = append(p.env(), "AWS_CLI="+cli, "ENDPOINT="+p.URL())
			out, err := cmd.CombinedOutput()
			t.Logf("%s", out)
			if err != nil {
				t.Fatalf("placement.sh with %s: %v", cli, err)
			}
		})
	}
}
