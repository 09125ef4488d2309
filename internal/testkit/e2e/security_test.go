package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"

	"expiry-sync/internal/codec"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/testenv"
)

// TestPayloadEncryption turns the codec on: the sync works as before, and
// Temporal's own copy of the history shows no resource id, name or tag.
func TestPayloadEncryption(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{42}, 32))
	s := newStack(t, stackOptions{resources: 400, seed: 43, payloadKey: key})
	code, out, errOut := s.starter(syncArgs("--wait")...)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	id := syncIDFrom(t, out)
	log := s.syncLog(id)
	want := s.expected(log)
	assertRows(t, s, want, id)

	// devServer.Client() has no codec: it sees what Temporal stores.
	h := s.history(id, firstRunID(t, out))
	raw, err := protojson.Marshal(h)
	require.NoError(t, err)
	for rid, r := range want {
		require.NotContains(t, string(raw), rid, "resource id in clear in Temporal's history")
		require.NotContains(t, string(raw), r.ResourceName)
	}
	encrypted := 0
	for _, ev := range h.Events {
		if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil {
			for _, p := range a.GetResult().GetPayloads() {
				assert.Equal(t, codec.Encoding, string(p.GetMetadata()["encoding"]))
				encrypted++
			}
		}
	}
	assert.Positive(t, encrypted)

	// The starter, holding the key, reads it all back.
	code, out, _ = s.starter("status", id)
	assert.Equal(t, 0, code)
	assert.Regexp(t, fmt.Sprintf(`(?m)^Resources\s+%d$`, len(want)), out)
	// Without the key, the result cannot be read: the codec is really on.
	t.Setenv("EXPIRY_SYNC_PAYLOAD_KEY", "")
	st := s.status(id)
	assert.Nil(t, st.Summary)
	assert.Contains(t, st.Error, "encoding")
}

// TestLeastPrivilegeDatabaseUser runs the worker as a user that may only
// read and write rows; the migrations run as DATABASE_MIGRATION_URL's user.
func TestLeastPrivilegeDatabaseUser(t *testing.T) {
	dbURL := testenv.MySQLURL(t)
	runtime := testenv.RowsOnlyUser(t, dbURL)

	s := newStack(t, stackOptions{resources: 300, seed: 47, workerProcess: true,
		dbURL: func(testing.TB) string { return runtime }, migrationURL: dbURL})
	s.startWorkerProcess() // migrates as DATABASE_MIGRATION_URL's user, then runs as the runtime user
	code, out, errOut := s.starter(syncArgs()...)
	require.Equal(t, 0, code, errOut)
	id := syncIDFrom(t, out)
	st := s.waitDone(id, 2*time.Minute)
	require.Equal(t, "completed", st.State, st.Error)
	assertRows(t, s, s.expected(s.syncLog(id)), id)

	rt, err := store.Open(context.Background(), runtime)
	require.NoError(t, err)
	defer rt.Close()
	assert.Error(t, rt.DB().Exec("CREATE TABLE should_fail (x INT)").Error, "the runtime user cannot change the schema")
}
