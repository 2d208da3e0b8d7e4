package stats

import (
	"testing"
	"time"
)

func TestOf(t *testing.T) {
	xs := []float64{}
	for i := 20; i >= 1; i-- {
		xs = append(xs, float64(i))
	}
	s := Of(xs)
	if s.Median != 10.5 || s.P90 != 18 || s.Min != 1 || s.Max != 20 {
		t.Fatalf("Of(1..20) = %+v, want median 10.5, p90 18 (nearest rank), min 1, max 20", s)
	}
	if s := Of([]float64{3, 1, 2}); s.Median != 2 || s.P90 != 3 {
		t.Fatalf("Of(3,1,2) = %+v", s)
	}
	if s := Of(nil); s != (Stats{}) {
		t.Fatalf("Of(nil) = %+v", s)
	}
	if m := Median(Millis(3*time.Millisecond, time.Millisecond)); m != 2 {
		t.Fatalf("Median(3ms, 1ms) = %v", m)
	}
}
