package main

import (
	"testing"
)

func TestRatio(t *testing.T) {
	for _, c := range []struct {
		a, b float64
		want string
	}{{200, 100, "2.00×"}, {1500, 10, "150×"}, {55, 5, "11.0×"}, {1, 0, "n/a"}} {
		if got := ratio(c.a, c.b); got != c.want {
			t.Errorf("ratio(%v, %v) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
}

func TestHelloWasmEmbedded(t *testing.T) {
	if len(helloWasm) < 8 || string(helloWasm[:4]) != "\x00asm" {
		t.Fatal("testdata/hello.wasm is not embedded WebAssembly")
	}
}
