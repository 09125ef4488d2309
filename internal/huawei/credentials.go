package huawei

import (
	"fmt"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/global"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/provider"

	"expiry-sync/internal/config"
)

// credentials builds the signing credentials of the account's caller: its
// keys (with the security token of temporary keys), or whatever the SDK's
// provider chain finds (HUAWEICLOUD_SDK_* variables, the profile file, the
// ECS/CCE agency metadata, which the SDK refreshes before they expire).
// The domain id is always set, so the SDK never asks IAM for it.
func credentials(cfg config.Huawei) (auth.ICredential, error) {
	domain := cfg.CallerDomainID()
	if cfg.Credentials != config.CredentialsChain {
		b := global.NewCredentialsBuilder().
			WithAk(cfg.AccessKey.Reveal()).
			WithSk(cfg.SecretKey.Reveal()).
			WithDomainId(domain)
		if cfg.SecurityToken != "" {
			b = b.WithSecurityToken(cfg.SecurityToken.Reveal())
		}
		return b.SafeBuild()
	}
	found, err := provider.GlobalCredentialProviderChain().GetCredentials()
	if err != nil {
		return nil, fmt.Errorf(
			"credentials chain of account %s found no credentials (HUAWEICLOUD_SDK_AK/SK variables, "+
				"profile file, ECS/CCE metadata): %v",
			domain,
			err,
		)
	}
	cred, ok := found.(*auth.GlobalCredentials)
	if !ok {
		return nil, fmt.Errorf("credentials chain of account %s found %T, not global credentials", domain, found)
	}
	if cred.DomainId != "" && cred.DomainId != domain {
		return nil, fmt.Errorf(
			"credentials chain found the keys of account %s, but the account to sign for is %s: "+
				"set HUAWEICLOUD_SDK_DOMAIN_ID (or the profile's domain_id) to it, or leave it unset",
			cred.DomainId,
			domain,
		)
	}
	cred.DomainId = domain
	return cred, nil
}
