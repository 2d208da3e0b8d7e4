// Command nosha256 builds an image in a program that imports no
// crypto/sha256 of its own (go-digest panics then unless ociimage links it).
package main

import "github.com/wasicert/wasicert/internal/ociimage"

func main() {
	if _, _, err := ociimage.Build(ociimage.Options{Name: "x/y:z", Module: []byte("\x00asm\x01\x00\x00\x00")}); err != nil {
		panic(err)
	}
}
