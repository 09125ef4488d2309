package config

import (
	"fmt"

	"github.com/caarlos0/env/v11"
)

// Starter is the starter's configuration. Temporal is checked only by the
// commands that reach Temporal (Temporal.Validate): `report` needs none of it.
type Starter struct {
	Temporal Temporal
	// Account (HUAWEI_DOMAIN_ID) is the default account (domain id) of the
	// notify commands. Syncs are named after account names (--account).
	Account string `env:"HUAWEI_DOMAIN_ID"`
	// DatabaseURL is the inventory `report` reads, as the worker's DATABASE_URL.
	DatabaseURL Secret `env:"DATABASE_URL"`
	// NotifyFile is the routes file of the renewal reminders
	// (`starter notify preview`; see docs/notify.md).
	NotifyFile string `env:"EXPIRY_SYNC_NOTIFY_FILE"`
}

// LoadStarter reads the starter's configuration.
func LoadStarter() (Starter, error) {
	var c Starter
	if err := env.Parse(&c); err != nil {
		return c, fmt.Errorf("configuration: %w", err)
	}
	return c, c.Temporal.load()
}
