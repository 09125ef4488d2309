package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/store"
)

var renewAsOf = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func renewRow(id string, d *store.Decision) store.ExpiringResource {
	return store.ExpiringResource{ResourceID: id, ResourceName: "web-" + id, AccountName: "prod", ServiceTypeCode: "hws.service.type.ec2",
		RegionCode: "cn-north-4", ExpireTime: renewAsOf.Add(72 * time.Hour), IsActive: true, Decision: d}
}

// A resource in an open request carries it; otherwise (no request, or
// only requests that ended) the command to request its renewal.
func TestNewItemCarriesTheOpenRequestOrTheCommand(t *testing.T) {
	open := NewItem(renewRow("r1", &store.Decision{ResourceID: "r1", RequestID: "renew-prod-1a2b3c4d5e-20261201", Kind: contract.RenewKindRenew,
		State: contract.RenewOrdered}), "", renewAsOf)
	assert.Equal(t, "renew-prod-1a2b3c4d5e-20261201", open.RenewalRequestID)
	assert.Equal(t, contract.RenewOrdered, open.RenewalState)
	assert.Empty(t, open.RenewCommand)

	for name, d := range map[string]*store.Decision{
		"none":     nil,
		"rejected": {ResourceID: "r2", RequestID: "renew-prod-x", Kind: contract.RenewKindRenew, State: contract.RenewRejected, Closed: true},
		"dry run":  {ResourceID: "r2", RequestID: "renew-prod-y", Kind: contract.RenewKindRenew, State: contract.RenewApproved, Closed: true},
	} {
		it := NewItem(renewRow("r2", d), "", renewAsOf)
		assert.Empty(t, it.RenewalRequestID, name)
		assert.Equal(t, "starter renew request --resource r2 --period 1y --account prod", it.RenewCommand, name)
	}
	noName := renewRow("r3", nil)
	noName.AccountName = ""
	assert.Equal(t, "starter renew request --resource r3 --period 1y --account default", NewItem(noName, "", renewAsOf).RenewCommand)
	assert.Equal(t, `starter renew request --resource 'a b'\''c' --period 1y --account 'x;y'`, RenewCommand("a b'c", "x;y"), "quoted for a shell")
}

// Every format of the digest names the pending request of a resource
// that has one, and shows the command for one that has none.
func TestDigestNamesThePendingRequestOrTheCommand(t *testing.T) {
	const request = "renew-prod-1a2b3c4d5e-20261201"
	pending := NewItem(renewRow("i-pending", &store.Decision{ResourceID: "i-pending", RequestID: request, Kind: contract.RenewKindRenew, State: contract.RenewPending}), "alice", renewAsOf)
	auto := NewItem(renewRow("i-auto", &store.Decision{ResourceID: "i-auto", RequestID: "renew-prod-auto", Kind: contract.RenewKindAutoRenewOn, State: contract.RenewApproved}), "alice", renewAsOf)
	bare := NewItem(renewRow("i-bare", nil), "bob", renewAsOf)
	const command = "starter renew request --resource i-bare --period 1y --account prod"
	for _, lang := range []string{"en", "zh"} {
		d := Digest{Account: "prod", Route: "ops", Threshold: 7, Language: lang, AsOf: renewAsOf, Items: []Item{pending, auto, bare}}
		state := map[string]string{"en": "pending", "zh": "待审批"}[lang]
		for format, msg := range map[string]string{
			"text": d.Text(), "html": d.HTML(), "dingtalk": d.markdownFor(TypeDingTalk), "wecom": d.markdownFor(TypeWeCom),
			"feishu": feishuText(string(feishuBody(d, 1, "s"))), "slack": slackText(t, d),
		} {
			assert.Contains(t, msg, request, "%s %s names the pending request", lang, format)
			assert.Contains(t, msg, state, "%s %s says its state", lang, format)
			assert.Contains(t, msg, "renew-prod-auto", "%s %s", lang, format)
			assert.Contains(t, msg, command, "%s %s shows the command for the resource without a request", lang, format)
			assert.Equal(t, 1, strings.Count(msg, "starter renew request"), "%s %s: no command for the resources in a request", lang, format)
		}
	}
	d := Digest{Account: "prod", Route: "ops", Threshold: 7, Language: "en", AsOf: renewAsOf, Items: []Item{pending, auto, bare}}
	assert.Contains(t, d.Text(), "  renewal request "+request+": pending\n")
	assert.Contains(t, d.Text(), "  renewal request renew-prod-auto: autorenew-on, approved\n")
	assert.Contains(t, d.Text(), "  to renew: "+command+"\n")
	assert.Contains(t, d.markdownFor(TypeDingTalk), "· renewal request `"+request+"`: pending\n")
	assert.Contains(t, d.markdownFor(TypeDingTalk), "· to renew: `"+command+"`\n")
	zh := d
	zh.Language = "zh"
	assert.Contains(t, zh.Text(), "续费申请 renew-prod-auto：开通自动续费, 已批准")
	assert.Contains(t, zh.Text(), "申请续费："+command)

	// The webhook's JSON carries them as fields.
	b, err := json.Marshal(d)
	require.NoError(t, err)
	var back struct {
		Resources []map[string]any `json:"resources"`
	}
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, request, back.Resources[0]["renewal_request_id"])
	assert.Equal(t, "pending", back.Resources[0]["renewal_state"])
	assert.NotContains(t, back.Resources[0], "renew_command")
	assert.Equal(t, command, back.Resources[2]["renew_command"])
	assert.NotContains(t, back.Resources[2], "renewal_request_id")
}

func slackText(t *testing.T, d Digest) string {
	var b strings.Builder
	for _, blk := range slackBlocks(d) {
		b.WriteString(blk["text"].(map[string]any)["text"].(string))
	}
	return b.String()
}

// A resource alone always makes a message, on every platform, with every
// field as long as the inventory keeps it (names 512 characters, tag
// values 255, ids 128, account names 64), its renewal line included.
func TestTheLongestResourceFitsOneMessage(t *testing.T) {
	policy := 0
	long := func(r string, n int) string { return strings.Repeat(r, n) }
	for _, withRequest := range []bool{false, true} {
		it := Item{ResourceID: long("资", 128), Name: long("名", 512), Service: "hws.service.type.ec2", Region: "cn-north-4",
			Owner: long("负", 255), ExpireTime: renewAsOf, DaysLeft: 0, ExpirePolicy: &policy}
		if withRequest {
			it.RenewalRequestID, it.RenewalKind, it.RenewalState = long("请", 128), contract.RenewKindAutoRenewOff, contract.RenewPending
		} else {
			it.RenewCommand = RenewCommand(it.ResourceID, long("账", 64))
		}
		d := Digest{Account: long("账", 64), Route: long("r", 64), Threshold: 30, Language: "zh", AsOf: renewAsOf, Items: []Item{it},
			People: map[string]*Person{it.Owner: {DingTalkUserID: long("u", 64), WeComUserID: long("w", 64), FeishuOpenID: "ou_" + long("f", 32), SlackMemberID: "U" + long("S", 10)}}}
		for _, typ := range []string{TypeDingTalk, TypeWeCom, TypeFeishu, TypeSlack} {
			ch := &Channel{Name: "c", Type: typ, MaxItems: 50}
			parts := ch.Parts(d)
			require.Len(t, parts, 1, typ)
			_, ok := messageOf(t, ch, withItems(parts[0], parts[0].Items, 999, 999))
			assert.True(t, ok, "%s (request %v): the longest resource is over the platform's limit", typ, withRequest)
		}
	}
}
