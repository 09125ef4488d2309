package clip

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestTextKeepsShortTextAndCutsLongText(t *testing.T) {
	assert.Equal(t, "", Text("", 4))
	assert.Equal(t, "abcd", Text("abcd", 4), "at the bound: whole")
	assert.Equal(t, "abcd…(5 bytes)", Text("abcde", 4))

	body := "<html>" + strings.Repeat("x", 10000) + "</html>"
	got := Text(body, Max)
	assert.Equal(t, body[:Max]+"…(10013 bytes)", got)
}

func TestTextCutsBetweenCharacters(t *testing.T) {
	s := "限流限流" // 3 bytes each
	for limit := range len(s) {
		got := Text(s, limit)
		assert.True(t, utf8.ValidString(got), "limit %d: %q", limit, got)
		head, _, _ := strings.Cut(got, "…(")
		assert.LessOrEqual(t, len(head), limit)
		assert.Equal(t, limit/3*3, len(head), "limit %d: as many whole characters as fit", limit)
	}
}
