package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"go.temporal.io/sdk/contrib/envconfig"
)

// pemSetting is one PEM input of the TLS settings: a file or the PEM itself,
// from a variable or from the profile.
type pemSetting struct {
	path, data       string // the effective values (variable, else profile)
	envPath, envData string // the variables' values
	env, key         string // TEMPORAL_TLS_X_ and tls.x_ without their path/data suffix
}

// checkTLS reads the CA, the client certificate and its key as the client
// will, so that a missing file or a wrong PEM fails at start, naming its
// setting. A key's content never reaches an error.
func (t Temporal) checkTLS(c envconfig.ClientConfigTLS) error {
	ca := pemSetting{
		c.ServerCACertPath,
		string(c.ServerCACertData),
		t.TLS.ServerCACertPath,
		t.TLS.ServerCACertData,
		"TEMPORAL_TLS_SERVER_CA_CERT_",
		"tls.server_ca_cert_",
	}
	cert := pemSetting{
		c.ClientCertPath,
		string(c.ClientCertData),
		t.TLS.ClientCertPath,
		t.TLS.ClientCertData,
		"TEMPORAL_TLS_CLIENT_CERT_",
		"tls.client_cert_",
	}
	key := pemSetting{
		c.ClientKeyPath,
		string(c.ClientKeyData),
		t.TLS.ClientKeyPath,
		t.TLS.ClientKeyData.Reveal(),
		"TEMPORAL_TLS_CLIENT_KEY_",
		"tls.client_key_",
	}
	caPEM, err := t.readPEM(ca)
	if err != nil {
		return err
	}
	if caPEM != nil && !x509.NewCertPool().AppendCertsFromPEM(caPEM) {
		return fmt.Errorf(
			"%s holds no PEM certificate: give the CA that signed the server's certificate",
			t.pemName(ca),
		)
	}
	certPEM, err := t.readPEM(cert)
	if err != nil {
		return err
	}
	keyPEM, err := t.readPEM(key)
	switch {
	case err != nil:
		return err
	case certPEM == nil && keyPEM == nil:
		return nil
	case certPEM == nil:
		return fmt.Errorf("%s is set but no client certificate: set %sPATH too", t.pemName(key), cert.env)
	case keyPEM == nil:
		return fmt.Errorf("%s is set but no client key: set %sPATH too", t.pemName(cert), key.env)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return fmt.Errorf("%s and %s are not a certificate and its key: %v", t.pemName(cert), t.pemName(key), err)
	}
	return nil
}

// readPEM reads a setting's PEM (nil when unset).
func (t Temporal) readPEM(s pemSetting) ([]byte, error) {
	switch {
	case s.path != "" && s.data != "":
		return nil, fmt.Errorf(
			"%s and %s are both set: give one",
			t.pemName(s),
			t.settingName(s.env+"DATA", s.envData, s.key+"data", ""),
		)
	case s.data != "":
		return []byte(s.data), nil
	case s.path == "":
		return nil, nil
	}
	b, err := os.ReadFile(s.path)
	if err != nil {
		return nil, fmt.Errorf("%s cannot be read: %v", t.pemName(s), errors.Unwrap(err))
	}
	return b, nil
}

// pemName names the setting that gave a PEM (with its path, never its data).
func (t Temporal) pemName(s pemSetting) string {
	if s.path != "" {
		return t.settingName(s.env+"PATH", s.envPath, s.key+"path", s.path)
	}
	return t.settingName(s.env+"DATA", s.envData, s.key+"data", "")
}

// settingName is the variable when it is set, else the profile's key; shown
// is the value to quote ("" for none).
func (t Temporal) settingName(variable, envValue, key, shown string) string {
	if envValue != "" {
		if shown != "" {
			return variable + "=" + shown
		}
		return variable
	}
	if shown != "" {
		key += fmt.Sprintf(" %q", shown)
	}
	file, profile := t.profileSource()
	return fmt.Sprintf("%s of profile %s in %s", key, profile, file)
}
