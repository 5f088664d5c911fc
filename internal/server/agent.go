package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/quayside/quayside/internal/api/agentapi"
	"github.com/quayside/quayside/internal/ctrl/instancehealth"
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

// startAgentSide builds the agent protocol handler and starts the
// controller that disconnects silent nodes.
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
	health := instancehealth.New(instancehealth.Deps{
		Store:    s.store,
		LastSeen: s.agent.Liveness().LastSeen,
		Period:   s.cfg.HeartbeatPeriod,
		Missed:   s.cfg.MissedHeartbeats,
		Now:      s.cfg.Now,
		Logger:   s.cfg.Logger,
	})
	ctx, cancel := context.WithCancel(context.Background())
	s.stopHealth = make(chan struct{})
	go func() {
		defer close(s.stopHealth)
		health.Run(ctx)
	}()
	s.cancelHealth = cancel
}

// stopAgentSide releases the polls in flight and stops the controller.
func (s *Server) stopAgentSide() {
	s.agent.Close()
	s.cancelHealth()
	<-s.stopHealth
}
