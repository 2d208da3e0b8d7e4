package suites

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
)

// Record is one line a probe printed (see probes/PROTOCOL.md).
type Record struct {
	Check   string `json:"check"`
	Op      string `json:"op"`
	Call    string `json:"call,omitempty"`
	Outcome string `json:"outcome"`
	Errno   string `json:"errno"`
	// Data holds the bytes the call returned, decoded from the protocol's
	// one-code-point-per-byte string.
	Data  string `json:"-"`
	FD    *int   `json:"fd,omitempty"`
	Count *int   `json:"count,omitempty"`
	Size  *int   `json:"size,omitempty"`
}

// OK reports whether the call succeeded.
func (r Record) OK() bool { return r.Outcome == "ok" }

// ParseRecords reads a probe's stdout. Lines that are not records (a
// runtime's own chatter) are returned apart, for the report; they are never
// evidence.
func ParseRecords(stdout []byte) (records []Record, junk []string) {
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var raw struct {
			Record
			Data *string `json:"data"`
		}
		if err := json.Unmarshal(line, &raw); err != nil || raw.Check == "" || raw.Outcome == "" {
			junk = append(junk, truncate(string(line), 200))
			continue
		}
		rec := raw.Record
		if raw.Data != nil {
			b, err := decodeData(*raw.Data)
			if err != nil {
				junk = append(junk, truncate(string(line), 200))
				continue
			}
			rec.Data = b
		}
		records = append(records, rec)
	}
	return records, junk
}

// decodeData maps the protocol's code points U+0000..U+00FF back to bytes.
func decodeData(s string) (string, error) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xFF {
			return "", fmt.Errorf("data holds code point U+%04X, outside the one-byte range", r)
		}
		b = append(b, byte(r))
	}
	return string(b), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
