package notify

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

// A platform's answer in a message is one line, bounded, and never cut
// inside a character (DingTalk and WeCom answer in Chinese).
func TestShortKeepsOneBoundedLine(t *testing.T) {
	assert.Equal(t, "rate limited: try later", short("rate  limited:\n\ttry later\n"))
	long := strings.Repeat("发送速度太快 ", 100)
	got := short(long)
	assert.True(t, utf8.ValidString(got))
	assert.NotContains(t, got, "\n")
	assert.True(t, strings.HasSuffix(got, "…(1899 bytes)"), got)
	assert.LessOrEqual(t, len(got), 200+len("…(1899 bytes)"))
}
