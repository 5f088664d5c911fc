package server

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Credentials is an access key pair.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// keyring holds the access keys the server accepts. One account for now.
type keyring struct {
	account string
	keys    map[string]string // access key id → secret
}

// Lookup implements awsproto.Credentials.
func (k *keyring) Lookup(id string) (secret, account string, ok bool) {
	secret, ok = k.keys[id]
	return secret, k.account, ok
}

// CredentialsFile is the shared-credentials file under the data directory.
func CredentialsFile(dataDir string) string { return filepath.Join(dataDir, "credentials") }

// rootCredentials picks the root key pair: the configured one, else the one
// in the credentials file from an earlier start, else a new one. It then
// (re)writes the file with mode 0600 so `AWS_SHARED_CREDENTIALS_FILE` can
// point at it.
func rootCredentials(dataDir string, given Credentials) (Credentials, error) {
	if (given.AccessKeyID == "") != (given.SecretAccessKey == "") {
		return Credentials{}, errors.New("server: give both the access key id and the secret access key, or neither")
	}
	path := CredentialsFile(dataDir)
	c := given
	if c.AccessKeyID == "" {
		old, err := readCredentialsFile(path)
		switch {
		case err == nil:
			c = old
		case errors.Is(err, fs.ErrNotExist):
			c = generateCredentials()
		default:
			return Credentials{}, err
		}
	}
	return c, writeCredentialsFile(path, c)
}

func generateCredentials() Credentials {
	const upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	const secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	return Credentials{AccessKeyID: "AKIA" + randomString(16, upper), SecretAccessKey: randomString(40, secretChars)}
}

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func writeCredentialsFile(path string, c Credentials) error {
	body := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", c.AccessKeyID, c.SecretAccessKey)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		return fmt.Errorf("server: write credentials: %w", err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readCredentialsFile(path string) (Credentials, error) {
	f, err := os.Open(path)
	if err != nil {
		return Credentials{}, err
	}
	defer f.Close()
	var c Credentials
	inDefault := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			inDefault = line == "[default]"
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !inDefault {
			continue
		}
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			c.AccessKeyID = strings.TrimSpace(v)
		case "aws_secret_access_key":
			c.SecretAccessKey = strings.TrimSpace(v)
		}
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return Credentials{}, fmt.Errorf("server: %s has no [default] key pair", path)
	}
	return c, sc.Err()
}
