package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/wasicert/wasicert/certify"
	"github.com/wasicert/wasicert/internal/buildinfo"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/records"
	"github.com/wasicert/wasicert/reports"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites/catalogue"
	"github.com/wasicert/wasicert/suites/framework"
	"github.com/wasicert/wasicert/verdicts"
)

// cmdCertify runs the whole catalogue on one runtime and writes a
// certification bundle (package certify). Exit 0: certified; 1: not
// certified, or the run was incomplete; 2: bad input; 130: interrupted
// (the bundle is still written and says so).
func cmdCertify(args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("certify")
	var cfg framework.Config
	fs.StringVar(&cfg.Runtime, "runtime", "", "runtime to certify (wasicert runtimes lists them)")
	out := fs.String("out", "", "write the bundle into `DIR` (new, or empty)")
	fs.DurationVar(&cfg.Timeout, "timeout", runners.DefaultTimeout, "timeout of one probe run")
	fs.StringVar(&cfg.FixtureDir, "fixture-dir", "", "parent `DIR` of the per-spec fixtures (default: the system temp dir)")
	signKey := fs.String("sign-key", "", "sign the attestation with this ed25519 private key (PEM, PKCS #8: openssl genpkey -algorithm ed25519)")
	subjectFile := fs.String("subject", "", "certify this `FILE` (the runtime's binary; default: the runtime's own binary, or wasicert for a runtime compiled into it)")
	subjectDigest := fs.String("subject-digest", "", "certify this image instead: `NAME@sha256:HEX` (a runtime image or shim image)")
	// A certification run runs everything: these are refused, by name.
	refused := map[string]*string{}
	for _, name := range []string{"focus", "label-filter", "skip", "expectations"} {
		refused[name] = fs.String(name, "", "refused: a certification run runs every spec")
	}
	noExp := fs.Bool("no-expectations", false, "refused: certification already reads every verdict before expectations")
	doneFile := fs.String("done-file", "", "once the bundle is written (certified or not), write its directory's path into `FILE`: sonobuoy's done file (ci/kubernetes/wasicert.yaml)")
	hold := fs.Bool("hold", false, "once done, wait for SIGTERM or SIGINT before exiting, so that a DaemonSet does not restart the pod and certify again (ci/kubernetes)")
	runtimeConfigs := addRuntimeFlags(fs)
	if help, err := parse(fs, args, stdout); help || err != nil {
		return exitPass, err
	}
	// --hold waits once the bundle is written; a usage error exits at once,
	// so that it shows (a pod that keeps failing to start is visible).
	written := false
	if *hold {
		// Registered now, so that a signal during the run is not lost.
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		defer func() {
			if written {
				fmt.Fprintln(stdout, "certify: --hold: done; waiting for SIGTERM")
				<-sigs
			}
			signal.Stop(sigs)
		}()
	}
	for name, v := range refused {
		if *v != "" {
			return exitUsage, usagef("certify: --%s is refused: a certification run runs every spec and skips only what the runtime does not claim, saying so in the certificate", name)
		}
	}
	if *noExp {
		return exitUsage, usagef("certify: --no-expectations is refused: certification reads every verdict before expectations already (a known deviation is a failure, listed with its reference)")
	}
	switch {
	case cfg.Runtime == "":
		return exitUsage, usagef("certify: --runtime is required (wasicert runtimes lists them)")
	case *out == "":
		return exitUsage, usagef("certify: --out DIR is required: the bundle's directory (new, or empty)")
	case cfg.Timeout <= 0:
		return exitUsage, usagef("certify: --timeout must be positive, got %s", cfg.Timeout)
	case *subjectFile != "" && *subjectDigest != "":
		return exitUsage, usagef("certify: give --subject or --subject-digest, not both")
	}
	if err := certify.CheckOutDir(*out); err != nil {
		return exitUsage, usagef("certify: %v", err)
	}
	if err := runtimeConfigs.load(); err != nil {
		return exitUsage, err
	}
	var key ed25519.PrivateKey
	if *signKey != "" {
		k, err := certify.LoadPrivateKey(*signKey)
		if err != nil {
			return exitUsage, usagef("certify: --sign-key: %v", err)
		}
		key = k
	}
	if err := framework.CheckFixtureDir(cfg.FixtureDir); err != nil {
		return exitUsage, usagef("certify: --fixture-dir: %v", err)
	}
	if err := verifyProbes(); err != nil {
		return exitUsage, usageError{err.Error()}
	}
	runner, err := runners.Open(cfg.Runtime)
	if err != nil {
		if errors.Is(err, runners.ErrNotInstalled) {
			return exitUsage, usagef("runtime %s is not installed: %v", cfg.Runtime, err)
		}
		return exitUsage, usageError{err.Error()}
	}
	defer func() {
		if c, ok := runner.(io.Closer); ok {
			_ = c.Close()
		}
	}()
	subject, err := certSubject(runner, *subjectFile, *subjectDigest)
	if err != nil {
		return exitUsage, usagef("certify: %v", err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return exitUsage, usagef("certify: --out: %v", err)
	}
	logFile, err := os.Create(filepath.Join(*out, certify.FileLog))
	if err != nil {
		return exitUsage, usagef("certify: --out: %v", err)
	}
	defer logFile.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	runDir, err := os.MkdirTemp(cfg.FixtureDir, "wasicert-run-")
	if err != nil {
		return exitUsage, usagef("certify: --fixture-dir: %v", err)
	}
	defer removeTree(runDir)
	cfg.FixtureDir = runDir
	cfg.Runner = runner
	cfg.RunID = framework.NewRunID()
	cfg.JUnit = filepath.Join(*out, certify.FileJUnit)
	cfg.Summary = filepath.Join(*out, certify.FileSummary)
	cfg.Results = filepath.Join(*out, certify.FileResults)
	cfg.Records = filepath.Join(*out, certify.FileRecords)
	log := io.MultiWriter(stdout, logFile)
	cfg.Out = log
	fmt.Fprintf(log, "wasicert %s certify --runtime %s (%s %s), run %s, %d specs\n", buildinfo.Version(), cfg.Runtime, runner.Name(), runner.Version(), cfg.RunID, len(catalogue.All()))

	env := records.ThisEnv(runner.Name(), runner.Version(), buildinfo.Version(), probes.SetDigest())
	cert := certify.Certificate{
		Format: certify.Format, Runtime: runner.Name(), RuntimeVersion: runner.Version(),
		OS: env.OS, Kernel: env.Kernel, Arch: env.Arch, Emulated: env.Emulated, Wasicert: env.Wasicert,
		Probes: env.Probes, Catalogue: catalogue.Digest(), Subject: subject, Started: time.Now().UTC(),
	}
	res, runErr := framework.RunCatalogue(ctx, cfg)
	cert.Ended = time.Now().UTC()
	for _, r := range res.Records {
		fmt.Fprintf(logFile, "%-16s %s: %s\n", cmpVerdict(r), r.Spec, strings.Join(strings.Fields(r.Reason), " "))
	}
	if runErr != nil {
		cert.Incomplete = "the run failed: " + oneLineErr(runErr)
		fmt.Fprintln(log, "wasicert: certify: "+cert.Incomplete)
	}
	cert.Judge(catalogue.All(), res.Records, res.Summary)
	if err := cert.HashEvidence(*out); err != nil {
		return exitUsage, err
	}
	// The log is evidence: close it before it is hashed... it was hashed
	// above with everything written so far; nothing is written after.
	if err := certify.Write(*out, cert, key); err != nil {
		return exitUsage, fmt.Errorf("certify: writing the bundle: %w", err)
	}
	if *doneFile != "" {
		abs, err := filepath.Abs(*out)
		if err == nil {
			err = os.WriteFile(*doneFile, []byte(abs), 0o644)
		}
		if err != nil {
			return exitUsage, fmt.Errorf("certify: --done-file: %w", err)
		}
	}
	written = true
	fmt.Fprintf(stdout, "certify: %s %s: %s", cert.Runtime, cert.RuntimeVersion, strings.ToUpper(cert.Verdict))
	for _, p := range cert.Profiles {
		fmt.Fprintf(stdout, "; %s %s", p.Name, p.Verdict)
	}
	fmt.Fprintf(stdout, "; bundle %s\n", *out)
	switch {
	case ctx.Err() != nil:
		return exitInterrupted, nil
	case cert.Verdict == certify.Certified:
		return exitPass, nil
	}
	return exitFail, nil
}

func cmpVerdict(r verdicts.Record) string {
	if r.Actual != "" && r.Actual != r.Verdict {
		return string(r.Actual) + "(" + string(r.Verdict) + ")"
	}
	return string(r.Verdict)
}

func oneLineErr(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// certSubject is what a certificate certifies: a file (the runtime's
// binary), an image digest, or by default the runtime's own binary (a
// runner that has one), else this wasicert, which has the runtime
// compiled in or starts its worker.
func certSubject(r runners.Runner, file, digest string) (certify.Subject, error) {
	if digest != "" {
		name, d, ok := strings.Cut(digest, "@sha256:")
		if !ok || name == "" || len(d) != 64 || strings.Trim(d, "0123456789abcdef") != "" {
			return certify.Subject{}, fmt.Errorf("--subject-digest %q: want NAME@sha256:<64 hex digits>", digest)
		}
		return certify.Subject{Name: name, Digest: map[string]string{"sha256": d}, Note: "--subject-digest"}, nil
	}
	note := "--subject"
	if file == "" {
		if b, ok := r.(interface{ Binary() string }); ok && b.Binary() != "" {
			file, note = b.Binary(), "the runtime's binary"
		} else {
			self, err := os.Executable()
			if err != nil {
				return certify.Subject{}, err
			}
			file, note = self, "wasicert itself: the runtime is compiled into it or started by it"
		}
	}
	d, err := certify.FileDigest(file)
	if err != nil {
		return certify.Subject{}, fmt.Errorf("subject: %v", err)
	}
	return certify.Subject{Name: filepath.Base(file), Digest: map[string]string{"sha256": d}, Note: note}, nil
}

// cmdVerify checks a bundle. Exit 0: the bundle is intact and certifies;
// 1: intact, but its verdict is not certified; 2: rejected (the reason in
// one line).
func cmdVerify(args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("verify")
	pubkey := fs.String("pubkey", "", "check the attestation's signature with this ed25519 public key (PEM: openssl pkey -pubout)")
	dirs, help, err := parseArgs(fs, args, stdout)
	if help || err != nil {
		return exitPass, err
	}
	if len(dirs) != 1 {
		return exitUsage, usagef("verify: give one bundle directory (wasicert certify --out DIR made it), got %d arguments", len(dirs))
	}
	var pub ed25519.PublicKey
	if *pubkey != "" {
		if pub, err = certify.LoadPublicKey(*pubkey); err != nil {
			return exitUsage, usagef("verify: --pubkey: %v", err)
		}
	}
	dir := dirs[0]
	judge := func(c certify.Certificate) (certify.Certificate, error) {
		recs, sum, err := readBundleResults(dir)
		if err != nil {
			return c, err
		}
		again := c
		again.Profiles = nil
		again.Judge(catalogue.All(), recs, sum)
		return again, nil
	}
	v, err := certify.Verify(dir, pub, probes.SetDigest(), catalogue.Digest(), judge)
	if err != nil {
		return exitUsage, usagef("verify: %s: REJECTED: %v", dir, err)
	}
	c := v.Certificate
	sig := "not signed"
	switch {
	case v.SignatureChecked:
		sig = "signature checked"
	case v.Signed:
		sig = "signed, signature not checked (give --pubkey)"
	}
	fmt.Fprintf(stdout, "verify: %s: intact (%s); %s %s on %s/%s: %s", dir, sig, c.Runtime, c.RuntimeVersion, c.OS, c.Arch, strings.ToUpper(c.Verdict))
	for _, p := range c.Profiles {
		fmt.Fprintf(stdout, "; %s %s", p.Name, p.Verdict)
	}
	fmt.Fprintln(stdout)
	if c.Verdict != certify.Certified {
		return exitFail, nil
	}
	return exitPass, nil
}

// readBundleResults reads a bundle's results and summary, for verify's
// re-judging.
func readBundleResults(dir string) ([]verdicts.Record, reports.Summary, error) {
	var sum reports.Summary
	recs, err := reports.ReadStream(filepath.Join(dir, certify.FileResults))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, sum, fmt.Errorf("%s: %v", certify.FileResults, err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, certify.FileSummary))
	if err == nil {
		err = json.Unmarshal(raw, &sum)
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, sum, fmt.Errorf("%s: %v", certify.FileSummary, err)
	}
	return recs, sum, nil
}
