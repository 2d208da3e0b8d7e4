package main

import (
	"bufio"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"
)

// upstreamHosts are the hosts the docs may link to (https only). A link
// elsewhere is a mistake or a new upstream: add it here on purpose.
var upstreamHosts = []string{
	"github.com", // WASI, wasi-filesystem, wasi-testsuite, the runtimes, containerd, advisories
	"wazero.io",  // wazero
	"pkg.go.dev", // Go API docs
	"go.dev",     // Go
	"nodejs.org", // node:wasi
	"bun.sh",     // Bun
	"docs.wasmtime.dev",
	"man7.org", // Linux man pages
	"pubs.opengroup.org",
	"webassembly.github.io", // the core WebAssembly spec
	"docs.docker.com",       // the Docker engine's CLI and logging reference (engine specs)
	"kubernetes.io",         // the Kubernetes docs (pod specs)
}

// outsideRefs are ways the docs once pointed at notes that are not in the
// repository (design references, issue numbers of a tracker that is not
// public). Say what is meant, or link upstream.
var outsideRefs = regexp.MustCompile(`\.\./shared|shared/reference|capability-catalogue|\bruntimes\.md\b|catalogue'?s? [A-E]\.[0-9]|\b[Ii]ssue [0-9]+\b`)

// TestLinks: every link in the repository's Markdown resolves. A relative
// link names a file or directory inside the repository, and its #anchor a
// heading of that file; an absolute one is https to an upstream host; a
// path in backticks that starts with one of the repository's top-level
// directories names something that exists; and no text points at notes
// outside the repository. No network access: upstream links are checked
// for form only.
func TestLinks(t *testing.T) {
	repo, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	docs := markdownFiles(t, repo)
	for _, want := range []string{"README.md", "RATIONALE.md", "docs/shim.md"} {
		if !slices.Contains(docs, want) {
			t.Fatalf("markdown files %v: %s missing", docs, want)
		}
	}
	anchors := map[string][]string{}
	for _, d := range docs {
		anchors[d] = headingAnchors(t, filepath.Join(repo, d))
	}
	tops := topDirs(t, repo)
	for _, d := range docs {
		for _, p := range checkDoc(t, repo, d, anchors, tops) {
			t.Error(p)
		}
	}
}

// checkDoc returns every problem with the links and paths of one file.
func checkDoc(t *testing.T, repo, doc string, anchors map[string][]string, tops []string) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repo, doc))
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	bad := func(n ast.Node, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s:%d: ", doc, lineOf(src, n))+fmt.Sprintf(format, args...))
	}
	tree := goldmark.DefaultParser().Parse(text.NewReader(src))
	err = ast.Walk(tree, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link:
			if p := checkLink(repo, doc, string(n.Destination), anchors); p != "" {
				bad(n, "%s", p)
			}
		case *ast.Image:
			if p := checkLink(repo, doc, string(n.Destination), anchors); p != "" {
				bad(n, "%s", p)
			}
		case *ast.AutoLink:
			if p := checkLink(repo, doc, string(n.URL(src)), anchors); p != "" {
				bad(n, "%s", p)
			}
		case *ast.CodeSpan:
			if p := checkPath(repo, string(n.Text(src)), tops); p != "" {
				bad(n, "%s", p)
			}
		}
		return ast.WalkContinue, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(src)))
	for i := 1; sc.Scan(); i++ {
		for _, m := range outsideRefs.FindAllString(sc.Text(), -1) {
			problems = append(problems, fmt.Sprintf("%s:%d: %q points outside the repository: say what it means, or link upstream", doc, i, m))
		}
	}
	return problems
}

// checkLink says what is wrong with one link target of doc, or "".
func checkLink(repo, doc, dest string, anchors map[string][]string) string {
	u, err := url.Parse(dest)
	if err != nil {
		return fmt.Sprintf("link %q does not parse: %v", dest, err)
	}
	if u.Scheme != "" || u.Host != "" {
		if u.Scheme != "https" {
			return fmt.Sprintf("link %q: use https", dest)
		}
		for _, h := range upstreamHosts {
			if u.Host == h {
				return ""
			}
		}
		return fmt.Sprintf("link %q: %s is not an upstream host the docs cite (upstreamHosts in %s)", dest, u.Host, "internal/docgen/links_test.go")
	}
	target := doc
	if u.Path != "" {
		target = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(doc), u.Path)))
		if target == ".." || strings.HasPrefix(target, "../") || filepath.IsAbs(u.Path) {
			return fmt.Sprintf("link %q leads out of the repository: link the file upstream, or bring it in", dest)
		}
		if _, err := os.Stat(filepath.Join(repo, target)); err != nil {
			return fmt.Sprintf("link %q: %s does not exist in the repository", dest, target)
		}
	}
	if u.Fragment != "" {
		heads, ok := anchors[target]
		if !ok {
			return fmt.Sprintf("link %q: #%s points into %s, which is not a Markdown file of the repository", dest, u.Fragment, target)
		}
		if !slices.Contains(heads, u.Fragment) {
			return fmt.Sprintf("link %q: %s has no heading #%s (it has %v)", dest, target, u.Fragment, heads)
		}
	}
	return ""
}

var (
	pathLike    = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.*<>{},-]*)+$`)
	braces      = regexp.MustCompile(`\{([^{}]*)\}`)
	placeholder = regexp.MustCompile(`<[^<>/]*>`)
	goQualified = regexp.MustCompile(`^(.*)\.[A-Z][A-Za-z0-9_]*$`)
)

// checkPath says what is wrong with a path in backticks, or "". Only
// paths under one of the repository's top-level directories are checked
// (`sandbox/` is a fixture's, `out/` is made by a run); `<x>` stands for
// any name, `{a,b}` for each of a and b, and `pkg/path.Name` for a Go
// identifier in the package at pkg/path.
func checkPath(repo, span string, tops []string) string {
	if !pathLike.MatchString(span) {
		return ""
	}
	first, _, _ := strings.Cut(span, "/")
	if !slices.Contains(tops, first) {
		return ""
	}
	for _, p := range expandBraces(span) {
		p = placeholder.ReplaceAllString(p, "*")
		matches, _ := filepath.Glob(filepath.Join(repo, p))
		if len(matches) > 0 {
			continue
		}
		if m := goQualified.FindStringSubmatch(p); m != nil {
			if st, err := os.Stat(filepath.Join(repo, m[1])); err == nil && st.IsDir() {
				continue
			}
		}
		return fmt.Sprintf("`%s`: %s does not exist in the repository (moved? say where it is now)", span, p)
	}
	return ""
}

func expandBraces(s string) []string {
	m := braces.FindStringSubmatchIndex(s)
	if m == nil {
		return []string{s}
	}
	var out []string
	for _, alt := range strings.Split(s[m[2]:m[3]], ",") {
		out = append(out, expandBraces(s[:m[0]]+alt+s[m[1]:])...)
	}
	return out
}

// markdownFiles lists the repository's Markdown files, relative to repo,
// leaving out what .gitignore keeps out of the repository.
func markdownFiles(t *testing.T, repo string) []string {
	t.Helper()
	ignored := ignoredTops(t, repo)
	var out []string
	err := filepath.WalkDir(repo, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repo, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() && rel != "." && (d.Name() == ".git" || d.Name() == "node_modules" || slices.Contains(ignored, rel)) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// topDirs are the repository's own top-level directories.
func topDirs(t *testing.T, repo string) []string {
	t.Helper()
	ignored := ignoredTops(t, repo)
	entries, err := os.ReadDir(repo)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != ".git" && !slices.Contains(ignored, e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

// ignoredTops reads the top-level directories .gitignore names ("/out/").
func ignoredTops(t *testing.T, repo string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, ".gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "/") && strings.HasSuffix(l, "/") && strings.Count(l, "/") == 2 {
			out = append(out, strings.Trim(l, "/"))
		}
	}
	return out
}

// headingAnchors lists the anchors GitHub gives a file's headings.
func headingAnchors(t *testing.T, path string) []string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	seen := map[string]int{}
	tree := goldmark.DefaultParser().Parse(text.NewReader(src))
	_ = ast.Walk(tree, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if h, ok := n.(*ast.Heading); ok && entering {
			slug := slugify(string(h.Text(src)))
			if k := seen[slug]; k > 0 {
				out = append(out, fmt.Sprintf("%s-%d", slug, k))
			} else {
				out = append(out, slug)
			}
			seen[slug]++
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return out
}

// slugify is GitHub's heading anchor: lower case, punctuation dropped
// (but - and _), spaces to -.
func slugify(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// lineOf is the line of a node's first text, for messages.
func lineOf(src []byte, n ast.Node) int {
	for ; n != nil; n = n.Parent() {
		if n.Type() == ast.TypeBlock && n.Lines().Len() > 0 {
			return strings.Count(string(src[:n.Lines().At(0).Start]), "\n") + 1
		}
		if c := n.FirstChild(); c != nil {
			if tx, ok := c.(*ast.Text); ok {
				return strings.Count(string(src[:tx.Segment.Start]), "\n") + 1
			}
		}
	}
	return 0
}

// TestLinksCatchBreakage runs the check on a small repository holding one
// of each mistake and expects each to be reported, and the good links not.
func TestLinksCatchBreakage(t *testing.T) {
	repo := t.TempDir()
	files := map[string]string{
		".gitignore":     "/out/\n",
		"docs/a.md":      "# Title\n\n## Same\n\n## Same\n",
		"runners/x/x.go": "package x\n",
		"out/matrix.md":  "made by a run\n",
		"ci/start.sh":    "",
		"README.md": "# Read me\n\n" +
			"good: [a](docs/a.md) [b](docs/a.md#same-1) [c](#read-me) [d](https://github.com/x/y#z) [e](docs/) " +
			"`runners/x` `runners/x.Name` `ci/{start}.sh` `runners/<name>/x.go` `sandbox/x` `out/matrix.md` `out/nope`\n\n" +
			"```sh\n[f](nope.md) `runners/nope`\n```\n\n" +
			"bad: [1](docs/b.md) [2](docs/a.md#nope) [3](#nope) [4](http://github.com/x) [5](https://example.com) " +
			"[6](../shared/reference/runtimes.md) [7](ci/start.sh#top) `runners/y/x.go` `ci/{start,stop}.sh`\n\n" +
			"Also runtimes.md, issue 2 and capability-catalogue C.4.\n",
	}
	for name, body := range files {
		p := filepath.Join(repo, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	docs := markdownFiles(t, repo)
	if !slices.Equal(docs, []string{"README.md", "docs/a.md"}) {
		t.Errorf("markdown files %v: want README.md and docs/a.md (out/ is ignored)", docs)
	}
	anchors := map[string][]string{}
	for _, d := range docs {
		anchors[d] = headingAnchors(t, filepath.Join(repo, d))
	}
	got := strings.Join(checkDoc(t, repo, "README.md", anchors, topDirs(t, repo)), "\n")
	for _, want := range []string{
		`"docs/b.md": docs/b.md does not exist`,
		`"docs/a.md#nope": docs/a.md has no heading #nope`,
		`"#nope": README.md has no heading`,
		`"http://github.com/x": use https`,
		`example.com is not an upstream host`,
		`"../shared/reference/runtimes.md" leads out of the repository`,
		`"ci/start.sh#top": #top points into ci/start.sh, which is not a Markdown file`,
		"`runners/y/x.go`: runners/y/x.go does not exist",
		"`ci/{start,stop}.sh`: ci/stop.sh does not exist",
		`"../shared" points outside`,
		`"runtimes.md" points outside`,
		`"issue 2" points outside`,
		`"capability-catalogue" points outside`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("not reported: %s", want)
		}
	}
	if n := strings.Count(got, "\n") + 1; n != 14 {
		t.Errorf("%d problems, want 14 (those above, runtimes.md also in link 6's text), none from the good line or the code block:\n%s", n, got)
	}
}
