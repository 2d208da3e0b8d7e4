package certify

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/wasicert/wasicert/reports"
)

// Bundle file names.
const (
	FileJUnit       = "junit.xml"
	FileResults     = "results.jsonl"
	FileRecords     = "records.jsonl"
	FileSummary     = "summary.json"
	FileLog         = "run.log"
	FileCertificate = "certificate.json"
	FileCertMD      = "certificate.md"
	FileStatement   = "attestation.intoto.json"
	FileEnvelope    = "attestation.dsse.json"
	FileManifest    = "manifest.json"
)

// EvidenceFiles are the files a run writes into a bundle; the certificate
// holds their digests.
var EvidenceFiles = []string{FileJUnit, FileResults, FileRecords, FileSummary, FileLog}

// Manifest lists every file of a bundle but itself, with its SHA-256.
type Manifest struct {
	Format int               `json:"format"`
	Files  map[string]string `json:"files"`
}

// CheckOutDir checks that dir can take a new bundle: it does not exist, or
// is an empty directory. Its error is one line.
func CheckOutDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("--out %s: %v", dir, err)
	case len(entries) > 0:
		return fmt.Errorf("--out %s exists and is not empty: a bundle goes into a new or empty directory (remove it, or choose another)", dir)
	}
	return nil
}

// FileDigest is the hex SHA-256 of the file at path.
func FileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// HashEvidence fills c.Evidence from the evidence files present in dir.
func (c *Certificate) HashEvidence(dir string) error {
	c.Evidence = map[string]string{}
	for _, name := range EvidenceFiles {
		d, err := FileDigest(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		c.Evidence[name] = d
	}
	return nil
}

// Write writes the certificate, its Markdown, the in-toto statement, the
// signed envelope when key is not nil, and last the manifest into dir,
// each file atomically. The evidence files must be there already
// (HashEvidence has hashed them).
func Write(dir string, c Certificate, key ed25519.PrivateKey) error {
	cj, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := reports.WriteFileAtomic(filepath.Join(dir, FileCertificate), append(cj, '\n')); err != nil {
		return err
	}
	if err := reports.WriteFileAtomic(filepath.Join(dir, FileCertMD), []byte(Markdown(c))); err != nil {
		return err
	}
	st, err := Statement(c)
	if err != nil {
		return err
	}
	if err := reports.WriteFileAtomic(filepath.Join(dir, FileStatement), st); err != nil {
		return err
	}
	if key != nil {
		env, err := Sign(st, key)
		if err != nil {
			return err
		}
		if err := reports.WriteFileAtomic(filepath.Join(dir, FileEnvelope), env); err != nil {
			return err
		}
	}
	m := Manifest{Format: Format, Files: map[string]string{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == FileManifest || !e.Type().IsRegular() {
			continue
		}
		d, err := FileDigest(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		m.Files[e.Name()] = d
	}
	mj, _ := json.MarshalIndent(m, "", "  ")
	return reports.WriteFileAtomic(filepath.Join(dir, FileManifest), append(mj, '\n'))
}

// Markdown renders the certificate for people.
func Markdown(c Certificate) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# wasicert certificate: %s %s\n\n", c.Runtime, c.RuntimeVersion)
	fmt.Fprintf(&b, "**Verdict: %s**", strings.ToUpper(c.Verdict))
	if !c.Complete {
		fmt.Fprintf(&b, " (%s)", c.Incomplete)
	}
	b.WriteString("\n\n| | |\n|---|---|\n")
	arch := c.Arch
	if c.Emulated != "" {
		arch += " (emulated: " + c.Emulated + ")"
	}
	for _, kv := range [][2]string{
		{"runtime", c.Runtime + " " + c.RuntimeVersion},
		{"subject", fmt.Sprintf("%s sha256:%s", c.Subject.Name, c.Subject.Digest["sha256"])},
		{"platform", fmt.Sprintf("%s/%s, kernel %s", c.OS, arch, c.Kernel)},
		{"wasicert", c.Wasicert},
		{"probe set", c.Probes},
		{"catalogue", c.Catalogue},
		{"run", fmt.Sprintf("%s to %s", c.Started.UTC().Format("2006-01-02 15:04:05Z"), c.Ended.UTC().Format("15:04:05Z"))},
		{"host files", c.HostFiles},
	} {
		fmt.Fprintf(&b, "| %s | %s |\n", kv[0], kv[1])
	}
	b.WriteString("\n## Verdicts by profile and level\n\n| profile | level | specs | passed | failed | skipped | verdict |\n|---|---|---|---|---|---|---|\n")
	for _, p := range c.Profiles {
		for _, l := range p.Levels {
			v := ""
			if l.Level == "MUST" {
				v = p.Verdict
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %s |\n", p.Name, l.Level, l.Specs, l.Passed, len(l.Failed), len(l.Skipped), v)
		}
	}
	b.WriteString("\n## Counts (before expectations)\n\n")
	var vs []string
	for v, n := range c.Counts {
		vs = append(vs, fmt.Sprintf("%s %d", v, n))
	}
	sort.Strings(vs)
	b.WriteString(strings.Join(vs, ", ") + "\n")
	b.WriteString("\n## Host-side detections (specs each ran for, of " + fmt.Sprint(c.Judged) + " judged)\n\n")
	var checks []string
	for k, n := range c.HostChecks {
		checks = append(checks, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(checks)
	b.WriteString(strings.Join(checks, ", ") + "\n")
	for _, p := range c.Profiles {
		for _, l := range p.Levels {
			if len(l.Failed) == 0 && len(l.Skipped) == 0 {
				continue
			}
			fmt.Fprintf(&b, "\n## %s %s\n\n", p.Name, l.Level)
			for _, f := range l.Failed {
				known := ""
				if f.Known {
					known = " (known deviation)"
				}
				fmt.Fprintf(&b, "- **%s** %s%s: %s %s\n", f.Spec, f.Verdict, known, oneLine(f.Reason), f.Ref)
			}
			for _, f := range l.Skipped {
				fmt.Fprintf(&b, "- %s skipped: %s\n", f.Spec, oneLine(f.Reason))
			}
		}
	}
	return b.String()
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 240 {
		s = s[:240] + "..."
	}
	return s
}

// Verified is what Verify established about a bundle.
type Verified struct {
	Certificate Certificate
	// Signed: the bundle has a signed envelope; SignatureChecked: it was
	// checked against the key given.
	Signed, SignatureChecked bool
}

// Verify checks a bundle: every file against the manifest (none missing,
// none added, none changed), the certificate's evidence digests, the
// statement against the certificate, the probe and catalogue digests
// against probes and catalogue (this wasicert's), the certificate's
// verdicts against the results they were judged from (judge), and, when
// pub is not nil, the envelope's signature. Its error is one line naming
// what failed.
func Verify(dir string, pub ed25519.PublicKey, probes, catalogue string, judge func(Certificate) (Certificate, error)) (Verified, error) {
	var v Verified
	raw, err := os.ReadFile(filepath.Join(dir, FileManifest))
	if err != nil {
		return v, fmt.Errorf("%s is not a bundle: %v", dir, err)
	}
	var m Manifest
	if err := strictJSON(raw, &m); err != nil {
		return v, fmt.Errorf("%s: %v", FileManifest, err)
	}
	if m.Format > Format {
		return v, fmt.Errorf("%s: bundle format %d is newer than this wasicert's (%d): verify it with the wasicert that made it", FileManifest, m.Format, Format)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return v, err
	}
	for _, e := range entries {
		if _, ok := m.Files[e.Name()]; !ok && e.Name() != FileManifest {
			return v, fmt.Errorf("%s is in the bundle but not in its manifest: a bundle holds only what certify wrote", e.Name())
		}
	}
	names := make([]string, 0, len(m.Files))
	for name := range m.Files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if name != filepath.Base(name) || name == "." || name == ".." {
			return v, fmt.Errorf("%s: %q is not a file name in the bundle", FileManifest, name)
		}
		d, err := FileDigest(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return v, fmt.Errorf("the bundle is missing %s, which its manifest lists", name)
		}
		if err != nil {
			return v, err
		}
		if d != m.Files[name] {
			return v, fmt.Errorf("%s was changed after the bundle was made (sha256 %s, the manifest says %s)", name, d[:12], short(m.Files[name]))
		}
	}
	for _, need := range []string{FileCertificate, FileStatement} {
		if _, ok := m.Files[need]; !ok {
			return v, fmt.Errorf("the bundle is missing %s", need)
		}
	}
	craw, _ := os.ReadFile(filepath.Join(dir, FileCertificate))
	var c Certificate
	if err := strictJSON(craw, &c); err != nil {
		return v, fmt.Errorf("%s: %v", FileCertificate, err)
	}
	if c.Format > Format {
		return v, fmt.Errorf("%s: certificate format %d is newer than this wasicert's (%d)", FileCertificate, c.Format, Format)
	}
	for _, name := range EvidenceFiles {
		if want, ok := c.Evidence[name]; ok && m.Files[name] != want {
			return v, fmt.Errorf("%s differs from the one the certificate was made from", name)
		}
	}
	if c.Probes != probes {
		return v, fmt.Errorf("the bundle was made with other probes (probe set %s, this wasicert's is %s): verify it with the wasicert that made it", short(c.Probes), short(probes))
	}
	if c.Catalogue != catalogue {
		return v, fmt.Errorf("the bundle was made against another catalogue (%s, this wasicert's is %s): verify it with the wasicert that made it", short(c.Catalogue), short(catalogue))
	}
	st, _ := os.ReadFile(filepath.Join(dir, FileStatement))
	if err := checkStatement(st, c); err != nil {
		return v, fmt.Errorf("%s: %v", FileStatement, err)
	}
	if judge != nil {
		again, err := judge(c)
		if err != nil {
			return v, err
		}
		a, _ := json.Marshal(again.Profiles)
		b, _ := json.Marshal(c.Profiles)
		if !bytes.Equal(a, b) || again.Verdict != c.Verdict {
			return v, fmt.Errorf("the certificate's verdicts are not what its results give (%s, the results give %s)", c.Verdict, again.Verdict)
		}
	}
	v.Certificate = c
	env, err := os.ReadFile(filepath.Join(dir, FileEnvelope))
	switch {
	case errors.Is(err, os.ErrNotExist):
		if pub != nil {
			return v, fmt.Errorf("the bundle is not signed (no %s) but --pubkey was given", FileEnvelope)
		}
	case err != nil:
		return v, err
	default:
		v.Signed = true
		if pub != nil {
			if err := VerifySignature(env, st, pub); err != nil {
				return v, err
			}
			v.SignatureChecked = true
		}
	}
	return v, nil
}

func short(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		return d[:12]
	}
	return d
}

// strictJSON decodes raw into v, refusing unknown fields.
func strictJSON(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
