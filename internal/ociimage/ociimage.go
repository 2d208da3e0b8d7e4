// Package ociimage packs a WebAssembly module as a FROM-scratch OCI image and
// writes it as an OCI image layout tarball, ready for containerd's importer
// (no registry).
//
// The convention, used everywhere in wasicert: one uncompressed tar layer
// holding the module, the image config's Entrypoint set to the module's path,
// and the platform wasi/wasm32 (in the config and on the index's manifest
// descriptor). Platform strings do not normalise in containerd: wasi/wasm,
// wasi/wasm32 and wasip1/wasm are three different platforms.
package ociimage

import (
	"archive/tar"
	"bytes"
	_ "crypto/sha256" // for digest.FromBytes: go-digest panics unless sha256 is linked in
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Platform is the one platform wasicert images carry.
var Platform = ocispec.Platform{OS: "wasi", Architecture: "wasm32"}

// DefaultModulePath is where the module goes when Options.Path is empty.
const DefaultModulePath = "/probe.wasm"

// Options describe one image. The zero value of every field but Module and
// Name gives the convention; the other knobs exist to build bad images on
// purpose (no entrypoint, missing module, other platform).
type Options struct {
	// Name is the image reference, e.g. "wasicert.local/probe/fs:abc".
	Name string
	// Module is the .wasm contents.
	Module []byte
	// Path is the module's absolute path in the image; default DefaultModulePath.
	Path string
	// Entrypoint overrides the config's Entrypoint; nil means [Path].
	// NoEntrypoint leaves it unset.
	Entrypoint   []string
	NoEntrypoint bool
	// OmitModule leaves the module out of the layer (the entrypoint then
	// names a file that does not exist).
	OmitModule bool
	// Env is the image config's Env (e.g. to try WASMEDGE_* or RUST_LOG).
	Env []string
	// Platform overrides Platform.
	Platform *ocispec.Platform
	// Files are extra layer entries after the module (directories, device
	// nodes, FIFOs), parents first where the caller lists them.
	Files []File
}

// File is one extra layer entry: containerd makes it when it unpacks the
// layer (device nodes with mknod, as root).
type File struct {
	Path string
	// Type is tar.TypeDir, tar.TypeChar, tar.TypeBlock or tar.TypeFifo.
	Type         byte
	Major, Minor int64
	Mode         int64 // 0 means 0755 for a directory, 0666 otherwise
}

// epoch keeps the layer and config bytes reproducible.
var epoch = time.Unix(0, 0).UTC()

// Layer returns the uncompressed layer tar holding the module at its path.
func Layer(o Options) ([]byte, error) {
	p := o.Path
	if p == "" {
		p = DefaultModulePath
	}
	clean := path.Clean("/" + p)
	if clean == "/" {
		return nil, errors.New("ociimage: module path is /")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// Parent directories first.
	parts := strings.Split(strings.TrimPrefix(clean, "/"), "/")
	for i := 1; i < len(parts); i++ {
		dir := strings.Join(parts[:i], "/") + "/"
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
	}
	if !o.OmitModule {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(clean, "/"), Mode: 0o755,
			Size: int64(len(o.Module)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(o.Module); err != nil {
			return nil, err
		}
	}
	for _, f := range o.Files {
		name := strings.TrimPrefix(path.Clean("/"+f.Path), "/")
		mode := f.Mode
		if mode == 0 {
			mode = 0o666
			if f.Type == tar.TypeDir {
				mode = 0o755
			}
		}
		if f.Type == tar.TypeDir {
			name += "/"
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: f.Type, Name: name, Mode: mode, Devmajor: f.Major, Devminor: f.Minor,
			ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type blob struct {
	desc ocispec.Descriptor
	data []byte
}

func newBlob(mediaType string, data []byte) blob {
	return blob{desc: ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}, data: data}
}

// Build returns the OCI layout tarball for o and the manifest descriptor.
func Build(o Options) ([]byte, ocispec.Descriptor, error) {
	if o.Name == "" {
		return nil, ocispec.Descriptor{}, errors.New("ociimage: Options.Name is empty")
	}
	p := path.Clean("/" + o.Path)
	if o.Path == "" {
		p = DefaultModulePath
	}
	o.Path = p
	plat := Platform
	if o.Platform != nil {
		plat = *o.Platform
	}
	layerData, err := Layer(o)
	if err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	layer := newBlob(ocispec.MediaTypeImageLayer, layerData)

	cfg := ocispec.Image{
		Created:  &epoch,
		Platform: plat,
		Config:   ocispec.ImageConfig{Env: o.Env},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{layer.desc.Digest}},
	}
	switch {
	case o.NoEntrypoint:
	case o.Entrypoint != nil:
		cfg.Config.Entrypoint = o.Entrypoint
	default:
		cfg.Config.Entrypoint = []string{p}
	}
	cfgData, err := json.Marshal(cfg)
	if err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	config := newBlob(ocispec.MediaTypeImageConfig, cfgData)

	man := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    config.desc,
		Layers:    []ocispec.Descriptor{layer.desc},
	}
	manData, err := json.Marshal(man)
	if err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	manifest := newBlob(ocispec.MediaTypeImageManifest, manData)
	mdesc := manifest.desc
	mdesc.Platform = &plat
	tag := o.Name
	if i := strings.LastIndex(o.Name, ":"); i > strings.LastIndex(o.Name, "/") {
		tag = o.Name[i+1:]
	}
	mdesc.Annotations = map[string]string{
		"io.containerd.image.name": o.Name,
		ocispec.AnnotationRefName:  tag,
	}
	index := ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{mdesc},
	}
	indexData, err := json.Marshal(index)
	if err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	layout, _ := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: epoch}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{ocispec.ImageLayoutFile, layout},
		{"index.json", indexData},
		{"blobs/sha256/" + layer.desc.Digest.Encoded(), layer.data},
		{"blobs/sha256/" + config.desc.Digest.Encoded(), config.data},
		{"blobs/sha256/" + manifest.desc.Digest.Encoded(), manifest.data},
	} {
		if err := add(f.name, f.data); err != nil {
			return nil, ocispec.Descriptor{}, fmt.Errorf("ociimage: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	return buf.Bytes(), mdesc, nil
}
