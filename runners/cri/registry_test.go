package cri

import (
	"archive/tar"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/wasicert/wasicert/internal/ociimage"
)

// TestRegistryServes pulls an image from the runner's registry over real
// HTTP as a runtime would: the tag's index, the manifest and blobs by
// digest, each with its digest header; anything else is refused.
func TestRegistryServes(t *testing.T) {
	g, err := startRegistry("")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	layout, mdesc, err := ociimage.Build(ociimage.Options{Name: "wasicert.local/module/x:t", Module: []byte("\x00asm\x01\x00\x00\x00")})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := g.add("wasicert/module/x", "t", layout)
	if err != nil {
		t.Fatal(err)
	}
	if want := g.Host() + "/wasicert/module/x:t"; ref != want {
		t.Fatalf("ref %q, want %q", ref, want)
	}
	get := func(method, path string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+g.Host()+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	if resp, _ := get("GET", "/v2/"); resp.StatusCode != 200 {
		t.Errorf("/v2/: %s", resp.Status)
	}
	resp, index := get("GET", "/v2/wasicert/module/x/manifests/t")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "index") || resp.Header.Get("Docker-Content-Digest") != digest.FromBytes(index).String() {
		t.Fatalf("the tag: %s %q %q", resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Docker-Content-Digest"))
	}
	resp, man := get("GET", "/v2/wasicert/module/x/manifests/"+mdesc.Digest.String())
	if resp.StatusCode != 200 || digest.FromBytes(man) != mdesc.Digest || resp.Header.Get("Content-Type") != mdesc.MediaType {
		t.Fatalf("the manifest by digest: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	if resp, _ := get("HEAD", "/v2/wasicert/module/x/manifests/t"); resp.StatusCode != 200 || resp.ContentLength != int64(len(index)) {
		t.Errorf("HEAD of the tag: %s, length %d", resp.Status, resp.ContentLength)
	}
	for _, p := range []string{"/v2/wasicert/module/x/manifests/other", "/v2/wasicert/module/y/manifests/t", "/v2/wasicert/module/x/blobs/sha256:" + strings.Repeat("0", 64), "/etc/passwd"} {
		if resp, _ := get("GET", p); resp.StatusCode != 404 {
			t.Errorf("%s: %s, want 404", p, resp.Status)
		}
	}
	if resp, _ := get("PUT", "/v2/wasicert/module/x/manifests/t"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PUT: %s, want 405 (read-only)", resp.Status)
	}
}

// TestRegistryRefusesABadLayout: a layout whose blob does not match its
// digest is refused, not served.
func TestRegistryRefusesABadLayout(t *testing.T) {
	g, err := startRegistry("")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	layout, _, err := ociimage.Build(ociimage.Options{Name: "wasicert.local/module/x:t", Module: []byte("\x00asm\x01\x00\x00\x00")})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	tr, tw := tar.NewReader(bytes.NewReader(layout)), tar.NewWriter(&out)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(tr)
		if strings.HasPrefix(h.Name, "blobs/") && len(b) > 0 {
			b[0] ^= 1
		}
		_ = tw.WriteHeader(h)
		_, _ = tw.Write(b)
	}
	_ = tw.Close()
	if _, err := g.add("wasicert/module/x", "t", out.Bytes()); err == nil || !strings.Contains(err.Error(), "digest") {
		t.Errorf("a tampered blob: %v, want refused for its digest", err)
	}
}
