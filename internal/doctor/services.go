package doctor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"expiry-sync/internal/config"
	"expiry-sync/internal/store"
	"expiry-sync/internal/temporalclient"
	"expiry-sync/internal/workerapp"
)

// Database checks that DATABASE_URL answers and holds every migration this
// build knows. The worker migrates at start, `worker check` does not: a
// database behind this build (or never migrated) is a warning, one ahead
// of it a failure.
func Database(ctx context.Context, cfg config.Worker) []Check {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	st, err := store.Open(ctx, cfg.DatabaseURL.Reveal())
	if err != nil {
		return []Check{
			fail(
				"database",
				"check DATABASE_URL (mysql://user:pass@host:3306/db or sqlite:///path/file.db) "+
					"and that the database is running and reachable from here",
				"%v",
				err,
			),
			skip("migrations", "needs the database"),
		}
	}
	defer st.Close()
	db := ok("database", "%s answers", st.Dialect())
	current, latest, err := st.MigrationVersion(ctx)
	switch {
	case err != nil:
		return []Check{
			db,
			warn(
				"migrations",
				"nothing, if the worker may create tables: it applies the migrations at start "+
					"(as DATABASE_MIGRATION_URL's user when set)",
				"cannot read the migration version (%v): the database was probably never migrated",
				err,
			),
		}
	case current < latest:
		return []Check{
			db,
			warn(
				"migrations",
				"nothing, if the worker may alter tables: it applies the missing migrations at start "+
					"(as DATABASE_MIGRATION_URL's user when set)",
				"the database is at version %d, this worker needs %d",
				current,
				latest,
			),
		}
	case current > latest:
		return []Check{db, fail("migrations", "upgrade this worker to the release that migrated the database",
			"the database is at version %d, newer than this worker's %d", current, latest)}
	}
	return []Check{db, ok("migrations", "version %d (the latest)", current)}
}

// Temporal checks the frontend answers, the namespace exists and holds the
// sync's search attributes.
func Temporal(ctx context.Context, cfg config.Temporal) []Check {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	c, err := temporalclient.Dial(ctx, cfg, client.Options{Logger: tlog.NewStructuredLogger(discardLogger())})
	if err != nil {
		return []Check{
			fail(
				"temporal",
				"check TEMPORAL_ADDRESS and the other TEMPORAL_* settings "+
					"(docs/temporal-clusters.md), and that the server runs",
				"%v",
				err,
			),
			skip("namespace", "needs Temporal"), skip("search attributes", "needs Temporal"),
		}
	}
	defer c.Close()
	checks := []Check{ok("temporal", "frontend at %s answers", cfg.Address)}
	_, err = c.WorkflowService().
		DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: cfg.Namespace})
	var notFound *serviceerror.NamespaceNotFound
	switch {
	case errors.As(err, &notFound):
		return append(
			checks,
			fail(
				"namespace",
				fmt.Sprintf(
					"create it (temporal operator namespace create --namespace %s) "+
						"or set TEMPORAL_NAMESPACE to an existing one",
					cfg.Namespace,
				),
				"namespace %s does not exist",
				cfg.Namespace,
			),
			skip("search attributes", "needs the namespace"),
		)
	case err != nil:
		return append(
			checks,
			fail(
				"namespace",
				"check TEMPORAL_NAMESPACE and this client's permissions",
				"describing namespace %s: %v",
				cfg.Namespace,
				err,
			),
			skip("search attributes", "needs the namespace"),
		)
	}
	checks = append(checks, ok("namespace", "%s exists", cfg.Namespace))
	missing, err := workerapp.MissingSearchAttributes(ctx, c, cfg.Namespace)
	switch {
	case err != nil:
		return append(checks, fail("search attributes", "fix the attribute's type or use another namespace", "%v", err))
	case len(missing) > 0:
		command := workerapp.SearchAttributesCommand(cfg.Namespace, missing)
		return append(checks, fail("search attributes", "start the worker once (it creates them) or run: "+command,
			"%s missing in namespace %s", strings.Join(slices.Sorted(maps.Keys(missing)), ", "), cfg.Namespace))
	}
	return append(checks, ok("search attributes", "all registered in %s", cfg.Namespace))
}
