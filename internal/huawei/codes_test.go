package huawei_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/huawei"
)

// Every code the simulator's page documents is labelled as itself; the
// metrics' "other" is for codes nobody here has seen.
func TestEveryDocumentedCodeIsKnown(t *testing.T) {
	b, err := os.ReadFile("../../docs/simulator.md")
	require.NoError(t, err)
	codes := regexp.MustCompile(`\b(?:APIGW|CBC|TMS)\.\d+\b`).FindAllString(string(b), -1)
	require.NotEmpty(t, codes)
	for _, c := range codes {
		assert.Equal(t, c, huawei.CodeLabel(c))
	}
	assert.Equal(t, "APIGW.0303", huawei.CodeLabel("APIG.0303"))
	for _, c := range []string{"", "APIGW.9999", "<html>", "tms.0004"} {
		assert.Equal(t, "other", huawei.CodeLabel(c), c)
	}
}
