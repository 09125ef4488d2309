package huawei

// knownCodes are the error codes of the APIs this package calls that it
// handles or names; docs/simulator.md gives the Huawei page for each. A
// code is free text from the answer's body: a gateway or a proxy in the
// way could send any, and each would be a new time series.
var knownCodes = map[string]bool{
	// API gateway.
	"APIGW.0101": true, "APIGW.0102": true, "APIGW.0201": true, "APIGW.0301": true,
	codeIPBlocked: true, "APIGW.0303": true, "APIGW.0308": true,
	// BSS (CBC).
	"CBC.0100": true, codeWrongSite: true, "CBC.0151": true, codeWrongSiteOther: true,
	"CBC.0250": true, "CBC.0999": true, CodeIPThrottled: true,
	// TMS.
	"TMS.0001": true, "TMS.0002": true, "TMS.0004": true, "TMS.0005": true, "TMS.0006": true,
	"TMS.0007": true, "TMS.0009": true, "TMS.0012": true, "TMS.0016": true, "TMS.0017": true,
	"TMS.2011": true, "TMS.2030": true, "TMS.5027": true,
}

// CodeLabel is an error code as a metric label: a known code (the dedicated
// gateway's "APIG." read as "APIGW."), else "other".
func CodeLabel(code string) string {
	if c := gatewayCode(code); knownCodes[c] {
		return c
	}
	return "other"
}
