package e2e

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/hwsim"
)

// assertSecretNowhere scans every run's history of a sync (inputs, results,
// failures) and the sync log table for the secret key.
func (s *stack) assertSecretNowhere(syncID, firstRun string, secrets ...string) {
	s.t.Helper()
	runID := firstRun
	for runID != "" {
		h := s.history(syncID, runID)
		b, err := protojson.Marshal(h)
		require.NoError(s.t, err)
		for _, secret := range secrets {
			assert.NotContains(s.t, string(b), secret, "history of run %s", runID)
		}
		runID = ""
		if last := h.Events[len(h.Events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes(); last != nil {
			runID = last.GetNewExecutionRunId()
		}
	}
	var logs []store.SyncLog
	require.NoError(s.t, s.store.DB().Find(&logs).Error)
	for _, l := range logs {
		for _, secret := range secrets {
			if l.ErrorMessage != nil {
				assert.NotContains(s.t, *l.ErrorMessage, secret)
			}
		}
	}
}

func TestWrongCredentialsFailFastWithoutRetries(t *testing.T) {
	const wrong = "this-is-not-the-secret-key"
	s := newStack(t, stackOptions{resources: 100, seed: 1, workerSecret: wrong})
	code, out, errOut := s.starter("sync", "--expire-days", "30", "--wait")
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, errOut, "401 APIGW.0301")
	assert.Contains(t, errOut, "check HUAWEI_ACCESS_KEY, HUAWEI_SECRET_KEY and HUAWEI_DOMAIN_ID")
	for _, secret := range []string{wrong, testSK} {
		assert.NotContains(t, out+errOut, secret)
	}
	assert.Equal(t, int64(1), s.sim.Stats().APIs[hwsim.APIBSSList].Unauthorized, "a 401 is not retried")
	id := syncIDFrom(t, out)
	log := s.syncLog(id)
	assert.Equal(t, contract.StatusFailed, log.Status)
	require.NotNil(t, log.ErrorMessage)
	assert.True(t, strings.Contains(*log.ErrorMessage, "APIGW.0301"), *log.ErrorMessage)
	s.assertSecretNowhere(id, firstRunID(t, out), wrong, testSK)
}
