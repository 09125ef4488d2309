// Package clip bounds text that comes from outside (an SDK's error body, a
// platform's answer) before it enters a message: a proxy's HTML page or a
// dump of a request would otherwise fill a log line, a Temporal failure
// and the operator's terminal.
package clip

import (
	"strconv"
	"unicode/utf8"
)

// Max is the bound of an outside text in a message.
const Max = 512

// Text returns s when it holds at most limit bytes, else its first limit bytes
// or fewer, cut between two characters, followed by "…(N bytes)", N being
// the length of s.
func Text(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}
