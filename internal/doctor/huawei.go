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
	checkBSS          = "huawei BSS (credentials, site, listing permission)"
	checkTMS          = "huawei TMS (credentials, endpoint)"
	checkShowTags     = "IAM tms:resourceTags:list"
	checkListResource = "IAM tms:resources:list"
)

// probeRecords is how many listed records the BSS check looks through for
// one the TMS probes can read the tags of.
const probeRecords = 100

// Huawei checks the credentials with one BSS listing and one TMS
// ListProviders call, then the IAM permission each API the sync uses needs,
// probing TMS with a listed resource. A partner account reads no tags: its
// TMS checks pass, saying so.
func Huawei(ctx context.Context, cfg config.Huawei) []Check {
	ctx, cancel := context.WithTimeout(ctx, 2*checkTimeout)
	defer cancel()
	hw, err := huawei.New(cfg)
	if err != nil {
		return []Check{fail(checkBSS, "fix the Huawei settings as the message says", "%v", err)}
	}
	bssURL, tmsURL, _ := huawei.Endpoints(cfg) // New checked them
	probe, bss := bssCheck(ctx, hw, bssURL)
	if reason := hw.TagsUnsupported(); reason != "" {
		note := "not needed: " + reason
		return []Check{bss, ok(checkTMS, "%s", note), ok(checkShowTags, "%s", note), ok(checkListResource, "%s", note)}
	}
	tms := tmsCheck(ctx, hw, tmsURL)
	checks := []Check{bss, tms}
	if !bss.OK || (!tms.OK && !tms.Warning) {
		return append(
			checks,
			skip(checkShowTags, "needs working BSS and TMS calls"),
			skip(checkListResource, "needs working BSS and TMS calls"),
		)
	}
	return append(checks, tmsPermissions(ctx, hw, probe)...)
}

// listedProbe is what the BSS check found to probe TMS with.
type listedProbe struct {
	resource inventory.Resource // ResourceID "": none with tags to read
	total    int                // the account's records in the window
}

// bssCheck lists up to probeRecords resources; the first with tags to read
// (a TMS type and a project), if any, is what the TMS probes use.
func bssCheck(ctx context.Context, hw *huawei.Client, url string) (listedProbe, Check) {
	const name = checkBSS
	now := time.Now()
	page, err := hw.ListPage(
		ctx,
		huawei.ListQuery{ExpireBegin: now.AddDate(-1, 0, 0), ExpireEnd: now.AddDate(5, 0, 0), Limit: probeRecords},
	)
	if err != nil {
		return listedProbe{}, apiFailure(name, err)
	}
	probe := listedProbe{total: page.TotalCount}
	for _, r := range page.Resources {
		if _, ok := hw.Catalog().Lookup(r.ResourceTypeCode, r.IsMainResource); ok && r.ProjectID != "" {
			probe.resource = r
			break
		}
	}
	if page.TotalCount == 0 {
		return probe, ok(
			name,
			"%s answers; the account has no yearly/monthly resource expiring between a year ago and 5 years from now",
			url,
		)
	}
	return probe, ok(name, "%s lists the account's yearly/monthly resources (%d in total)", url, page.TotalCount)
}

// tmsCheck calls ListProviders. Under role/policy authorization a custom
// policy may refuse it (permissions.go in internal/huawei): the worker then
// reads tags for every type of its catalog, so a 403 is a warning (and it
// proves the credentials were accepted).
func tmsCheck(ctx context.Context, hw *huawei.Client, url string) Check {
	const name = checkTMS
	served, err := hw.Providers(ctx)
	var ae *huawei.APIError
	switch {
	case errors.As(err, &ae) && ae.Kind == huawei.KindForbidden && ae.Code != "APIGW.0302" && ae.Code != "APIG.0302":
		return warn(name, ae.Hint(), "%s", ae.Problem())
	case err != nil:
		return apiFailure(name, err)
	}
	return ok(name, "%s serves %d resource types", url, len(served))
}

// tmsPermissions probes ShowResourceTag and ListResource with a listed
// resource. A tag read also needs the permission of the service owning the
// resource: the probe answers for its type (and enterprise project) only.
func tmsPermissions(ctx context.Context, hw *huawei.Client, probe listedProbe) []Check {
	const show, list = checkShowTags, checkListResource
	r := probe.resource
	switch {
	case r.ResourceID == "" && probe.total == 0:
		note := "nothing to probe: no resource in the window; the first sync that meets one checks it"
		return []Check{ok(show, "%s", note), ok(list, "%s", note)}
	case r.ResourceID == "":
		const todo = "nothing, or run the check again once a taggable resource (ECS, EVS, EIP, ...) is listed"
		why := fmt.Sprintf(
			"not probed: none of the first %d listed resources has tags to read (a TMS type and a project)",
			min(probe.total, probeRecords),
		)
		return []Check{warn(show, todo, "%s", why), warn(list, todo, "%s", why)}
	}
	target := inventory.TagTarget{
		ResourceID:          r.ResourceID,
		ProjectID:           r.ProjectID,
		ResourceTypeCode:    r.ResourceTypeCode,
		EnterpriseProjectID: r.EnterpriseProjectID,
	}
	tmsType, _ := hw.Catalog().Lookup(r.ResourceTypeCode, r.IsMainResource)
	target.TagType = tmsType
	_, err := hw.ResourceTags(ctx, target)
	checks := []Check{permission(show, "ShowResourceTag of a "+tmsType+" resource", err)}
	err = hw.ProbeListResource(ctx, r.ProjectID, tmsType)
	return append(checks, bulkPermission(list, err))
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
		return fail(name, ae.Hint(), "%s", ae.Problem())
	}
	return apiFailure(name, err)
}

// bulkPermission: the sync copes without ListResource (it reads tags one
// by one), so its absence or refusal is a warning.
func bulkPermission(name string, err error) Check {
	const api = "ListResource (bulk tags)"
	var ae *huawei.APIError
	switch {
	case errors.As(err, &ae) && ae.Kind == huawei.KindNoAPI:
		return warn(
			name,
			"nothing: the sync reads tags one by one (slower for large accounts)",
			"%s: this TMS endpoint has no bulk tag API",
			ae.Problem(),
		)
	case errors.As(err, &ae) && ae.Kind == huawei.KindForbidden:
		return warn(name, ae.Hint()+"; until then the sync reads tags one by one", "%s", ae.Problem())
	}
	return permission(name, api, err)
}

func apiFailure(name string, err error) Check {
	var ae *huawei.APIError
	if errors.As(err, &ae) {
		return fail(name, ae.Hint(), "%s", ae.Problem())
	}
	return fail(name, "", "%v", err)
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
