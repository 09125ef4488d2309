package huawei_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/config"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/testkit/hwsim"
)

// Every BSS call waits on the account's bucket and on the deployment's
// (BSS counts per user and per source IP); a CBC.99007197 pauses the
// deployment's, any other throttling the account's alone. TMS calls never
// touch the deployment's BSS bucket.
func TestBSSCallsWaitOnTheAccountAndTheIPBucket(t *testing.T) {
	sim, url, _ := newRecordedSim(t, 40, hwsim.Knobs{})
	account := &fakeLimiter{waits: map[string]int{}, pauses: map[string][]time.Duration{}}
	ip := &fakeLimiter{waits: map[string]int{}, pauses: map[string][]time.Duration{}}
	cfg := config.Huawei{AccessKey: ak, SecretKey: sk, DomainID: domain, BSSEndpoint: url, TMSEndpoint: url, HTTPTimeout: 2 * time.Second}
	c, err := huawei.New(cfg, huawei.WithLimiter(account), huawei.WithIPLimiter(ip))
	require.NoError(t, err)
	ctx := context.Background()
	for i := range 2 {
		_, err := c.ListPage(ctx, wideWindow(i*10, 10))
		require.NoError(t, err)
	}
	r := sim.Resources()[0]
	_, err = c.ResourceTags(ctx, inventory.TagTarget{ResourceID: r.ResourceID, ProjectID: r.ProjectID, ResourceTypeCode: r.ResourceTypeCode, TagType: "ecs"})
	require.Error(t, err, "whatever TMS answers, the call is paced")
	assert.Equal(t, 2, account.waits[huawei.APIBSS])
	assert.Equal(t, 2, ip.waits[huawei.APIBSS], "each BSS call also waits on the IP bucket")
	assert.Equal(t, 1, account.waits[huawei.APITMS])
	assert.Zero(t, ip.waits[huawei.APITMS], "TMS calls are not the BSS IP bucket's")

	require.NoError(t, sim.SetKnobs(hwsim.Knobs{BSSIPThrottleRatio: 1}))
	_, err = c.ListPage(ctx, wideWindow(0, 10))
	assert.Equal(t, huawei.CodeIPThrottled, apiError(t, err).Code)
	assert.Contains(t, err.Error(), "every account behind it")
	require.Len(t, ip.pauses[huawei.APIBSS], 1, "an IP throttle pauses the IP bucket")
	assert.Positive(t, ip.pauses[huawei.APIBSS][0])
	assert.Empty(t, account.pauses[huawei.APIBSS], "not only the account's")

	require.NoError(t, sim.SetKnobs(hwsim.Knobs{ThrottleRatio: 1}))
	_, err = c.ListPage(ctx, wideWindow(0, 10))
	assert.Equal(t, "APIGW.0308", apiError(t, err).Code)
	assert.Len(t, account.pauses[huawei.APIBSS], 1, "an account's throttle pauses the account's bucket")
	assert.Len(t, ip.pauses[huawei.APIBSS], 1, "and not every account behind the IP")
}
