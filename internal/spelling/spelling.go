// Package spelling finds the known word nearest to a misspelt one, so that an error message can
// say what was meant ("did you mean ...?"). The distance is Levenshtein's: insertions, deletions
// and substitutions of bytes, each costing one.
package spelling

// Nearest returns the word of known nearest to word and its distance; the first of equally near
// words wins, and ("", -1) is returned when known is empty. Callers decide how near is near enough.
func Nearest(word string, known []string) (string, int) {
	best, bestD := "", -1
	for _, k := range known {
		if d := Distance(word, k); bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	return best, bestD
}

// Distance is the edit distance between a and b.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
