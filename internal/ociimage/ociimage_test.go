package ociimage

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestBuild(t *testing.T) {
	wasm := []byte("\x00asm\x01\x00\x00\x00")
	layout, desc, err := Build(Options{Name: "wasicert.local/x/y:tag", Module: wasm, Path: "/bin/m.wasm"})
	if err != nil {
		t.Fatal(err)
	}
	if desc.Platform == nil || desc.Platform.OS != "wasi" || desc.Platform.Architecture != "wasm32" {
		t.Errorf("platform %+v", desc.Platform)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(layout))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = b
	}
	var idx ocispec.Index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil || len(idx.Manifests) != 1 {
		t.Fatalf("index: %v %s", err, files["index.json"])
	}
	if idx.Manifests[0].Annotations[ocispec.AnnotationRefName] != "tag" {
		t.Errorf("annotations %v", idx.Manifests[0].Annotations)
	}
	var man ocispec.Manifest
	_ = json.Unmarshal(files["blobs/sha256/"+idx.Manifests[0].Digest.Encoded()], &man)
	var cfg ocispec.Image
	_ = json.Unmarshal(files["blobs/sha256/"+man.Config.Digest.Encoded()], &cfg)
	if cfg.OS != "wasi" || cfg.Architecture != "wasm32" || len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != "/bin/m.wasm" {
		t.Errorf("config %+v", cfg)
	}
	lt := tar.NewReader(bytes.NewReader(files["blobs/sha256/"+man.Layers[0].Digest.Encoded()]))
	var names []string
	for {
		h, err := lt.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	if len(names) != 2 || names[0] != "bin/" || names[1] != "bin/m.wasm" {
		t.Errorf("layer entries %v", names)
	}
	again, _, _ := Build(Options{Name: "wasicert.local/x/y:tag", Module: wasm, Path: "/bin/m.wasm"})
	if !bytes.Equal(again, layout) {
		t.Errorf("not reproducible")
	}
	if out := os.Getenv("OCIIMAGE_WRITE"); out != "" { // manual ctr checks
		m, err := os.ReadFile(os.Getenv("OCIIMAGE_MODULE"))
		if err != nil {
			t.Fatal(err)
		}
		l, _, err := Build(Options{Name: "wasicert.local/manual:1", Module: m, Path: "/hello.wasm"})
		if err != nil {
			t.Fatal(err)
		}
		_ = os.WriteFile(out, l, 0o644)
	}
}

// A program that does not import crypto/sha256 itself can still Build.
func TestBuildWithoutSHA256Import(t *testing.T) {
	if out, err := exec.Command("go", "run", "./testdata/nosha256").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
