package huawei

import (
	"regexp"
	"strings"

	"expiry-sync/internal/contract"
)

// Huawei's permission model, as its pages document it. An IAM user is
// authorized one of two ways, and the action names differ between them:
//
//   - identity policies (the newer scheme): each API page's "授权信息"
//     section names the action;
//   - roles and policies (the older scheme): the service's "权限和授权项"
//     table does.
//
// Sources:
//   - BSS ListPayPerUseCustomerResources: billing:subscription:view under
//     identity policies (https://support.huaweicloud.com/api-oce/api_order_00021.html,
//     "授权信息"); bss:order:view under role/policy authorization (the
//     customer-API permission table,
//     https://support.huaweicloud.com/intl/zh-cn/api-oce/jac_00004.html, and
//     jac_000053 per the team reference huawei-api.md). A partner listing a
//     customer's resources is authorized in the Partner Center instead
//     (BPC_ITEM_SUBCUSTSERV_010105, the Partner Center page of the same API,
//     https://support.huaweicloud.com/api-bpconsole/api_order_00021.html).
//   - TMS ShowResourceTag and ListTags: tms:resourceTags:list; ListResource:
//     tms:resources:list (https://support.huaweicloud.com/api-tms/ShowResourceTag.html,
//     .../ListResource.html, .../ListTags.html, "授权信息").
//   - Tag reads also need the permission of the service owning the resource:
//     "To use resource tags, you must have the corresponding permissions on
//     the cloud service ... to view ECS resources and tags ... not only
//     tms:resourceTags:list permissions, but ecs:servers:getTags and
//     ecs:servers:get permissions are required" (TMS User Permissions,
//     https://support.huaweicloud.com/intl/en-us/productdesc-tms/en-us_topic_0084940673.html).
//     ECS's own tag read "supports checking fine-grained permissions for
//     enterprise projects" (ecs:cloudServers:showServerTags,
//     https://support.huaweicloud.com/intl/en-us/api-ecs/ecs_02_1008.html).
//     So a 403 for one resource type, or one enterprise project, says
//     nothing of the others.
//   - TMS ListProviders: "如果使用身份策略授权,当前API调用无需身份策略权限"
//     (https://support.huaweicloud.com/api-tms/ListProviders.html); under
//     role/policy authorization it takes a TMS role (part of Tenant Guest,
//     per the team reference), which a least-privilege custom policy may
//     lack.

// iamActions is the action each API needs under identity policies (the
// one a refusal names when Huawei's message names none).
var iamActions = map[string]string{
	apiShowTags:     "tms:resourceTags:list",
	apiListResource: "tms:resources:list",
	apiListTags:     "tms:resourceTags:list",
	apiList:         "billing:subscription:view",
}

// Actions of the BSS listing under each scheme, for hints; a partner
// listing a customer's resources is authorized in the Partner Center
// (https://support.huaweicloud.com/api-bpconsole/api_order_00021.html).
const (
	bssIdentityAction = "billing:subscription:view"
	bssRoleAction     = "bss:order:view"
	partnerPermission = "BPC_ITEM_SUBCUSTSERV_010105 (Sales > Customers > Customer list > View customer resources)"
)

// ownerTagActions names, per TMS type, the owning service's permission a
// tag read needs besides TMS's, where Huawei's pages name it (see above).
var ownerTagActions = map[string]string{
	"ecs": "ecs:cloudServers:showServerTags (identity policies) or ecs:servers:getTags (roles and policies)",
}

// actionInMessage finds a permission ("service:resource:action") that
// Huawei's refusal names, as BSS does ("correct permission code is
// billing:order:view"); "" when it names none.
var actionInMessage = regexp.MustCompile(`\b[a-z][a-z0-9-]*:[a-zA-Z][a-zA-Z0-9]*:[a-zA-Z*][a-zA-Z0-9*]*\b`)

func namedAction(msg string) string { return actionInMessage.FindString(msg) }

// enterpriseProjectIn reports whether a refusal's message says it concerns
// an enterprise project (ECS authorizes tag reads per enterprise project).
func enterpriseProjectIn(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "enterprise project") || strings.Contains(m, "enterprise_project")
}

// TagScope is the key of what a TMS refusal covers: a TMS resource type,
// or a type in one enterprise project ("ecs@<enterprise project id>").
// AllTags ("*") covers every type: a refusal that is no missing
// permission of one type (an IP/ACL block).
func TagScope(tmsType, enterpriseProject string) string {
	if enterpriseProject == "" {
		return tmsType
	}
	return tmsType + "@" + enterpriseProject
}

// AllTags is the scope of a TMS refusal that concerns every resource type.
const AllTags = contract.EveryTagScope

// permissionHint is what to do about a refusal that is a missing
// permission, naming the action under both authorization schemes.
func (e *APIError) permissionHint() string {
	named := ""
	if e.IAMAction != "" && e.IAMAction != iamActions[e.API] {
		named = " (Huawei's answer names " + e.IAMAction + ")"
	}
	switch e.API {
	case apiList:
		return "the IAM user of HUAWEI_ACCESS_KEY may not list yearly/monthly resources" + named + ": grant it " +
			bssIdentityAction + " (identity policies) or " + bssRoleAction + " (roles and policies); " +
			"a partner account listing a customer needs instead the Partner Center permission " + partnerPermission
	case apiShowTags:
		return e.tagReadHint(named)
	case apiListProviders:
		return "TMS ListProviders was refused: it needs no permission under identity policies, " +
			"but under roles and policies it takes a TMS role (Tenant Guest has it), which a custom policy may lack; " +
			"the worker tolerates this and reads tags for every type of its catalog " +
			"(grant the role to stop this warning)"
	}
	return "the IAM user of HUAWEI_ACCESS_KEY lacks " + e.IAMAction +
		" (the same action under identity policies and roles and policies): grant it"
}

// tagReadHint: a tag read needs TMS's action and the owning service's.
func (e *APIError) tagReadHint(named string) string {
	what := "tags"
	if e.Scope != "" && e.Scope != AllTags {
		what = "tags of TMS type " + e.Scope
	}
	owner := "the permission of the service owning the resources to read their tags"
	tmsType, _, _ := strings.Cut(e.Scope, "@")
	if a := ownerTagActions[tmsType]; a != "" {
		owner = a
	}
	return "the IAM user of HUAWEI_ACCESS_KEY may not read the " + what + named +
		": grant it tms:resourceTags:list and " + owner +
		" (in every enterprise project it reads); the sync keeps the stored tags meanwhile"
}
