package units

import "testing"

func TestSummaries(t *testing.T) {
	xs := []float64{3, 1, 2, 10}
	if m := Median(xs); m != 2.5 || xs[0] != 3 {
		t.Fatalf("Median(even) %v, input %v", m, xs)
	}
	if m := Median([]float64{5, 1, 3}); m != 3 {
		t.Fatalf("Median(odd) %v", m)
	}
	if s := SpreadOf(xs); s != (Spread{Median: 2.5, Min: 1, Max: 10}) || s.Width() != 3.6 {
		t.Fatalf("SpreadOf %+v width %v", s, s.Width())
	}
	if SpreadOf(nil) != (Spread{}) || Median(nil) != 0 || Ratio(1, 0) != 0 || Ratio(3, 2) != 1.5 {
		t.Fatal("empty and zero cases")
	}
}
