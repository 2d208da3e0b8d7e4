package naive

import "strings"

// weakPath is WEAKNESSES 11 to 14, the path-syntax mistakes of hosts that
// treat a guest path as a C string or as a host path (see resolve):
//
//  11. A NUL byte ends the path, as in a host that copies it into a C
//     string (uvwasi's snprintf("%s/%s")): "..\x00/x" names "..".
//  12. A backslash separates components, as on Windows (uvwasi's IS_SLASH):
//     sub\..\..\outside is sub/../../outside.
//  13. Trailing slashes are dropped (wasmer #4834): "inside.txt/" opens
//     the file and CREAT of "new/" creates a file named new.
//  14. The empty path names the directory itself, as filepath.Join(dir, "")
//     does.
func weakPath(p string) string {
	if i := strings.IndexByte(p, 0); i >= 0 {
		p = p[:i]
	}
	p = strings.ReplaceAll(p, `\`, "/")
	if t := strings.TrimRight(p, "/"); t != "" {
		p = t
	}
	return p
}
