package suggest

import "testing"

func TestDistance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"handles", "handles", 0},
		{"handels", "handles", 1}, // transposition
		{"lnag", "lang", 1},
		{"brand", "", 5},
		{"返金", "返品", 1},
		{"kitten", "sitting", 3},
	}
	for _, tc := range tests {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
