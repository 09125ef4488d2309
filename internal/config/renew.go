package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/yamlkeys"
)

// Renewal settings of the worker (docs/renewals.md).
const (
	RenewModeEnv       = "EXPIRY_SYNC_RENEW"
	RenewPolicyFileEnv = "EXPIRY_SYNC_RENEW_POLICY_FILE"
)

// CheckRenewMode says what is wrong with EXPIRY_SYNC_RENEW, if anything.
func CheckRenewMode(mode string) error {
	if !slices.Contains(contract.RenewModes, mode) {
		return fmt.Errorf(
			"%s=%q is not a renewal mode: allowed %s",
			RenewModeEnv,
			mode,
			strings.Join(contract.RenewModes, ", "),
		)
	}
	return nil
}

// policyEntry is one policy as the file writes it.
type policyEntry struct {
	Approvers           []string `yaml:"approvers"`
	FourEyes            *bool    `yaml:"four_eyes"`
	SecondApprovalAbove string   `yaml:"second_approval_above"`
	MaxAmount           string   `yaml:"max_amount"`
	Periods             []string `yaml:"periods"`
	DeadlineBefore      string   `yaml:"deadline_before"`
	UseCoupons          bool     `yaml:"use_coupons"`
	UseDiscounts        bool     `yaml:"use_discounts"`
}

type policyFile struct {
	Default  *policyEntry           `yaml:"default"`
	Accounts map[string]policyEntry `yaml:"accounts"`
}

// RenewPolicies are the renewal policies of the accounts: an account's own
// entry replaces the default entirely (no field-by-field merge: what an
// account allows is read in one place).
type RenewPolicies struct {
	Default  contract.RenewPolicy
	Accounts map[string]contract.RenewPolicy
}

// For is the policy of an account.
func (p RenewPolicies) For(account string) contract.RenewPolicy {
	if pol, ok := p.Accounts[account]; ok {
		return pol
	}
	return p.Default
}

// DefaultRenewPolicy is the policy without a file: four eyes, anyone may
// approve, nothing is paid by the tool (no max_amount).
func DefaultRenewPolicy() contract.RenewPolicy {
	return contract.RenewPolicy{FourEyes: true, DeadlineBefore: contract.DefaultRenewDeadlineBefore}
}

// LoadRenewPolicies reads the policy file; "" is the default policy for
// every account. Errors name the file, the entry and the field.
func LoadRenewPolicies(file string) (RenewPolicies, error) {
	out := RenewPolicies{Default: DefaultRenewPolicy()}
	if file == "" {
		return out, nil
	}
	where := fmt.Sprintf("renewal policy file %s (%s)", file, RenewPolicyFileEnv)
	b, err := os.ReadFile(file)
	if err != nil {
		return out, fmt.Errorf("%s cannot be read: %v", where, errors.Unwrap(err))
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return out, fmt.Errorf("%s: %v", where, err)
	}
	if err := yamlkeys.Unique(&doc); err != nil {
		return out, fmt.Errorf("%s: %w", where, err)
	}
	var f policyFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return out, fmt.Errorf("%s: %v", where, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if f.Default != nil {
		if out.Default, err = f.Default.policy(); err != nil {
			return out, fmt.Errorf("%s: default: %w", where, err)
		}
	}
	out.Accounts = map[string]contract.RenewPolicy{}
	for name, e := range f.Accounts {
		if err := CheckAccountName(name); err != nil {
			return out, fmt.Errorf("%s: accounts: %w", where, err)
		}
		if out.Accounts[name], err = e.policy(); err != nil {
			return out, fmt.Errorf("%s: accounts: %s: %w", where, name, err)
		}
	}
	return out, nil
}

func (e policyEntry) policy() (contract.RenewPolicy, error) {
	p := DefaultRenewPolicy()
	p.Approvers = e.Approvers
	if e.FourEyes != nil {
		p.FourEyes = *e.FourEyes
	}
	for _, a := range e.Approvers {
		if strings.TrimSpace(a) == "" {
			return p, errors.New("approvers: an approver is empty: list identities such as alice@ops-host")
		}
	}
	var err error
	if p.SecondApprovalAbove, err = optionalAmount("second_approval_above", e.SecondApprovalAbove); err != nil {
		return p, err
	}
	if p.MaxAmount, err = optionalAmount("max_amount", e.MaxAmount); err != nil {
		return p, err
	}
	for _, s := range e.Periods {
		per, err := contract.ParsePeriod(s)
		if err != nil {
			return p, fmt.Errorf("periods: %w", err)
		}
		p.Periods = append(p.Periods, per.String())
	}
	if e.DeadlineBefore != "" {
		d, err := time.ParseDuration(e.DeadlineBefore)
		if err != nil || d < 0 {
			return p, fmt.Errorf("deadline_before: %q is not a duration such as 72h", e.DeadlineBefore)
		}
		p.DeadlineBefore = d
	}
	p.UseCoupons, p.UseDiscounts = e.UseCoupons, e.UseDiscounts
	return p, nil
}

func optionalAmount(field, s string) (contract.Amount, error) {
	if s == "" {
		return 0, nil
	}
	a, err := contract.ParseAmount(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", field, err)
	}
	return a, nil
}
