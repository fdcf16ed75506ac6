package remotewrite

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// APIKeyUser is the basic-auth user name under which a sender may present an
// API key as the password (StackState's receiver convention).
const APIKeyUser = "apikey"

// APIKeys authenticates writes by API key. A key is accepted in the
// X-API-Key or sts-api-key header, as "Authorization: Bearer <key>", or as the
// password of basic auth with user "apikey".
type APIKeys struct {
	sums [][sha256.Size]byte
}

// LoadAPIKeys reads API keys from a file, one per line; blank lines and lines
// starting with # are ignored.
func LoadAPIKeys(path string) (*APIKeys, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the API key file: %w", err)
	}
	var keys []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		keys = append(keys, line)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("the API key file %s holds no key", path)
	}
	return NewAPIKeys(keys...), nil
}

// NewAPIKeys accepts the given keys.
func NewAPIKeys(keys ...string) *APIKeys {
	k := &APIKeys{}
	for _, key := range keys {
		k.sums = append(k.sums, sha256.Sum256([]byte(key)))
	}
	return k
}

// presented returns the key the request carries, if any.
func presented(r *http.Request) (string, bool) {
	if v := r.Header.Get("X-API-Key"); v != "" {
		return v, true
	}
	if v := r.Header.Get("sts-api-key"); v != "" {
		return v, true
	}
	if user, pass, ok := r.BasicAuth(); ok {
		return pass, user == APIKeyUser
	}
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(v), true
	}
	return "", false
}

// Authenticate reports whether r carries a valid key. The comparison is in
// constant time over fixed-length digests, against every key.
func (k *APIKeys) Authenticate(r *http.Request) bool {
	key, ok := presented(r)
	if !ok {
		return false
	}
	sum := sha256.Sum256([]byte(key))
	match := 0
	for i := range k.sums {
		match |= subtle.ConstantTimeCompare(sum[:], k.sums[i][:])
	}
	return match == 1
}
