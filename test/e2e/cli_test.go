package e2e

import (
	"os"
	"os/exec"
	"testing"
)

// cliBinaries are the two aws CLIs users have: Debian's v2 and pip's v1.
// They differ in protocol details, so both must work.
var cliBinaries = []struct{ name, path string }{
	{"v2-debian", "/usr/bin/aws"},
	{"v1-pip", "aws"},
}

func requireTool(t *testing.T, path string) string {
	t.Helper()
	full, err := exec.LookPath(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", path, err)
		}
		t.Skipf("%s not installed: %v", path, err)
	}
	return full
}

// TestSeedCommandsWithBothCLIs runs the aws ecs commands of seed 001 with
// each CLI against a fresh server.
func TestSeedCommandsWithBothCLIs(t *testing.T) {
	for _, c := range cliBinaries {
		t.Run(c.name, func(t *testing.T) {
			cli := requireTool(t, c.path)
			p := startServer(t, t.TempDir(), freePort(t))
			cmd := exec.Command("bash", "../cli/seed-001.sh")
			cmd.Env = append(p.env(), "AWS_CLI="+cli, "ENDPOINT="+p.URL())
			out, err := cmd.CombinedOutput()
			t.Logf("%s", out)
			if err != nil {
				t.Fatalf("seed-001.sh with %s: %v", cli, err)
			}
		})
	}
}
