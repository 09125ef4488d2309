package workflows_test

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"
)

func defaultStartOptions() client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: "expiry-sync-test"}
}

func newDataConverter() converter.DataConverter { return converter.GetDefaultDataConverter() }

func activityNamed(name string) activity.RegisterOptions { return activity.RegisterOptions{Name: name} }

func workflowNamed(name string) workflow.RegisterOptions { return workflow.RegisterOptions{Name: name} }
