package yamlerr

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestLocate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		line      int
	}{
		{"parser error counted from 0", "a: 1\nb: [1, 2\nc: 3\n", 2},
		{"parser error, sequence in a mapping", "a: 1\n- b\n", 2},
		{"scanner error counted from 1", "a:\n\tb: 1\n", 2},
		{"unknown anchor", "a: 1\nb: *nope\n", 2},
	}
	for _, tc := range tests {
		var v any
		err := yaml.Unmarshal([]byte(tc.src), &v)
		if err == nil {
			t.Fatalf("%s: no error", tc.name)
		}
		if line, msg := Locate(err, []byte(tc.src)); line != tc.line || msg == "" {
			t.Errorf("%s: Locate(%q) = %d, %q; want line %d", tc.name, err, line, msg, tc.line)
		}
	}
}
