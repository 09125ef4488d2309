package huawei

import (
	"cmp"
	"fmt"
	"strings"

	bssregion "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/bss/v2/region"
	bssintlregion "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/bssintl/v2/region"
	tmsregion "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/tms/v1/region"

	"expiry-sync/internal/config"
)

// Sites are the Huawei Cloud sites (HUAWEI_SITE). An account belongs to one
// site; BSS refuses the other sites' accounts with 403 CBC.0150 or CBC.0156.
const (
	SiteChina = "cn"
	SiteIntl  = "intl"
	SiteEU    = "eu"
)

// siteRegions picks each site's endpoints from the SDK's own region tables,
// so that they follow the SDK: services/bss/v2/region (China: cn-north-1),
// services/bssintl/v2/region (international: ap-southeast-1, Europe:
// eu-west-101) and services/tms/v1/region (cn-north-4, ap-southeast-1,
// eu-west-101). International and European accounts keep using the bss/v2
// client: bssintl's ListPayPerUseCustomerResources has the same path and the
// same request and response JSON (compare the json tags of
// model_query_resources_req.go and model_order_instance_v2.go in both
// packages), and WithEndpoints skips the region look-up that differs.
var siteRegions = map[string]struct{ bss, tms []string }{
	SiteChina: {bssregion.CN_NORTH_1.Endpoints, tmsregion.CN_NORTH_4.Endpoints},
	SiteIntl:  {bssintlregion.AP_SOUTHEAST_1.Endpoints, tmsregion.AP_SOUTHEAST_1.Endpoints},
	SiteEU:    {bssintlregion.EU_WEST_101.Endpoints, tmsregion.EU_WEST_101.Endpoints},
}

// SiteEndpoints returns the BSS and TMS endpoints of a site: cn (the
// default when site is empty), intl or eu.
func SiteEndpoints(site string) (bss, tms string, err error) {
	r, ok := siteRegions[strings.ToLower(strings.TrimSpace(cmp.Or(site, SiteChina)))]
	if !ok {
		return "", "", fmt.Errorf(
			"HUAWEI_SITE=%q is not a Huawei Cloud site: allowed cn (China), intl (international) or eu (Europe)",
			site,
		)
	}
	return r.bss[0], r.tms[0], nil
}

// Endpoints resolves the configuration's endpoints: an explicit
// HUAWEI_BSS_ENDPOINT or HUAWEI_TMS_ENDPOINT wins over the site's preset.
func Endpoints(cfg config.Huawei) (bss, tms string, err error) {
	bss, tms, err = SiteEndpoints(cfg.Site)
	if err != nil {
		return "", "", err
	}
	return cmp.Or(cfg.BSSEndpoint, bss), cmp.Or(cfg.TMSEndpoint, tms), nil
}
