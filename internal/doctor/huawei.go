package doctor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"expiry-sync/internal/config"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/inventory"
)

// Names of the Huawei checks.
const (
	checkBSS          = "huawei BSS (credentials, site, IAM bss:order:view)"
	checkTMS          = "huawei TMS (credentials, endpoint)"
	checkShowTags     = "IAM tms:resourceTags:list"
	checkListResource = "IAM tms:resources:list"
)

// Huawei checks the credentials with one small BSS listing and one TMS
// ListProviders call, then the IAM permission each API the sync uses needs,
// probing TMS with a listed resource.
func Huawei(ctx context.Context, cfg config.Huawei) []Check {
	ctx, cancel := context.WithTimeout(ctx, 2*checkTimeout)
	defer cancel()
	hw, err := huawei.New(cfg)
	if err != nil {
		return []Check{fail(checkBSS, "fix the Huawei settings as the message says", "%v", err)}
	}
	bssURL, tmsURL, _ := huawei.Endpoints(cfg) // New checked them
	var checks []Check
	probe, bss := bssCheck(ctx, hw, bssURL)
	checks = append(checks, bss)
	tms := tmsCheck(ctx, hw, tmsURL)
	checks = append(checks, tms)
	if !bss.OK || !tms.OK {
		return append(checks, skip(checkShowTags, "needs working BSS and TMS calls"), skip(checkListResource, "needs working BSS and TMS calls"))
	}
	return append(checks, tmsPermissions(ctx, hw, probe)...)
}

// bssCheck lists a few resources; the first with tags to read, if any, is
// what the TMS permission probes use.
func bssCheck(ctx context.Context, hw *huawei.Client, url string) (inventory.Resource, Check) {
	const name = checkBSS
	now := time.Now()
	page, err := hw.ListPage(ctx, huawei.ListQuery{ExpireBegin: now.AddDate(-1, 0, 0), ExpireEnd: now.AddDate(5, 0, 0), Limit: 1})
	if err != nil {
		return inventory.Resource{}, apiFailure(name, err)
	}
	var probe inventory.Resource
	for _, r := range page.Resources {
		if _, ok := hw.Catalog().Lookup(r.ResourceTypeCode, r.IsMainResource); ok && r.ProjectID != "" {
			probe = r
		}
	}
	return probe, ok(name, "%s lists the account's yearly/monthly resources (%d in total)", url, page.TotalCount)
}

func tmsCheck(ctx context.Context, hw *huawei.Client, url string) Check {
	const name = checkTMS
	served, err := hw.Providers(ctx)
	if err != nil {
		return apiFailure(name, err)
	}
	return ok(name, "%s serves %d resource types", url, len(served))
}

// tmsPermissions probes ShowResourceTag and ListResource with a listed
// resource. TMS authorizes per account, so one resource answers for all.
func tmsPermissions(ctx context.Context, hw *huawei.Client, probe inventory.Resource) []Check {
	const show, list = checkShowTags, checkListResource
	if probe.ResourceID == "" {
		why := "no listed resource has tags to read: nothing to probe TMS with"
		return []Check{skip(show, why), skip(list, why)}
	}
	tmsType, _ := hw.Catalog().Lookup(probe.ResourceTypeCode, probe.IsMainResource)
	_, err := hw.ResourceTags(ctx, inventory.TagTarget{ResourceID: probe.ResourceID, ProjectID: probe.ProjectID, ResourceTypeCode: probe.ResourceTypeCode})
	checks := []Check{permission(show, "ShowResourceTag", err)}
	err = hw.ProbeListResource(ctx, probe.ProjectID, tmsType)
	return append(checks, permission(list, "ListResource (bulk tags)", err))
}

// permission turns a probe's error into a check: only a 403 naming the
// action says the permission is missing; a 400 or 404 passed authorization.
func permission(name, api string, err error) Check {
	var ae *huawei.APIError
	switch {
	case err == nil:
		return ok(name, "%s answers", api)
	case errors.As(err, &ae) && (ae.Kind == huawei.KindBadRequest || ae.Kind == huawei.KindNotFound):
		return ok(name, "%s answers (%d %s: the call was authorized)", api, ae.Status, ae.Code)
	case errors.As(err, &ae) && ae.IAMAction != "":
		return fail(name, fmt.Sprintf("grant %s to the IAM user of HUAWEI_ACCESS_KEY (TMS authorizes per account)", ae.IAMAction), "%s", ae.Problem())
	}
	return apiFailure(name, err)
}

func apiFailure(name string, err error) Check {
	var ae *huawei.APIError
	if errors.As(err, &ae) {
		return fail(name, ae.Hint(), "%s", ae.Problem())
	}
	return fail(name, "", "%v", err)
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
