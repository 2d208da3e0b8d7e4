package wasitestsuite

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
)

// stripDebug returns the module without its DWARF custom sections (those
// named .debug_*), and whether it removed any. Custom sections have no
// semantics (https://webassembly.github.io/spec/core/appendix/custom.html);
// DWARF only lets a runtime print source lines in a trap's stack trace,
// which wazero does by parsing the line tables on every trap: seconds per
// failing Rust test (RATIONALE.md, "wasi-testsuite"). The name section is
// kept. A module that does not parse is returned as is, for the runtime to
// refuse.
func stripDebug(mod []byte) ([]byte, bool) {
	if len(mod) < 8 || !bytes.Equal(mod[:4], []byte("\x00asm")) {
		return mod, false
	}
	out := append([]byte(nil), mod[:8]...)
	stripped := false
	for p := 8; p < len(mod); {
		id := mod[p]
		size, n := binary.Uvarint(mod[p+1:])
		if n <= 0 || size > uint64(len(mod)-(p+1+n)) {
			return mod, false
		}
		end := p + 1 + n + int(size)
		if id == 0 {
			name, err := customName(mod[p+1+n : end])
			if err != nil {
				return mod, false
			}
			if strings.HasPrefix(name, ".debug_") {
				stripped = true
				p = end
				continue
			}
		}
		out = append(out, mod[p:end]...)
		p = end
	}
	if !stripped {
		return mod, false
	}
	return out, true
}

func customName(body []byte) (string, error) {
	l, n := binary.Uvarint(body)
	if n <= 0 || l > uint64(len(body)-n) {
		return "", errors.New("bad custom section name")
	}
	return string(body[n : n+int(l)]), nil
}
