package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	prodAK = "PRODACCESSKEY0000001"
	prodSK = "prod-secret-9f8e7d6c5b4a"
)

// keyFiles writes the prod keys as mounted secrets, with a trailing newline.
func keyFiles(t *testing.T) (ak, sk string) {
	dir := t.TempDir()
	ak, sk = filepath.Join(dir, "prod_ak"), filepath.Join(dir, "prod_sk")
	require.NoError(t, os.WriteFile(ak, []byte(prodAK+"\n"), 0o600))
	require.NoError(t, os.WriteFile(sk, []byte(prodSK+"\n"), 0o600))
	return ak, sk
}

func writeAccounts(t *testing.T, content string) string {
	file := filepath.Join(t.TempDir(), "accounts.yaml")
	require.NoError(t, os.WriteFile(file, []byte(content), 0o600))
	return file
}

func TestTheIssuesMinimalFormWorksAsWritten(t *testing.T) {
	ak, sk := keyFiles(t)
	t.Setenv("STAGING_AK", "STAGINGKEY")
	t.Setenv("STAGING_SK", "staging-secret")
	file := writeAccounts(t, fmt.Sprintf(`accounts:
  - name: prod
    domain_id: 0a1b2c3d
    site: cn                          # cn | intl | eu
    access_key_file: %s
    secret_key_file: %s
    bss_endpoint: https://bss.example.com   # optional, overrides the site
    tms_endpoint: https://tms.example.com
  - name: staging
    domain_id: 9f8e7d6c
    site: intl
    access_key_env: STAGING_AK
    secret_key_env: STAGING_SK
`, ak, sk))
	accounts, err := LoadAccountsFile(file)
	require.NoError(t, err)
	require.Len(t, accounts, 2)
	prod, staging := accounts[0], accounts[1]
	assert.Equal(t, "prod", prod.Name)
	assert.Equal(t, Huawei{
		Credentials: CredentialsKeys, AccessKey: prodAK, SecretKey: prodSK, DomainID: "0a1b2c3d", Site: "cn",
		BSSEndpoint: "https://bss.example.com", TMSEndpoint: "https://tms.example.com",
		HTTPTimeout: 30 * time.Second, BSSRate: 10, TMSRate: 20,
	}, prod.Huawei, "keys read from the files, trimmed; the optional fields take the HUAWEI_* defaults")
	assert.Equal(t, "staging", staging.Name)
	assert.Equal(t, Secret("STAGINGKEY"), staging.Huawei.AccessKey)
	assert.Equal(t, Secret("staging-secret"), staging.Huawei.SecretKey)
	assert.Equal(t, "intl", staging.Huawei.Site)
	assert.Equal(t, "9f8e7d6c", staging.Huawei.CallerDomainID())
	require.NoError(t, prod.Huawei.Validate())
}

func TestEveryOptionalField(t *testing.T) {
	ak, sk := keyFiles(t)
	t.Setenv("PROD_TOKEN", "sts-token-value")
	file := writeAccounts(t, fmt.Sprintf(`accounts:
  - name: prod.eu-1
    domain_id: d1
    site: eu
    access_key_file: %s
    secret_key_file: %s
    security_token_env: PROD_TOKEN
    http_timeout: 45s
    bss_rate: 8
    tms_rate: 0
    defaults: {expire_days: 60, lookback_days: 30, tag_mode: bulk}
  - name: on-ecs
    domain_id: d2
    credentials: chain
  - name: customer-a
    domain_id: partner-domain
    customer_id: customer-a-domain
    access_key_file: %s
    secret_key_file: %s
`, ak, sk, ak, sk))
	accounts, err := LoadAccountsFile(file)
	require.NoError(t, err)
	eu := accounts[0].Huawei
	assert.Equal(t, Secret("sts-token-value"), eu.SecurityToken)
	assert.Equal(t, 45*time.Second, eu.HTTPTimeout)
	assert.Equal(t, 8.0, eu.BSSRate)
	assert.Equal(t, 0.0, eu.TMSRate, "0 is kept: unlimited")
	assert.Equal(t, SyncDefaults{ExpireDays: 60, LookbackDays: 30, TagMode: "bulk"}, accounts[0].Defaults)

	chain := accounts[1].Huawei
	assert.Equal(t, CredentialsChain, chain.Credentials)
	assert.Empty(t, chain.AccessKey)
	require.NoError(t, chain.Validate(), "the chain needs no keys")

	partner := accounts[2].Huawei
	assert.Equal(t, "customer-a-domain", partner.DomainID, "the account synced is the customer: its rows and lease")
	assert.Equal(t, "partner-domain", partner.PartnerDomainID)
	assert.Equal(t, "partner-domain", partner.CallerDomainID(), "the partner's keys sign and its limits apply")
}

func TestAccountsFileErrorsNameTheFileAccountAndField(t *testing.T) {
	ak, sk := keyFiles(t)
	keys := fmt.Sprintf("access_key_file: %s\n    secret_key_file: %s", ak, sk)
	for name, tc := range map[string]struct{ content, want string }{
		"unknown field": {"accounts:\n  - name: prod\n    domain_id: d\n    regoin: cn\n    " + keys,
			`account "prod" (line 2): regoin is not a field (line 4): allowed access_key_env, access_key_file, bss_endpoint,`},
		"unknown defaults field": {"accounts:\n  - name: prod\n    domain_id: d\n    defaults: {days: 3}\n    " + keys,
			`account "prod" (line 2): defaults.days is not a field (line 4): allowed defaults.expire_days, defaults.lookback_days, defaults.tag_mode`},
		"unknown top-level field": {"acounts: []\n", `line 1: unknown field "acounts": allowed accounts`},
		"empty":                   {"", "is empty: it needs accounts:"},
		"no accounts":             {"accounts: []\n", "accounts: is missing or empty"},
		"no name":                 {"accounts:\n  - domain_id: d\n    " + keys, "account #1 (line 2): name is missing"},
		"bad name":                {"accounts:\n  - name: 'prod west'\n    domain_id: d\n    " + keys, `name "prod west" is not allowed: use 1..64 of A-Z a-z 0-9 . _ -`},
		"no domain":               {"accounts:\n  - name: prod\n    " + keys, `account "prod" (line 2): domain_id is missing`},
		"bad site":                {"accounts:\n  - name: prod\n    domain_id: d\n    site: us\n    " + keys, `site "us" is not a Huawei Cloud site: allowed cn (China), intl (international) or eu (Europe)`},
		"bad endpoint":            {"accounts:\n  - name: prod\n    domain_id: d\n    bss_endpoint: bss.example.com\n    " + keys, `bss_endpoint "bss.example.com" is not an http(s) URL`},
		"bad timeout":             {"accounts:\n  - name: prod\n    domain_id: d\n    http_timeout: 1h\n    " + keys, `http_timeout "1h" is not allowed: use a duration 1s..10m`},
		"negative rate":           {"accounts:\n  - name: prod\n    domain_id: d\n    tms_rate: -1\n    " + keys, "tms_rate -1 is out of range: allowed 0..1000"},
		"rate not a number":       {"accounts:\n  - name: prod\n    domain_id: d\n    bss_rate: fast\n    " + keys, "bss_rate (line 4) must be a number"},
		"bad tag mode":            {"accounts:\n  - name: prod\n    domain_id: d\n    defaults: {tag_mode: all}\n    " + keys, `defaults.tag_mode "all" is not allowed: use one of per-resource, bulk, auto`},
		"bad expire days":         {"accounts:\n  - name: prod\n    domain_id: d\n    defaults: {expire_days: 4000}\n    " + keys, "defaults.expire_days 4000 is out of range: allowed 1..3650"},
		"no access key":           {"accounts:\n  - name: prod\n    domain_id: d\n    secret_key_file: " + sk, "access_key_file or access_key_env is required"},
		"both file and env":       {"accounts:\n  - name: prod\n    domain_id: d\n    access_key_env: X\n    " + keys, "access_key_file and access_key_env are both set: give one"},
		"missing file":            {"accounts:\n  - name: prod\n    domain_id: d\n    access_key_file: /nonexistent/ak\n    secret_key_file: " + sk, "access_key_file /nonexistent/ak cannot be read: no such file or directory"},
		"unset env":               {"accounts:\n  - name: prod\n    domain_id: d\n    access_key_env: EXPIRY_SYNC_TEST_UNSET_AK\n    secret_key_file: " + sk, "access_key_env names EXPIRY_SYNC_TEST_UNSET_AK, which is not set or empty"},
		"chain with keys":         {"accounts:\n  - name: prod\n    domain_id: d\n    credentials: chain\n    " + keys, "credentials is chain, which finds the keys itself"},
		"bad credentials":         {"accounts:\n  - name: prod\n    domain_id: d\n    credentials: iam\n    " + keys, `credentials "iam" is not allowed: use keys`},
		"twice":                   {"accounts:\n  - name: prod\n    domain_id: d\n    domain_id: e\n    " + keys, `line 4: key "domain_id" is repeated (first at line 3)`},
		"name twice":              {"accounts:\n  - name: prod\n    name: staging\n    domain_id: d\n    " + keys, `line 3: key "name" is repeated (first at line 2)`},
		"twice in defaults":       {"accounts:\n  - name: prod\n    domain_id: d\n    defaults: {expire_days: 3, expire_days: 4}\n    " + keys, `line 4: key "expire_days" is repeated (first at line 4)`},
		"two accounts blocks": {"accounts:\n  - name: prod\n    domain_id: d1\n    " + keys + "\naccounts:\n  - name: staging\n    domain_id: d2\n    " + keys,
			`line 6: key "accounts" is repeated (first at line 1): give it once`},
		"duplicate names": {"accounts:\n  - name: prod\n    domain_id: d1\n    " + keys + "\n  - name: prod\n    domain_id: d2\n    " + keys,
			`account "prod" (line 6): name "prod" is already used by account "prod" (line 2): names must be unique`},
		"duplicate domains": {"accounts:\n  - name: prod\n    domain_id: d1\n    " + keys + "\n  - name: prod2\n    domain_id: d1\n    " + keys,
			`account "prod2" (line 6): domain_id d1 is already synced by account "prod" (line 2)`},
		"customer is the partner": {"accounts:\n  - name: prod\n    domain_id: d1\n    customer_id: d1\n    " + keys, "customer_id equals domain_id"},
		"not a list item mapping": {"accounts:\n  - prod\n", "must be a mapping of fields"},
	} {
		t.Run(name, func(t *testing.T) {
			file := writeAccounts(t, tc.content)
			_, err := LoadAccountsFile(file)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "accounts file "+file+" (EXPIRY_SYNC_ACCOUNTS_FILE): ")
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestALiteralKeyIsRefusedWithoutEchoingIt(t *testing.T) {
	for _, field := range []string{"access_key", "secret_key", "security_token", "sk"} {
		file := writeAccounts(t, "accounts:\n  - name: prod\n    domain_id: d\n    "+field+": "+prodSK+"\n")
		_, err := LoadAccountsFile(file)
		require.Error(t, err, field)
		assert.Contains(t, err.Error(), field+" holds a key in the file: keys are never written there; use ")
		assert.Contains(t, err.Error(), "_file (a file, e.g. a mounted secret) or ")
		assert.NotContains(t, err.Error(), prodSK)
	}
	// A key pasted where a number goes is not echoed either.
	file := writeAccounts(t, "accounts:\n  - name: prod\n    domain_id: d\n    bss_rate: "+prodSK+"\n")
	_, err := LoadAccountsFile(file)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), prodSK)
	// Nor by a syntax error.
	file = writeAccounts(t, "accounts:\n  - name: prod\n    domain_id: d\n    access_key_env: [\""+prodSK+"\"\n")
	_, err = LoadAccountsFile(file)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), prodSK)
}

func TestAnAccountPrintsWithoutItsKeys(t *testing.T) {
	ak, sk := keyFiles(t)
	t.Setenv("PROD_TOKEN", "sts-token-value")
	accounts, err := LoadAccountsFile(writeAccounts(t, fmt.Sprintf(
		"accounts:\n  - name: prod\n    domain_id: d\n    access_key_file: %s\n    secret_key_file: %s\n    security_token_env: PROD_TOKEN\n", ak, sk)))
	require.NoError(t, err)
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, accounts)
		for _, secret := range []string{prodAK, prodSK, "sts-token-value"} {
			assert.NotContains(t, out, secret, format)
		}
	}
}

func TestLoadWorkerServesTheFilesAccounts(t *testing.T) {
	ak, sk := keyFiles(t)
	t.Setenv("DATABASE_URL", "mysql://expiry@db:3306/expiry_sync")
	t.Setenv(AccountsFileEnv, writeAccounts(t, fmt.Sprintf(
		"accounts:\n  - name: prod\n    domain_id: d1\n    access_key_file: %s\n    secret_key_file: %s\n", ak, sk)))
	c, err := LoadWorker()
	require.NoError(t, err)
	require.Len(t, c.Accounts, 1)
	assert.Equal(t, "prod", c.Accounts[0].Name)
	assert.Equal(t, c.Accounts, c.ServedAccounts())

	t.Setenv("HUAWEI_ACCESS_KEY", "AK")
	t.Setenv("HUAWEI_DOMAIN_ID", "d0")
	_, err = LoadWorker()
	require.Error(t, err)
	assert.Equal(t, "EXPIRY_SYNC_ACCOUNTS_FILE is set and so is HUAWEI_ACCESS_KEY, HUAWEI_DOMAIN_ID: the accounts file names every account, keep one of them", err.Error())
	assert.NotContains(t, err.Error(), "=AK")

	t.Setenv(AccountsFileEnv, "/nonexistent/accounts.yaml")
	t.Setenv("HUAWEI_ACCESS_KEY", "")
	t.Setenv("HUAWEI_DOMAIN_ID", "")
	_, err = LoadWorker()
	require.Error(t, err)
	assert.Equal(t, "accounts file /nonexistent/accounts.yaml (EXPIRY_SYNC_ACCOUNTS_FILE) cannot be read: no such file or directory", err.Error())
}

func TestLoadWorkerServesTheEnvironmentAsDefault(t *testing.T) {
	workerEnv(t)
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(token, []byte("sts-token\n"), 0o600))
	t.Setenv("HUAWEI_SECURITY_TOKEN_FILE", token)
	c, err := LoadWorker()
	require.NoError(t, err)
	require.Len(t, c.Accounts, 1)
	assert.Equal(t, DefaultAccount, c.Accounts[0].Name)
	assert.Equal(t, c.Huawei, c.Accounts[0].Huawei)
	assert.Equal(t, Secret("AK"), c.Huawei.AccessKey)
	assert.Equal(t, Secret("sts-token"), c.Huawei.SecurityToken)
	assert.Equal(t, CredentialsKeys, c.Huawei.Credentials)
	assert.Equal(t, []Account{{Name: DefaultAccount, Huawei: Huawei{DomainID: "x"}}}, Worker{Huawei: Huawei{DomainID: "x"}}.ServedAccounts(),
		"a configuration built by hand serves its Huawei settings as default")
}

func TestEnvironmentCredentialsAreNamed(t *testing.T) {
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"no access key":   {map[string]string{"HUAWEI_ACCESS_KEY": ""}, "HUAWEI_ACCESS_KEY (or HUAWEI_ACCESS_KEY_FILE) is not set: the worker needs an access key"},
		"no domain":       {map[string]string{"HUAWEI_DOMAIN_ID": ""}, "HUAWEI_DOMAIN_ID is not set: the worker needs the account (domain) id"},
		"bad credentials": {map[string]string{"HUAWEI_CREDENTIALS": "iam"}, `HUAWEI_CREDENTIALS="iam" is not allowed: use keys (HUAWEI_ACCESS_KEY and HUAWEI_SECRET_KEY) or chain`},
		"chain and keys":  {map[string]string{"HUAWEI_CREDENTIALS": "chain"}, "HUAWEI_CREDENTIALS=chain and HUAWEI_ACCESS_KEY/SECRET_KEY/SECURITY_TOKEN are both set: keep one"},
	} {
		t.Run(name, func(t *testing.T) {
			workerEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := LoadWorker()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	workerEnv(t)
	t.Setenv("HUAWEI_ACCESS_KEY", "")
	t.Setenv("HUAWEI_SECRET_KEY", "")
	t.Setenv("HUAWEI_CREDENTIALS", "chain")
	c, err := LoadWorker()
	require.NoError(t, err, "the chain needs no HUAWEI_ACCESS_KEY")
	assert.Equal(t, CredentialsChain, c.Accounts[0].Huawei.Credentials)
}

func TestAccountNames(t *testing.T) {
	for _, ok := range []string{"prod", "default", "bu-1.staging_2", strings.Repeat("a", 64)} {
		assert.NoError(t, CheckAccountName(ok), ok)
	}
	for _, bad := range []string{"", "-prod", "prod west", "prod'", strings.Repeat("a", 65), "生产"} {
		assert.Error(t, CheckAccountName(bad), bad)
	}
}
