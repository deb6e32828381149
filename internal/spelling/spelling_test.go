package spelling

import "testing"

func TestDistance(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "ab", 2}, {"httpsOnly", "httpsOnyl", 2},
		{"kitten", "sitting", 3}, {"tags", "tag", 1}, {"same", "same", 0},
	}
	for _, c := range cases {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestNearest(t *testing.T) {
	if w, d := Nearest("bypas", []string{"defaultAction", "bypass", "ipRules"}); w != "bypass" || d != 1 {
		t.Errorf("got %q %d", w, d)
	}
	if w, d := Nearest("ab", []string{"xb", "ay"}); w != "xb" || d != 1 {
		t.Errorf("ties: first wins; got %q %d", w, d)
	}
	if w, d := Nearest("x", nil); w != "" || d != -1 {
		t.Errorf("empty: got %q %d", w, d)
	}
}
