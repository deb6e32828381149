package localstack

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"

	"example.com/graphmcp/internal/tokenformat"
)

// keysFile holds the gateway's key material when Options.Persist is set: the local equivalent
// of the Key Vault secrets behind the named values.
const keysFile = "gateway-keys.json"

type persistedKeys struct {
	TokenKeyID string `json:"token_key_id"`
	TokenEnc   []byte `json:"token_enc_key"`
	TokenMAC   []byte `json:"token_mac_key"`
	CookieKey  []byte `json:"cookie_key"`
}

// newKeys draws a fresh token key set and cookie key.
func (s *Stack) newKeys() error {
	kid := make([]byte, 4)
	rand.Read(kid)
	key, err := tokenformat.NewKey(fmt.Sprintf("k%x", kid))
	if err != nil {
		return err
	}
	s.Keys = []tokenformat.Key{key}
	s.CookieKey = make([]byte, 32)
	rand.Read(s.CookieKey)
	return nil
}

// loadOrCreateKeys reuses the keys in path, or draws new ones and writes them there (0600).
// A file that does not parse is an error, not silently replaced: replacing it would log every
// user out, and the person should decide (delete the file to start over).
func (s *Stack) loadOrCreateKeys(path string) error {
	b, err := os.ReadFile(path)
	if err == nil {
		var p persistedKeys
		if err := json.Unmarshal(b, &p); err != nil || p.TokenKeyID == "" || len(p.TokenEnc) != 32 || len(p.TokenMAC) != 32 || len(p.CookieKey) != 32 {
			return fmt.Errorf("localstack: %s is not a valid key file; delete it to generate new keys", path)
		}
		s.Keys = []tokenformat.Key{{ID: p.TokenKeyID, Enc: p.TokenEnc, MAC: p.TokenMAC}}
		s.CookieKey = p.CookieKey
		return nil
	}
	if !os.IsNotExist(err) {
		return fmt.Errorf("localstack: read key file: %w", err)
	}
	if err := s.newKeys(); err != nil {
		return err
	}
	k := s.Keys[0]
	b, _ = json.Marshal(persistedKeys{TokenKeyID: k.ID, TokenEnc: k.Enc, TokenMAC: k.MAC, CookieKey: s.CookieKey})
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("localstack: create %s: %w", s.Dir, err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("localstack: write key file: %w", err)
	}
	return nil
}
