package agent

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// identity is who the node is to the control plane. It lives in its own
// file (DataDir/identity.json) so that the journal can be deleted without
// the node becoming another one.
type identity struct {
	Cluster              string `json:"cluster"`
	ContainerInstanceArn string `json:"containerInstanceArn,omitzero"`
	EC2InstanceID        string `json:"ec2InstanceId"`
}

func identityFile(dir string) string { return filepath.Join(dir, "identity.json") }

// readIdentity reads the node's identity (the zero identity when there is
// none yet).
func readIdentity(dir string) (identity, error) {
	var id identity
	b, err := os.ReadFile(identityFile(dir))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return id, nil
	case err != nil:
		return id, err
	}
	return id, json.Unmarshal(b, &id)
}

// writeIdentity replaces the identity file atomically.
func writeIdentity(dir string, id identity) error {
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return err
	}
	tmp := identityFile(dir) + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, identityFile(dir))
}
