package jco_test

import (
	"context"
	"testing"

	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/runners/jco"
)

// The translation of a probe module into a component, cold (an empty
// cache: jco new and jco transpile) and cached, and one run of it:
//
//	go test -run '^$' -bench . -benchtime 5x ./runners/jco/
func BenchmarkTranslateCold(b *testing.B) {
	r, m := benchRunner(b)
	for b.Loop() {
		b.StopTimer()
		b.Setenv("WASICERT_CACHE_DIR", b.TempDir())
		fresh, err := jco.Open()
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := fresh.(*jco.Runner).Component(context.Background(), m); err != nil {
			b.Fatal(err)
		}
	}
	_ = r
}

func BenchmarkTranslateCached(b *testing.B) {
	r, m := benchRunner(b)
	if _, err := r.Component(context.Background(), m); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := r.Component(context.Background(), m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRunCached(b *testing.B) {
	r, m := benchRunner(b)
	inv := runners.Invocation{Module: m, Args: []string{"fs", "env", "env"}}
	for b.Loop() {
		res, err := r.Run(context.Background(), inv)
		if err != nil || res.Ended != runners.EndedExit {
			b.Fatalf("%s %v", res, err)
		}
	}
}

func benchRunner(b *testing.B) (*jco.Runner, runners.Module) {
	r := openJco(b).(*jco.Runner)
	m, err := probes.Get("fs")
	if err != nil {
		b.Fatal(err)
	}
	return r, m
}
