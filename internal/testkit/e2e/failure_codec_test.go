package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"expiry-sync/internal/codec"
	"expiry-sync/workflows"
)

// TestFailuresAreEncryptedInTemporal: with the payload key on, a sync
// whose TMS cannot be reached fails its tag reads again and again; what
// Temporal holds of them (the pending activities' last failure, the
// history) names no resource, while a client holding the key reads the
// failure in clear.
func TestFailuresAreEncryptedInTemporal(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{44}, 32))
	s := newStack(t, stackOptions{resources: 60, seed: 44, payloadKey: key, tmsEndpoint: "http://127.0.0.1:1"})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	id := s.syncID("encrypted-failure")
	run, err := s.startSync(ctx, id, workflows.SyncInput{ExpireDays: 400, LookbackDays: 40, TagMode: workflows.TagModePerResource})
	require.NoError(t, err)

	// A gRPC connection of its own: the SDK client's would decode failures.
	conn, err := grpc.NewClient(s.cfg.Temporal.Address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	raw := workflowservice.NewWorkflowServiceClient(conn)
	var desc *workflowservice.DescribeWorkflowExecutionResponse
	eventually(t, "a tag read has failed at least once", 90*time.Second, func() bool {
		desc, err = raw.DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{
			Namespace: "default", Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: run.GetRunID()},
		})
		require.NoError(t, err)
		for _, a := range desc.GetPendingActivities() {
			if a.GetLastFailure() != nil {
				return true
			}
		}
		return false
	})
	descJSON, err := protojson.Marshal(desc)
	require.NoError(t, err)
	ids := 0
	for r := range s.sim.All() {
		ids++
		require.NotContains(t, string(descJSON), r.ResourceID, "a resource id in clear in DescribeWorkflowExecution")
	}
	require.Positive(t, ids)
	conv, err := codec.NewConverters(key)
	require.NoError(t, err)
	for _, a := range desc.GetPendingActivities() {
		if f := a.GetLastFailure(); f != nil {
			assert.Equal(t, "Encoded failure", f.GetMessage(), "activity %s", a.GetActivityType().GetName())
			// FailureToError decodes in place: a copy.
			clear := conv.Failure.FailureToError(proto.Clone(f).(*failurepb.Failure))
			assert.Contains(t, clear.Error(), "127.0.0.1:1", "with the key, the failure reads in clear")
		}
	}

	require.NoError(t, s.client.TerminateWorkflow(ctx, id, run.GetRunID(), "test done"))
	hist, err := protojson.Marshal(s.history(id, run.GetRunID()))
	require.NoError(t, err)
	for r := range s.sim.All() {
		require.NotContains(t, string(hist), r.ResourceID, "a resource id in clear in Temporal's history")
	}
}
