// Package stats holds the statistics wasicert's benchmarks report: median,
// p90 (nearest rank), min and max over measured runs, in one place.
package stats

import (
	"math"
	"slices"
	"time"
)

// Stats summarises measured values (milliseconds or bytes).
type Stats struct {
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// Of summarises xs: the median (the mean of the middle two for an even
// count), the p90 by nearest rank, the min and the max. Zero for no values.
func Of(xs []float64) Stats {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return Stats{}
	}
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	rank := int(math.Ceil(0.9*float64(n))) - 1
	return Stats{Median: med, P90: s[rank], Min: s[0], Max: s[n-1]}
}

// Median is Of(xs).Median.
func Median(xs []float64) float64 { return Of(xs).Median }

// Millis converts each duration to milliseconds.
func Millis(ds ...time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = float64(d) / float64(time.Millisecond)
	}
	return out
}

// Ms is d in milliseconds.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Round rounds x to places decimals.
func Round(x float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(x*p) / p
}

// Rounded is s with every figure rounded to places decimals.
func (s Stats) Rounded(places int) Stats {
	return Stats{Median: Round(s.Median, places), P90: Round(s.P90, places), Min: Round(s.Min, places), Max: Round(s.Max, places)}
}
