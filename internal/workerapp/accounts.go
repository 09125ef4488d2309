package workerapp

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"expiry-sync/activities"
	"expiry-sync/internal/config"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/store"
)

// buildAccounts builds one Huawei client per account the worker serves,
// each with the account's limiters, shared by every worker through st
// (LimiterOptions), beside the deployment's BSS bucket (IPLimiterOption),
// and with the tag catalog its TMS serves.
func buildAccounts(
	ctx context.Context,
	cfg config.Worker,
	st *store.Store,
	opts []huawei.Option,
	logger *slog.Logger,
) (map[string]*activities.Account, error) {
	out := map[string]*activities.Account{}
	ip := IPLimiterOption(st, cfg.BSSIPRate) // one for all: they share the egress address
	for _, acc := range cfg.ServedAccounts() {
		hw, err := huawei.New(acc.Huawei, slices.Concat(opts, LimiterOptions(st, acc), ip)...)
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", acc.Name, err)
		}
		restrictTagTypes(ctx, hw, logger.With("account", acc.Name))
		out[acc.Name] = &activities.Account{
			Name:     acc.Name,
			DomainID: acc.Huawei.DomainID,
			Huawei:   hw,
			Defaults: acc.Defaults,
			Partner:  acc.Huawei.PartnerDomainID != "",
		}
	}
	return out, nil
}

// accountDomains maps each served account's name to its domain id.
func accountDomains(accounts map[string]*activities.Account) map[string]string {
	out := make(map[string]string, len(accounts))
	for name, acc := range accounts {
		out[name] = acc.DomainID
	}
	return out
}
