// Package editdist measures how far apart two names are, for "did you
// mean" suggestions: the Levenshtein distance, cut short once it is
// certain to exceed what the caller would still suggest.
package editdist

// Distance is the Levenshtein distance of a and b (insertions, deletions
// and substitutions of bytes), or limit+1 once it is certain to exceed
// limit. Pass len(a)+len(b) as limit for the exact distance.
func Distance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
