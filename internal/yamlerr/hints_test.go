package yamlerr

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestListHint(t *testing.T) {
	for in, want := range map[string]string{
		`a, b: c, "d"`: `write it as a list: [a, "b: c", "\"d\""]`,
		" , ":          "write it as a list: [a, b]",
		"-x, ?y, z":    `write it as a list: ["-x", "?y", z]`,
	} {
		if got := ListHint(in); got != want {
			t.Errorf("ListHint(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestKindNeverShowsAValue(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("{m: {a: 1}, l: [1], e: , n: 3.5, b: yes, s: hunter2}"), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"m": "a mapping", "l": "a list", "e": "empty", "n": "a number", "b": "a string", "s": "a string"}
	m := doc.Content[0]
	for i := 0; i < len(m.Content); i += 2 {
		k, v := m.Content[i].Value, m.Content[i+1]
		if got := Kind(v); got != want[k] {
			t.Errorf("Kind(%s) = %q, want %q", k, got, want[k])
		}
	}
}
