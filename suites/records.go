package suites

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
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
	// Calls lists every call of a multi-call op (open, write, open-rights,
	// libc-open), in order; the first is the call that resolves the path.
	// Single-call ops have none.
	Calls []CallAnswer `json:"calls,omitempty"`
	// DirInheriting, RightsBase and RightsInheriting are open-rights' rights:
	// the directory's fs_rights_inheriting and the new fd's fdstat rights.
	DirInheriting    *uint64 `json:"dir_inheriting,omitempty"`
	RightsBase       *uint64 `json:"rights_base,omitempty"`
	RightsInheriting *uint64 `json:"rights_inheriting,omitempty"`
}

// CallAnswer is one call of a multi-call op and the runtime's answer.
type CallAnswer struct {
	Call  string `json:"call"`
	Errno string `json:"errno"`
}

// OK reports whether the call succeeded.
func (c CallAnswer) OK() bool { return c.Errno == "SUCCESS" }

// OK reports whether the call succeeded (for a multi-call op: every call).
func (r Record) OK() bool { return r.Outcome == "ok" }

// Reached reports whether the step reached its object: for a record with
// calls, the first call (the one that resolves the path) succeeded, whatever
// later calls answered; otherwise the call succeeded. A refused step must not
// have reached its object: a directory outside the sandbox that path_open
// opens, and fd_read then answers ISDIR, was reached.
func (r Record) Reached() bool {
	if len(r.Calls) > 0 {
		return r.Calls[0].OK()
	}
	return r.OK()
}

// CallsString renders the record's calls as "path_open=SUCCESS fd_read=ISDIR".
func (r Record) CallsString() string {
	parts := make([]string, len(r.Calls))
	for i, c := range r.Calls {
		parts[i] = c.Call + "=" + c.Errno
	}
	return strings.Join(parts, " ")
}

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
