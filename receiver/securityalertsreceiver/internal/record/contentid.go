package record

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// ContentID is a stable id for a vendor object that carries none: the SHA-256 of its canonical
// JSON (encoding/json writes map keys sorted, and json.Number as it was read). The same object
// read again has the same id, so re-reads de-duplicate; a changed object is a new version.
func ContentID(obj map[string]any) string {
	canonical, _ := json.Marshal(obj) // decoded JSON always encodes
	sum := sha256.Sum256(canonical)
	return "sha256:" + hex.EncodeToString(sum[:])
}
