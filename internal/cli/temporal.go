package cli

import (
	"context"
	"log/slog"
	"time"

	"github.com/spf13/cobra"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"

	"expiry-sync/internal/codec"
	"expiry-sync/internal/temporalclient"
	"expiry-sync/workflows"
)

const (
	// commandTimeout bounds a command that does not wait for a sync.
	commandTimeout = 2 * time.Minute
	// noTimeout: the command waits for a sync, which may take hours.
	noTimeout time.Duration = 0
)

// conn is one command's connection to Temporal. Its data converter is the
// client's: with EXPIRY_SYNC_PAYLOAD_KEY set, inputs, results, memos and
// summaries are encrypted, and only it reads them. Search attributes are
// never encrypted: Temporal indexes them.
type conn struct {
	client.Client
	dc converter.DataConverter
}

// withTemporal checks the Temporal settings, dials with the starter's data
// converter, runs fn within timeout (noTimeout: none) and closes.
func (e *env) withTemporal(
	cmd *cobra.Command,
	timeout time.Duration,
	fn func(ctx context.Context, c *conn) error,
) error {
	t := e.cfg.Temporal
	if err := t.Validate(); err != nil {
		return err
	}
	conv, err := codec.NewConverters(t.PayloadKey.Reveal())
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	c, err := temporalclient.Dial(ctx, t, client.Options{
		DataConverter:    conv.Data,
		FailureConverter: conv.Failure,
		Logger:           tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	return fn(ctx, &conn{Client: c, dc: conv.Data})
}

// decode reads a payload that the client's data converter wrote.
func (c *conn) decode(p *commonpb.Payload, v any) error { return c.dc.FromPayload(p, v) }

// attribute reads a search attribute (never encrypted).
func attribute(fields map[string]*commonpb.Payload, name string, v any) bool {
	p, ok := fields[name]
	return ok && converter.GetDefaultDataConverter().FromPayload(p, v) == nil
}

// syncStartedAt is when a sync first started, from its memo: the run
// Temporal describes may be a later one (resume, continue-as-new).
func (c *conn) syncStartedAt(memo *commonpb.Memo) (time.Time, bool) {
	var started time.Time
	p, ok := memo.GetFields()[workflows.MemoStartedAt]
	if !ok || c.decode(p, &started) != nil || started.IsZero() {
		return time.Time{}, false
	}
	return started, true
}
