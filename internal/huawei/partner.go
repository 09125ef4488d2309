package huawei

import "expiry-sync/internal/catalog"

// A partner (reseller) account lists a customer's yearly/monthly resources
// with its own keys: BSS ListPayPerUseCustomerResources takes customer_id
// (the SDK's QueryResourcesReq.CustomerId: "required when a partner
// queries a sub-customer's yearly/monthly resources"). TMS has no such
// parameter: its APIs read the caller's own projects only, so a customer's
// tags need the customer's own keys. docs/accounts.md gives the sources.

// noTagTypes is the catalog of a partner's customer: no type has tags the
// partner can read, so every resource is stored with tag status
// unsupported and TMS is never called.
var noTagTypes, _ = catalog.Default().Restrict(nil)

// PartnerNoTags says why a partner's customer has no tags.
const PartnerNoTags = "listed through a partner account: " +
	"TMS reads only the caller's own resources, so tags need the customer's own keys (an account of its own)"

// CustomerID is the customer a partner account lists, "" for an account
// that lists itself.
func (c *Client) CustomerID() string { return c.customerID }

// TagsUnsupported says why the client reads no tag at all ("" when it
// reads them): the reason to store with the rows.
func (c *Client) TagsUnsupported() string {
	if c.customerID != "" {
		return PartnerNoTags
	}
	return ""
}
