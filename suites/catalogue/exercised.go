package catalogue

import (
	"fmt"
	"strings"

	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/suites"
)

// noteUnmadeLinks is the judge of specs whose guest first makes an outward
// symlink (a Tolerate step: creating it may be refused) and then tries to
// follow it. When the runtime refused to make the link, the following was
// not exercised: the spec still passes, but says so in a note naming the
// errno and the steps that went through the missing link, so a report
// never reads a refusal to create as a refusal to follow.
func noteUnmadeLinks(ev *suites.Evidence) suites.Judgement {
	j := suites.Pass()
	for _, st := range ev.Plan.Steps {
		if st.Op != probes.OpSymlink || st.Expect != suites.Tolerate || len(st.Args) < 3 {
			continue
		}
		r, ok := ev.Line(st.Check)
		if !ok || r.OK() {
			continue
		}
		var through []string
		for _, use := range ev.Plan.Steps {
			if use.Op != probes.OpSymlink && len(use.Args) > 1 && use.Args[0] == st.Args[1] && throughLink(use.Args[1], st.Args[2]) {
				through = append(through, use.Check)
			}
		}
		note := fmt.Sprintf("not exercised: %s answered %s, so following the outward link was not tested", symlinkCall(st), r.Errno)
		if len(through) > 0 {
			note += " (" + strings.Join(through, ", ") + ")"
		}
		j.Notes = append(j.Notes, note)
	}
	return j
}

// throughLink reports whether path resolves through the link named link
// (as its first component).
func throughLink(path, link string) bool {
	return path == link || strings.HasPrefix(path, link+"/")
}

// symlinkCall renders a symlink step as the WASI call it makes:
// path_symlink(target, dir, path).
func symlinkCall(st suites.Step) string {
	return fmt.Sprintf("path_symlink(%q, %q, %q)", st.Args[0], st.Args[1], st.Args[2])
}
