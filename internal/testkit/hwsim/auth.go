package hwsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Signing constants of the SDK's default signer (core/auth/signer).
const (
	signAlgorithm   = "SDK-HMAC-SHA256"
	sdkDateFormat   = "20060102T150405Z"
	headerSdkDate   = "X-Sdk-Date"
	headerDomainID  = "X-Domain-Id"
	headerContentSH = "X-Sdk-Content-Sha256"
	maxClockSkew    = 15 * time.Minute
)

func authFailed(msg string) *apiError {
	return gwError(http.StatusUnauthorized, codeAuth, "Incorrect IAM authentication information: "+msg)
}

// authenticate checks the AK/SK signature the way the API gateway does:
// rebuild the canonical request from what arrived and compare HMACs. The
// checks run from the cheapest to the most specific, so that each failure
// gets the code a real gateway gives it.
func (s *Simulator) authenticate(r *http.Request, body []byte, now time.Time, svc service) *apiError {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return authFailed("Authorization header is missing")
	}
	ak, signed, sig, ok := parseAuthorization(auth)
	if !ok {
		return authFailed("Authorization header is malformed or does not use " + signAlgorithm)
	}
	if ak != s.accessKey {
		return authFailed("access key not found")
	}
	date := r.Header.Get(headerSdkDate)
	t, err := time.Parse(sdkDateFormat, date)
	if err != nil {
		return authFailed("X-Sdk-Date is missing or not in format " + sdkDateFormat)
	}
	if d := now.Sub(t); d > maxClockSkew || d < -maxClockSkew {
		return authFailed("signature expired, X-Sdk-Date is more than 15 minutes away from server time")
	}
	if !slices.Contains(signed, "x-sdk-date") {
		return authFailed("x-sdk-date must be a signed header")
	}
	want, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(want, s.signature(r, body, signed, date)) {
		return authFailed("verify aksk signature fail")
	}
	switch domain := r.Header.Get(headerDomainID); {
	case domain == "":
		return authFailed("X-Domain-Id header is missing")
	case domain != s.domainID:
		return forbiddenDomain(svc)
	}
	return nil
}

// parseAuthorization splits
// "SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<a;b>, Signature=<hex>".
func parseAuthorization(h string) (ak string, signed []string, sig string, ok bool) {
	rest, found := strings.CutPrefix(h, signAlgorithm+" ")
	if !found {
		return "", nil, "", false
	}
	var signedList string
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Access":
			ak = v
		case "SignedHeaders":
			signedList = v
		case "Signature":
			sig = v
		}
	}
	if ak == "" || signedList == "" || sig == "" {
		return "", nil, "", false
	}
	return ak, strings.Split(signedList, ";"), sig, true
}

// signature computes HMAC-SHA256(SK, string to sign) for the request.
func (s *Simulator) signature(r *http.Request, body []byte, signed []string, date string) []byte {
	crHash := sha256.Sum256([]byte(canonicalRequest(r, body, signed)))
	mac := hmac.New(sha256.New, s.secretKey)
	mac.Write([]byte(signAlgorithm + "\n" + date + "\n"))
	mac.Write([]byte(hex.EncodeToString(crHash[:])))
	return mac.Sum(nil)
}

// canonicalRequest mirrors signer.canonicalRequest: method, URI, query,
// signed headers (one "name:value" line each, then an empty line), the
// signed header list and the payload hash, joined by newlines.
func canonicalRequest(r *http.Request, body []byte, signed []string) string {
	var b strings.Builder
	b.Grow(512)
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r.URL.Path))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.RawQuery))
	b.WriteByte('\n')
	for _, name := range signed {
		values := r.Header.Values(name)
		if name == "host" {
			values = []string{r.Host}
		}
		if len(values) > 1 {
			values = slices.Sorted(slices.Values(values))
		}
		for _, v := range values {
			b.WriteString(name)
			b.WriteByte(':')
			b.WriteString(strings.TrimSpace(v))
			b.WriteByte('\n')
		}
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	if h := r.Header.Get(headerContentSH); h != "" {
		b.WriteString(h)
	} else {
		sum := sha256.Sum256(body)
		b.WriteString(hex.EncodeToString(sum[:]))
	}
	return b.String()
}

// canonicalURI escapes each segment of the decoded path and always ends
// with '/'. The SDK signs its path before Go percent-encodes it, so the
// decoded path is what it signed.
func canonicalURI(path string) string {
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		segs[i] = signEscape(seg)
	}
	u := strings.Join(segs, "/")
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

// canonicalQuery sorts keys, then each key's values, on their decoded form
// (as the SDK does before escaping), and joins escaped key=value pairs.
func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return "\x00invalid" // cannot match any signature
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(q)) {
		vals := slices.Clone(q[k])
		slices.Sort(vals)
		for _, v := range vals {
			parts = append(parts, signEscape(k)+"="+signEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

// signEscape percent-encodes every byte outside A-Za-z0-9-_.~ in upper-case
// hex, like the SDK's escape.
func signEscape(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if shouldEscape(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hexUpper = "0123456789ABCDEF"
	t := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if shouldEscape(c) {
			t = append(t, '%', hexUpper[c>>4], hexUpper[c&15])
		} else {
			t = append(t, c)
		}
	}
	return string(t)
}

func shouldEscape(c byte) bool {
	switch {
	case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return false
	case c == '-', c == '_', c == '.', c == '~':
		return false
	}
	return true
}
