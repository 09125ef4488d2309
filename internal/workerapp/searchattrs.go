package workerapp

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"expiry-sync/workflows"
)

// ensureSearchAttributes creates the sync's custom search attributes that the
// namespace lacks, so that no workflow task ever fails on an unregistered
// one. Where the server refuses (no permission, Temporal Cloud), it returns
// the exact command an operator must run.
func ensureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	missing, err := MissingSearchAttributes(ctx, c, namespace)
	if err != nil || len(missing) == 0 {
		return err
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	})
	if err != nil {
		return fmt.Errorf("search attributes %s are missing in namespace %s "+
			"and this worker cannot create them (%v); run: %s",
			strings.Join(slices.Sorted(maps.Keys(missing)), ", "), namespace, err,
			SearchAttributesCommand(namespace, missing))
	}
	// The server registers them asynchronously: wait until they are listed.
	for deadline := time.Now().Add(30 * time.Second); ; {
		if missing, err = MissingSearchAttributes(ctx, c, namespace); err != nil || len(missing) == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf(
				"search attributes %v were created but are not listed yet in namespace %s",
				slices.Sorted(maps.Keys(missing)),
				namespace,
			)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// MissingSearchAttributes lists the sync's search attributes the namespace
// lacks, with their types (an error for one of the wrong type).
func MissingSearchAttributes(
	ctx context.Context,
	c client.Client,
	namespace string,
) (map[string]enumspb.IndexedValueType, error) {
	resp, err := c.OperatorService().
		ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("listing the search attributes of namespace %s: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, want := range workflows.SearchAttributes() {
		got, ok := resp.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = want
		case got != want:
			return nil, fmt.Errorf(
				"search attribute %s has type %s in namespace %s, expiry-sync needs %s",
				name,
				typeName(got),
				namespace,
				typeName(want),
			)
		}
	}
	return missing, nil
}

// SearchAttributesCommand is the official CLI's command creating the attributes.
func SearchAttributesCommand(namespace string, attrs map[string]enumspb.IndexedValueType) string {
	cmd := "temporal operator search-attribute create --namespace " + namespace
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		cmd += " --name " + name + " --type " + typeName(attrs[name])
	}
	return cmd
}

// typeName is the CLI's spelling of a type (Keyword, Int, KeywordList...),
// which is also the API enum's String().
func typeName(t enumspb.IndexedValueType) string { return t.String() }
