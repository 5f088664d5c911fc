package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/quayside/quayside/internal/api/agentapi"
)

// AgentTokenFile is where the server keeps the agent protocol's bearer
// token.
func AgentTokenFile(dataDir string) string { return filepath.Join(dataDir, "agent-token") }

// agentToken picks the agent token: the configured one, else the one in
// the token file from an earlier start, else a new random one written to
// the file with mode 0600. A configured token is not written.
func agentToken(dataDir, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	path := AgentTokenFile(dataDir)
	b, err := os.ReadFile(path)
	switch {
	case err == nil && strings.TrimSpace(string(b)) != "":
		return strings.TrimSpace(string(b)), nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("server: read agent token: %w", err)
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	tok := hex.EncodeToString(raw[:])
	if err := writeSecretFile(path, tok+"\n"); err != nil {
		return "", fmt.Errorf("server: write agent token: %w", err)
	}
	return tok, nil
}

// writeSecretFile replaces path with body, readable only by its owner.
func writeSecretFile(path, body string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// AgentToken is the bearer token agents present.
func (s *Server) AgentToken() string { return s.agentToken }

// startAgentSide builds the agent protocol handler.
func (s *Server) startAgentSide() {
	s.agent = agentapi.New(agentapi.Deps{
		Store:           s.store,
		Scope:           s.Scope(),
		Token:           s.agentToken,
		HeartbeatPeriod: s.cfg.HeartbeatPeriod,
		PollWait:        s.cfg.PollWait,
		Now:             s.cfg.Now,
		Logger:          s.cfg.Logger,
	})
}

// stopAgentSide releases the polls in flight.
func (s *Server) stopAgentSide() {
	s.agent.Close()
}
