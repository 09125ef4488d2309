package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// HUAWEI_BSS_IP_RATE is the deployment's: 10 by default, with or without
// an accounts file, and never negative.
func TestTheDeploymentsBSSRate(t *testing.T) {
	workerEnv(t)
	c, err := LoadWorker()
	require.NoError(t, err)
	assert.Equal(t, 10.0, c.BSSIPRate, "BSS's per-user limit, also the per-IP default")

	t.Setenv("HUAWEI_BSS_IP_RATE", "-1")
	_, err = LoadWorker()
	require.ErrorContains(t, err, "HUAWEI_BSS_IP_RATE=-1 is out of range: allowed >= 0 (0 = unlimited)")
}
