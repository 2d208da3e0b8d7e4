package probes

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Line is one record a probe printed on stdout (see PROTOCOL.md): what the
// runtime answered to one step or one call. It is the guest's word, never
// evidence of its own: the harness judges it against the host's view.
type Line struct {
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
func (r Line) OK() bool { return r.Outcome == "ok" }

// Reached reports whether the step reached its object: for a record with
// calls, the first call (the one that resolves the path) succeeded, whatever
// later calls answered; otherwise the call succeeded. A refused step must not
// have reached its object: a directory outside the sandbox that path_open
// opens, and fd_read then answers ISDIR, was reached.
func (r Line) Reached() bool {
	if len(r.Calls) > 0 {
		return r.Calls[0].OK()
	}
	return r.OK()
}

// CallsString renders the record's calls as "path_open=SUCCESS fd_read=ISDIR".
func (r Line) CallsString() string {
	parts := make([]string, len(r.Calls))
	for i, c := range r.Calls {
		parts[i] = c.Call + "=" + c.Errno
	}
	return strings.Join(parts, " ")
}

// ParseLines reads a probe's stdout. Lines that are not records (a
// runtime's own chatter) are returned apart, for the report; they are never
// evidence.
func ParseLines(stdout []byte) (lines []Line, junk []string) {
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var raw struct {
			Line
			Data *string `json:"data"`
		}
		if err := json.Unmarshal(line, &raw); err != nil || raw.Check == "" || raw.Outcome == "" {
			junk = append(junk, Truncate(string(line), 200))
			continue
		}
		rec := raw.Line
		if raw.Data != nil {
			b, err := decodeData(*raw.Data)
			if err != nil {
				junk = append(junk, Truncate(string(line), 200))
				continue
			}
			rec.Data = b
		}
		lines = append(lines, rec)
	}
	return lines, junk
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

// Truncate shortens s to n bytes, marking the cut with "...".
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
