package workerapp

import (
	"expiry-sync/internal/config"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/store"
)

var _ huawei.Limiter = (*store.RateLimiter)(nil)

// LimiterOptions make an account's rates (HUAWEI_BSS_RATE and
// HUAWEI_TMS_RATE, or the accounts file's bss_rate and tms_rate) hold for
// the account across every worker process, not per process: the client
// waits on a token bucket in the database, keyed by the domain id whose
// keys sign the calls (a partner's customers share the partner's limits,
// as Huawei counts them), and a throttled answer pauses every worker.
// docs/accounts.md explains the choice and its measurement.
func LimiterOptions(st *store.Store, acc config.Account) []huawei.Option {
	if st == nil {
		return nil
	}
	h := acc.Huawei
	rates := map[string]float64{huawei.APIBSS: h.BSSRate, huawei.APITMS: h.TMSRate}
	return []huawei.Option{huawei.WithLimiter(store.NewRateLimiter(st, h.CallerDomainID(), rates))}
}

// IPLimiterOption paces every account's BSS calls also with the
// deployment's BSS bucket (HUAWEI_BSS_IP_RATE, the rate_buckets row of
// store.IPBucket): BSS counts flow control per user and per source IP, and
// the accounts of a deployment share its egress address. A CBC.99007197
// ("your IP is throttled") pauses that bucket, so every account, in every
// worker. Build it once and give the same option to every account's
// client, after LimiterOptions; a rate of 0 paces nothing but still
// shares the pauses.
func IPLimiterOption(st *store.Store, rate float64) []huawei.Option {
	if st == nil {
		return nil
	}
	return []huawei.Option{
		huawei.WithIPLimiter(store.NewRateLimiter(st, store.IPBucket, map[string]float64{huawei.APIBSS: rate})),
	}
}
