package config

import "expiry-sync/internal/contract"

// Account is one Huawei account the worker syncs: a name that the starter,
// the workflows and every row written use, and how to reach it.
type Account struct {
	// Name identifies the account in workflow inputs, sync ids, search
	// attributes and rows; "default" for the HUAWEI_* environment's.
	Name string
	// Huawei is the account's domain id, site, endpoints, credentials and
	// client-side rates; the keys never leave the worker.
	Huawei Huawei
	// Defaults are sync knobs the account's syncs take when the starter
	// gives none (zero: the global defaults).
	Defaults SyncDefaults
}

// SyncDefaults are per-account defaults of a sync's knobs.
type SyncDefaults struct {
	ExpireDays   int    `yaml:"expire_days"`
	LookbackDays int    `yaml:"lookback_days"`
	TagMode      string `yaml:"tag_mode"`
}

// DefaultAccount names the account of the single-account HUAWEI_* environment.
const DefaultAccount = contract.DefaultAccount

// ServedAccounts are the accounts the worker serves: those of the accounts
// file, or the one of the HUAWEI_* environment, named DefaultAccount.
func (w Worker) ServedAccounts() []Account {
	if len(w.Accounts) > 0 {
		return w.Accounts
	}
	return []Account{{Name: DefaultAccount, Huawei: w.Huawei}}
}
