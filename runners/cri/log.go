package cri

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// CRI log tags (k8s.io/cri-api/pkg/apis/runtime/v1: LogTag*): a full line,
// whose newline the runtime stripped, and a partial one, continued on the
// next line of the same stream.
const (
	tagFull    = "F"
	tagPartial = "P"
)

// maxLogLine bounds one line of a CRI log file: runtimes split longer
// output into partial lines (containerd at 16 KiB), so a longer line is a
// broken file, not output.
const maxLogLine = 1 << 20

// SplitLog splits a container log file in the CRI log format, one line per
// chunk of output: `<RFC 3339 time> <stdout|stderr> <P|F> <content>`
// (https://github.com/kubernetes/design-proposals-archive/blob/main/node/kubelet-cri-logging.md),
// and writes each chunk's content to stdout or stderr, adding back the
// newline a full line (F) stood for. The format cannot tell a last line
// that had no newline from one that had: both come back with one. A line
// that does not parse is an error naming its number.
func SplitLog(r io.Reader, stdout, stderr io.Writer) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, err := readLine(br)
		if err == io.EOF && len(line) == 0 {
			return nil
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("CRI log line %d: %w", n, err)
		}
		// time SP stream SP tag [SP content]
		fields := bytes.SplitN(line, []byte(" "), 4)
		if len(fields) < 3 {
			return fmt.Errorf("CRI log line %d: %q is not `<time> <stream> <tag> <content>`", n, trim(line))
		}
		var w io.Writer
		switch string(fields[1]) {
		case "stdout":
			w = stdout
		case "stderr":
			w = stderr
		default:
			return fmt.Errorf("CRI log line %d: stream %q, want stdout or stderr", n, trim(fields[1]))
		}
		var content []byte
		if len(fields) == 4 {
			content = fields[3]
		}
		// The tag field may carry more flags after ':' (none are defined yet).
		tag, _, _ := bytes.Cut(fields[2], []byte(":"))
		switch string(tag) {
		case tagFull:
			content = append(content, '\n')
		case tagPartial:
		default:
			return fmt.Errorf("CRI log line %d: tag %q, want F or P", n, trim(fields[2]))
		}
		if _, werr := w.Write(content); werr != nil {
			return werr
		}
		if err == io.EOF {
			return nil
		}
	}
}

// readLine reads one '\n'-terminated line without it, bounded by maxLogLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLogLine {
			return nil, fmt.Errorf("longer than %d bytes", maxLogLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == nil {
			line = line[:len(line)-1]
		}
		return line, err
	}
}

func trim(b []byte) []byte {
	if len(b) > 60 {
		return b[:60]
	}
	return b
}
