package kubernetes

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	kyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, nodev1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// strict decodes YAML into the typed objects of the scheme, refusing
// unknown and duplicate fields (the API server's
// fieldValidation=Strict) and fields of the wrong type.
var strict = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme,
	kjson.SerializerOptions{Yaml: true, Strict: true})

// DecodeObjects strictly decodes every document of a multi-document YAML
// file of Kubernetes objects (core, apps, batch and node API groups) into
// its k8s.io/api type. An unknown field, a duplicate field, a value of the
// wrong type or an unknown kind is an error naming the document and the field.
func DecodeObjects(data []byte) ([]runtime.Object, error) {
	var out []runtime.Object
	r := kyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		obj, gvk, err := strict.Decode(doc, nil, nil)
		if err != nil {
			what := fmt.Sprintf("document %d", i)
			if gvk != nil {
				what += " (" + gvk.Kind + ")"
			}
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, obj)
	}
	return out, nil
}

// DecodeSonobuoyPlugin strictly decodes a sonobuoy plugin manifest: an
// unknown field or a value of the wrong type is an error naming it.
func DecodeSonobuoyPlugin(data []byte) (*SonobuoyPlugin, error) {
	var p SonobuoyPlugin
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return nil, fmt.Errorf("sonobuoy plugin: %w", err)
	}
	return &p, nil
}

// ReadObjects is DecodeObjects of a file.
func ReadObjects(path string) ([]runtime.Object, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	objs, err := DecodeObjects(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return objs, nil
}

// ReadSonobuoyPlugin is DecodeSonobuoyPlugin of a file.
func ReadSonobuoyPlugin(path string) (*SonobuoyPlugin, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := DecodeSonobuoyPlugin(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

func stripComments(doc []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out = append(out, line...)
			out = append(out, '\n')
		}
	}
	return out
}
