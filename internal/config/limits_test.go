package config_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"expiry-sync/internal/config"
	"expiry-sync/workflows"
)

// The accounts file checks its sync defaults against the sync input's own
// limits; config cannot import workflows, so they are copied and kept equal.
func TestSyncDefaultLimitsAreTheSyncInputs(t *testing.T) {
	assert.Equal(t, workflows.MaxExpireDays, config.MaxExpireDays)
	assert.Equal(t, workflows.MaxLookbackDays, config.MaxLookbackDays)
	assert.Equal(t, workflows.TagModes, config.TagModes)
}
