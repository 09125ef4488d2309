package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"expiry-sync/internal/config"
	"expiry-sync/workflows"
)

// target is what a sync or a schedule syncs: one account by name, or every
// account the workers serve (a SyncAllAccounts parent, one child each).
type target struct {
	account string
	all     bool
}

// addTargetFlags declares --account and --all-accounts (sync, schedule create).
func addTargetFlags(f *pflag.FlagSet, t *target) {
	f.StringVar(&t.account, "account", config.DefaultAccount,
		"the account to sync, as the workers' accounts file names it (default: the HUAWEI_* environment's account)")
	f.BoolVar(&t.all, "all-accounts", false, fmt.Sprintf(
		"sync every account the workers serve: one child sync each, %d at a time; "+
			"one account's failure makes the whole partial",
		workflows.DefaultAccountConcurrency,
	))
}

// check refuses a bad name, or both flags at once.
func (t target) check(flags *pflag.FlagSet) error {
	if t.all && flags.Changed("account") {
		return fmt.Errorf("--account %s and --all-accounts contradict each other: give one", quote(t.account))
	}
	if !t.all {
		return checkAccountFlag(t.account)
	}
	return nil
}

func checkAccountFlag(name string) error {
	if config.CheckAccountName(name) != nil {
		return fmt.Errorf("--account=%s is not an account name: allowed %s", quote(name), config.AllowedAccountNames)
	}
	return nil
}

func (t target) workflowType() string {
	if t.all {
		return workflows.AllAccountsWorkflowName
	}
	return workflows.WorkflowName
}

// input is the workflow input that syncs t with the knobs of in.
func (t target) input(in workflows.SyncInput) any {
	if t.all {
		in.Account = ""
		return workflows.AllAccountsInput{Sync: in}
	}
	in.Account = t.account
	return in
}

// text names t for people.
func (t target) text() string {
	if t.all {
		return "every account"
	}
	return "account " + t.account
}

// accountsText names the accounts of a sync or schedule in a table cell.
func accountsText(accounts []string, all bool) string {
	if all && len(accounts) == 0 {
		return "(all)"
	}
	return strings.Join(accounts, ", ")
}

// addAccountFilter declares the repeatable --account of list, status and report.
func addAccountFilter(f *pflag.FlagSet, accounts *[]string, what string) {
	f.StringArrayVar(
		accounts,
		"account",
		nil,
		what+" of this account (as the accounts file names it; repeat for several)",
	)
}

func checkAccountFilter(accounts []string) error {
	for _, a := range accounts {
		if err := checkAccountFlag(a); err != nil {
			return err
		}
	}
	return nil
}

// accountQuery is the visibility clause selecting syncs of the accounts
// (names are checked: they hold no quote).
func accountQuery(accounts []string) string {
	quoted := make([]string, len(accounts))
	for i, a := range accounts {
		quoted[i] = "'" + a + "'"
	}
	return fmt.Sprintf("%s IN (%s)", workflows.AttrAccount.GetName(), strings.Join(quoted, ", "))
}

// windowFlags are the knobs an account's defaults (the accounts file's
// defaults: expire_days, lookback_days, tag_mode) replace as a whole.
var windowFlags = []string{"expire-days", "lookback-days", "tag-mode"}

// markAccountDefaults says in the help of sync and schedule create that the
// window flags, all unset, leave the window to the account's defaults.
func markAccountDefaults(f *pflag.FlagSet) {
	for _, name := range windowFlags {
		flag := f.Lookup(name)
		flag.Usage += fmt.Sprintf(
			" (unset, with %s: the account's default, else %s)",
			otherWindowFlags(name),
			flag.DefValue,
		)
		flag.DefValue = "" // the zero value: pflag prints no default
		if flag.Value.Type() == "int" {
			flag.DefValue = "0"
		}
	}
}

func otherWindowFlags(name string) string {
	var others []string
	for _, f := range windowFlags {
		if f != name {
			others = append(others, "--"+f)
		}
	}
	return strings.Join(others, " and ")
}

// useAccountDefaults leaves the window and tag mode to the account's
// defaults when none of their flags is given: expire_days 0 asks the
// worker to fill them.
func useAccountDefaults(flags *pflag.FlagSet, in workflows.SyncInput) workflows.SyncInput {
	for _, f := range windowFlags {
		if flags.Changed(f) {
			return in
		}
	}
	in.ExpireDays, in.LookbackDays, in.TagMode = 0, 0, ""
	return in
}

// windowText says what a sync lists, for summaries in the Web UI.
func windowText(in workflows.SyncInput) string {
	if in.ExpireDays == 0 {
		return "the account's default window"
	}
	return fmt.Sprintf("resources expiring within %d days", in.ExpireDays)
}
