package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Identifiers and secrets are base62 so they survive URLs, shells and
// copy-paste without quoting.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func isBase62(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

// Lengths of generated values. A secret carries 40*log2(62) ≈ 238 bits,
// an id about 95: ids are not secret, they only must not collide.
const (
	secretPrefix = "lg_"
	secretChars  = 40
	idChars      = 16
	// displayPrefixLen is how much of a secret the store keeps in the
	// clear, enough to tell keys apart in a list and no more.
	displayPrefixLen = 8
)

// randomBase62 returns n characters from crypto/rand. Bytes of 248 and
// above are rejected so that every character is equally likely (248 is
// the largest multiple of 62 that fits a byte).
func randomBase62(n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4+4)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("reading random bytes: %w", err)
		}
		for _, b := range buf {
			if b < 248 && len(out) < n {
				out = append(out, base62[b%62])
			}
		}
	}
	return string(out), nil
}

func newID(prefix string) (string, error) {
	r, err := randomBase62(idChars)
	if err != nil {
		return "", err
	}
	return prefix + r, nil
}

// newSecret returns a fresh gateway key secret with its hash and display
// prefix, the only two parts the store keeps.
func newSecret() (secret, hash, prefix string, err error) {
	r, err := randomBase62(secretChars)
	if err != nil {
		return "", "", "", err
	}
	secret = secretPrefix + r
	return secret, HashSecret(secret), secret[:displayPrefixLen], nil
}

// HashSecret is the hex sha256 under which a secret is stored and looked
// up; LookupKey(ctx, HashSecret(secret)) authenticates a secret.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
