package engine

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// A checkpoint is stored as bytes whose format is a contract: a release reads what the previous
// ones wrote. Format 1 (release 0.1.0) is a JSON object with the ids seen in clear; format 2 is
//
//	"SACP" 0x02 | uvarint n, n bytes of JSON header | uvarint m, m seen entries
//
// where the header holds the scalar fields and every seen entry, oldest first, is a uvarint of
// (ms − previous ms) << 1 | gone, then the record key's 64-bit hash, little-endian. Format 1 is
// converted on read (its ids hashed), so an upgrade resumes where the previous release stopped.

var checkpointMagic = []byte("SACP\x02")

// maxHeaderBytes bounds the JSON header: cursors are short, a stream keeps at most maxBackfills
// spans to read again and maxKept times.
const (
	maxHeaderBytes = 16 << 10
	maxBackfills   = 64
	maxKept        = 128
	// maxSpanMs bounds the times entries are kept at (unix ms below 2^45: before the year 3000).
	maxSpanMs = 1 << 45
)

// header is format 2's JSON part.
type header struct {
	Watermark time.Time            `json:"watermark,omitzero"`
	Cursor    string               `json:"cursor,omitempty"`
	Verified  time.Time            `json:"verified,omitzero"`
	Backfills []Backfill           `json:"backfills,omitempty"`
	Kept      map[string]time.Time `json:"kept,omitempty"`
	// SeenBase is the time of the oldest seen entry, which the first delta is taken from.
	SeenBase int64 `json:"seen_base,omitempty"`
}

// formatV1 is release 0.1.0's checkpoint.
type formatV1 struct {
	Watermark time.Time        `json:"watermark,omitzero"`
	Cursor    string           `json:"cursor,omitempty"`
	Seen      map[string]int64 `json:"seen,omitempty"`
}

// Encode writes cp in the current format.
func (cp *Checkpoint) Encode() []byte {
	entries := cp.seen.sorted()
	h := header{Watermark: cp.Watermark, Cursor: cp.Cursor, Verified: cp.Verified, Backfills: cp.Backfills, Kept: cp.Kept}
	if len(entries) > 0 {
		h.SeenBase = entries[0].ms
	}
	head, _ := json.Marshal(h) // a struct of times and strings always encodes
	buf := make([]byte, 0, len(checkpointMagic)+2*binary.MaxVarintLen64+len(head)+len(entries)*11)
	buf = append(buf, checkpointMagic...)
	buf = binary.AppendUvarint(buf, uint64(len(head)))
	buf = append(buf, head...)
	buf = binary.AppendUvarint(buf, uint64(len(entries)))
	prev := h.SeenBase
	for _, e := range entries {
		delta := uint64(e.ms-prev) << 1
		if e.gone {
			delta |= 1
		}
		buf = binary.AppendUvarint(buf, delta)
		buf = binary.LittleEndian.AppendUint64(buf, e.hash)
		prev = e.ms
	}
	return buf
}

// DecodeCheckpoint reads a stored checkpoint of any format a release wrote.
func DecodeCheckpoint(data []byte) (*Checkpoint, error) {
	if bytes.HasPrefix(data, checkpointMagic) {
		return decodeV2(data[len(checkpointMagic):])
	}
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
		return decodeV1(trimmed)
	}
	return nil, errors.New("not a checkpoint of any known format")
}

func decodeV1(data []byte) (*Checkpoint, error) {
	var v1 formatV1
	if err := json.Unmarshal(data, &v1); err != nil {
		return nil, fmt.Errorf("format 1: %w", err)
	}
	cp := &Checkpoint{Watermark: v1.Watermark, Cursor: v1.Cursor, seen: newSeenSet(len(v1.Seen))}
	for key, ms := range v1.Seen {
		cp.seen.entries[seenHash(key)] = seenEntry{ms: ms}
	}
	return cp, nil
}

func decodeV2(data []byte) (*Checkpoint, error) {
	r := bytes.NewReader(data)
	n, err := binary.ReadUvarint(r)
	if err != nil || n > uint64(r.Len()) {
		return nil, errors.New("format 2: truncated header")
	}
	head := make([]byte, n)
	_, _ = r.Read(head)
	var h header
	if err := json.Unmarshal(head, &h); err != nil {
		return nil, fmt.Errorf("format 2 header: %w", err)
	}
	count, err := binary.ReadUvarint(r)
	if err != nil || count > uint64(r.Len())/9 {
		return nil, errors.New("format 2: truncated seen entries")
	}
	cp := &Checkpoint{Watermark: h.Watermark, Cursor: h.Cursor, Verified: h.Verified, Backfills: h.Backfills, Kept: h.Kept, seen: newSeenSet(int(count))}
	ms := h.SeenBase
	for range count {
		delta, err := binary.ReadUvarint(r)
		var hash [8]byte
		if _, rerr := r.Read(hash[:]); err != nil || rerr != nil {
			return nil, errors.New("format 2: truncated seen entry")
		}
		ms += int64(delta >> 1)
		cp.seen.entries[binary.LittleEndian.Uint64(hash[:])] = seenEntry{ms: ms, gone: delta&1 == 1}
	}
	if r.Len() != 0 {
		return nil, errors.New("format 2: trailing bytes")
	}
	return cp, nil
}

// MaxCheckpointBytes bounds the size of a stored checkpoint remembering at most maxSeen records,
// for storage that limits a value's size (etcd: 1.5 MiB a request). Entries are sorted, so their
// deltas add up to at most maxSpanMs; a uvarint of d takes at most 1 + log2(d+1)/7 bytes, and
// by concavity the total is largest when every delta is equal.
func MaxCheckpointBytes(maxSeen int) int {
	n := float64(max(maxSeen, 1))
	perEntry := 8 + 1 + math.Log2(2*maxSpanMs/n+1)/7
	return len(checkpointMagic) + 2*binary.MaxVarintLen64 + maxHeaderBytes + int(math.Ceil(n*perEntry))
}
