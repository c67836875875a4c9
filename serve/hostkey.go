package serve

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// LoadHostKey returns the server's host key kept at path, making it on the
// first start: an ed25519 key in OpenSSH's format, mode 0600, in a folder
// made 0700, with its public half beside it in path.pub. A key file that
// others may read is refused, as sshd refuses it: the key is what lets
// clients trust that they reach this server. made says whether the key was
// made now.
func LoadHostKey(path string) (signer ssh.Signer, made bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		signer, err = makeHostKey(path)
		if errors.Is(err, fs.ErrExist) {
			// Another server made it in the meantime: use that one.
			return LoadHostKey(path)
		}
		return signer, err == nil, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("read the host key %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, false, fmt.Errorf("read the host key %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, false, fmt.Errorf("the host key %s can be read by others (mode %04o); run chmod 600 %s, or remove it to make a new one (clients will then warn that the host key changed)",
			path, fi.Mode().Perm(), path)
	}
	signer, err = ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, false, fmt.Errorf("the host key %s is not an unencrypted OpenSSH private key (%w); remove it to make a new one (clients will then warn that the host key changed)", path, err)
	}
	return signer, false, nil
}

// makeHostKey writes a new ed25519 key to path, failing with fs.ErrExist
// when the file appeared meanwhile.
func makeHostKey(path string) (ssh.Signer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create the folder of the host key: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("make a host key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "wxscope serve host key")
	if err != nil {
		return nil, fmt.Errorf("make a host key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("make a host key: %w", err)
	}
	// Written to a temporary file and linked into place, so that a crash
	// never leaves half a key, and two servers starting at once agree on one.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".host-key-*")
	if err != nil {
		return nil, fmt.Errorf("write the host key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(pem.EncodeToMemory(block)); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write the host key %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write the host key %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("write the host key %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		return nil, fmt.Errorf("write the host key %s: %w", path, err)
	}
	// The public half is for people to compare fingerprints; failing to
	// write it takes nothing from the server.
	_ = os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644)
	return signer, nil
}
