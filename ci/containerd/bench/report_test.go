package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStats(t *testing.T) {
	xs := []float64{}
	for i := 20; i >= 1; i-- {
		xs = append(xs, float64(i))
	}
	s := stats(xs)
	if s.Median != 10.5 || s.P90 != 18 || s.Min != 1 || s.Max != 20 {
		t.Fatalf("stats(1..20) = %+v, want median 10.5, p90 18 (nearest rank), min 1, max 20", s)
	}
	if s := stats([]float64{3, 1, 2}); s.Median != 2 || s.P90 != 3 {
		t.Fatalf("stats(3,1,2) = %+v", s)
	}
}

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

func TestWriteAtomic(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "r.md")
	if err := writeAtomic(p, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := writeAtomic(p, []byte("b")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	ents, _ := os.ReadDir(filepath.Dir(p))
	if string(b) != "b" || len(ents) != 1 {
		t.Fatalf("content %q, %d entries", b, len(ents))
	}
}

func TestHelloWasmEmbedded(t *testing.T) {
	if len(helloWasm) < 8 || string(helloWasm[:4]) != "\x00asm" {
		t.Fatal("testdata/hello.wasm is not embedded WebAssembly")
	}
}
