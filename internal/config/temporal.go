package config

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/caarlos0/env/v11"
	"go.temporal.io/sdk/contrib/envconfig"
)

// The connection's defaults when neither a variable nor a profile sets it.
const (
	DefaultTemporalAddress   = "127.0.0.1:7233"
	DefaultTemporalNamespace = "default"
)

// Temporal is how both binaries reach the Temporal service. The connection
// settings are the official CLI's (go.temporal.io/sdk/contrib/envconfig): a
// profile of its temporal.toml, each field overridden by its TEMPORAL_*
// variable when that is set (an empty variable counts as unset).
type Temporal struct {
	// Address and Namespace are, once loaded, the effective values: the
	// variable's, else the profile's, else the defaults.
	Address   string `env:"TEMPORAL_ADDRESS"`
	Namespace string `env:"TEMPORAL_NAMESPACE"`
	TaskQueue string `env:"TEMPORAL_TASK_QUEUE" envDefault:"expiry-sync"`
	UIURL     string `env:"TEMPORAL_UI_URL" envDefault:"http://localhost:8233"`
	// PayloadKey (base64 of 32 bytes) turns on AES-256-GCM encryption of
	// every payload; the worker, the starter and the codec server share it.
	PayloadKey     Secret `env:"EXPIRY_SYNC_PAYLOAD_KEY"`
	PayloadKeyFile string `env:"EXPIRY_SYNC_PAYLOAD_KEY_FILE"`
	// ConfigFile is the CLI's temporal.toml (default: its own path, read
	// when it exists); Profile the profile in it (default "default").
	ConfigFile string `env:"TEMPORAL_CONFIG_FILE"`
	Profile    string `env:"TEMPORAL_PROFILE"`
	// APIKey is sent as "Authorization: Bearer"; it turns TLS on unless
	// TEMPORAL_TLS=false. Without it, the key of APIKeyFile is sent, read
	// again every APIKeyFileTTL (APIKeyProvider), so that it can rotate.
	APIKey     Secret `env:"TEMPORAL_API_KEY"`
	APIKeyFile string `env:"TEMPORAL_API_KEY_FILE"`
	// Authority is the :authority of every gRPC request (the TLS server
	// name too, unless TEMPORAL_TLS_SERVER_NAME says otherwise), for a
	// proxy that routes on it.
	Authority string `env:"TEMPORAL_CLIENT_AUTHORITY"`
	// GRPCMeta are the TEMPORAL_GRPC_META_<NAME> variables, by <NAME>: gRPC
	// headers sent with every request (envconfig lowercases the name and
	// turns its underscores into hyphens). They may hold credentials.
	GRPCMeta map[string]Secret
	TLS      TemporalTLS

	// apiKeyFile caches APIKeyFile's key (set by load).
	apiKeyFile *keyFile
}

// grpcMetaPrefix starts the variables of GRPCMeta.
const grpcMetaPrefix = "TEMPORAL_GRPC_META_"

// TemporalTLS is the CLI's TLS settings. Any of them turns TLS on; each
// *_DATA variable holds the PEM itself instead of its *_PATH file.
type TemporalTLS struct {
	Enabled                 string `env:"TEMPORAL_TLS"` // true|false|1|0; empty: the profile's
	ServerCACertPath        string `env:"TEMPORAL_TLS_SERVER_CA_CERT_PATH"`
	ServerCACertData        string `env:"TEMPORAL_TLS_SERVER_CA_CERT_DATA"`
	ClientCertPath          string `env:"TEMPORAL_TLS_CLIENT_CERT_PATH"`
	ClientCertData          string `env:"TEMPORAL_TLS_CLIENT_CERT_DATA"`
	ClientKeyPath           string `env:"TEMPORAL_TLS_CLIENT_KEY_PATH"`
	ClientKeyData           Secret `env:"TEMPORAL_TLS_CLIENT_KEY_DATA"`
	ServerName              string `env:"TEMPORAL_TLS_SERVER_NAME"`
	DisableHostVerification string `env:"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION"`
}

// LoadTemporal reads the Temporal settings alone (for the codec server).
func LoadTemporal() (Temporal, error) {
	var c Temporal
	if err := env.Parse(&c); err != nil {
		return c, fmt.Errorf("configuration: %w", err)
	}
	if err := c.load(); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// load reads the keys from their files and settles Address and Namespace. A
// profile that cannot be read is left to Validate, so that the commands
// that do not reach Temporal (report) still run.
func (t *Temporal) load() error {
	if err := readKeyFile("EXPIRY_SYNC_PAYLOAD_KEY_FILE", t.PayloadKeyFile, &t.PayloadKey); err != nil {
		return err
	}
	if t.APIKey == "" && t.APIKeyFile != "" {
		t.apiKeyFile = newKeyFile("TEMPORAL_API_KEY_FILE", t.APIKeyFile)
		if _, err := t.apiKeyFile.Key(context.Background()); err != nil {
			return err
		}
	}
	for _, pair := range os.Environ() {
		name, value, _ := strings.Cut(pair, "=")
		if meta, ok := strings.CutPrefix(name, grpcMetaPrefix); ok && meta != "" {
			if t.GRPCMeta == nil {
				t.GRPCMeta = map[string]Secret{}
			}
			t.GRPCMeta[meta] = Secret(value)
		}
	}
	p, _ := t.ClientProfile()
	t.Address = cmp.Or(t.Address, p.Address, DefaultTemporalAddress)
	t.Namespace = cmp.Or(t.Namespace, p.Namespace, DefaultTemporalNamespace)
	return nil
}

// Validate checks the Temporal settings, the profile and the TLS files, naming
// the setting at fault.
func (t Temporal) Validate() error {
	switch {
	case strings.TrimSpace(t.Address) == "":
		return errors.New("TEMPORAL_ADDRESS is empty: set host:port of the Temporal frontend, e.g. 127.0.0.1:7233")
	case strings.TrimSpace(t.Namespace) == "":
		return errors.New("TEMPORAL_NAMESPACE is empty: set a namespace, e.g. default")
	case strings.TrimSpace(t.TaskQueue) == "":
		return errors.New("TEMPORAL_TASK_QUEUE is empty: set a task queue name, e.g. expiry-sync")
	}
	for name, value := range map[string]string{
		"TEMPORAL_TLS":                           t.TLS.Enabled,
		"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION": t.TLS.DisableHostVerification,
	} {
		if value != "" && !slices.Contains([]string{"true", "false", "1", "0"}, strings.ToLower(value)) {
			return fmt.Errorf("%s=%q is not a boolean: allowed true, false, 1 or 0", name, value)
		}
	}
	p, err := t.ClientProfile()
	if err != nil || p.TLS == nil || p.TLS.Disabled {
		return err
	}
	return t.checkTLS(*p.TLS)
}

// ClientProfile is the connection the official CLI would make, loaded by
// envconfig.LoadClientConfigProfile: the profile TEMPORAL_PROFILE of the
// temporal.toml TEMPORAL_CONFIG_FILE, overridden by the variables that are
// set. The variables reach the loader from the fields (Temporal.variables),
// so a field set in code counts as its variable. It holds the secrets in
// clear: hand it to the client, never to a log.
func (t Temporal) ClientProfile() (envconfig.ClientConfigProfile, error) {
	file, _ := t.profileSource()
	if t.ConfigFile != "" {
		// envconfig skips a file that does not exist; one named must.
		if _, err := os.Stat(file); err != nil {
			return envconfig.ClientConfigProfile{}, fmt.Errorf(
				"TEMPORAL_CONFIG_FILE=%s cannot be read: %v",
				file,
				errors.Unwrap(err),
			)
		}
	}
	vars, err := t.variables()
	if err != nil {
		return envconfig.ClientConfigProfile{}, err
	}
	p, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{EnvLookup: vars})
	if err != nil {
		return p, t.profileError(err)
	}
	return p, nil
}

// profileSource is the temporal.toml and the profile to read.
func (t Temporal) profileSource() (file, profile string) {
	return cmp.Or(t.ConfigFile, envconfig.DefaultConfigFilePath()),
		cmp.Or(t.Profile, envconfig.DefaultConfigFileProfile)
}

// profileError says why the loader failed, naming the file and the setting.
// A syntax error is reported by line and key only: the file may hold an API
// key.
func (t Temporal) profileError(err error) error {
	file, _ := t.profileSource()
	name := "TEMPORAL_CONFIG_FILE=" + file
	if t.ConfigFile == "" {
		name = file + " (the Temporal CLI's configuration)"
	}
	var pathErr *fs.PathError
	var syntax toml.ParseError
	switch {
	case errors.As(err, &pathErr):
		return fmt.Errorf("%s cannot be read: %v", name, pathErr.Err)
	case errors.As(err, &syntax):
		return fmt.Errorf("%s is not valid TOML: line %d (after key %q)", name, syntax.Position.Line, syntax.LastKey)
	}
	if t.Profile != "" {
		conf, confErr := envconfig.LoadClientConfig(
			envconfig.LoadClientConfigOptions{ConfigFilePath: file, EnvLookup: envLookup{}},
		)
		switch {
		case confErr == nil && len(conf.Profiles) == 0:
			return fmt.Errorf(
				"TEMPORAL_PROFILE=%s but %s holds no profile: "+
					"set TEMPORAL_CONFIG_FILE to the temporal.toml that has it",
				t.Profile,
				cmp.Or(file, "the default temporal.toml"),
			)
		case confErr == nil && conf.Profiles[t.Profile] == nil:
			return fmt.Errorf(
				"TEMPORAL_PROFILE=%s is not a profile of %s: allowed %s",
				t.Profile,
				file,
				strings.Join(slices.Sorted(maps.Keys(conf.Profiles)), ", "),
			)
		}
	}
	return fmt.Errorf("%s is not a temporal.toml (see docs/temporal-clusters.md)", name)
}

// APIKeyProvider reads TEMPORAL_API_KEY_FILE's key, again once
// APIKeyFileTTL has passed (for client.NewAPIKeyDynamicCredentials); nil
// when the key is not read from that file (TEMPORAL_API_KEY is set, or no
// file is).
func (t Temporal) APIKeyProvider() func(context.Context) (string, error) {
	if k := t.keyFile(); k != nil {
		return k.Key
	}
	return nil
}

// keyFile is the cache of APIKeyFile's key when it is the key sent (one made
// now for a Temporal that load did not fill).
func (t Temporal) keyFile() *keyFile {
	switch {
	case t.APIKey != "" || t.APIKeyFile == "":
		return nil
	case t.apiKeyFile != nil:
		return t.apiKeyFile
	}
	return newKeyFile("TEMPORAL_API_KEY_FILE", t.APIKeyFile)
}

// APIKeys are the API keys this connection sends or has sent:
// TEMPORAL_API_KEY's, else the file's current key and the one it replaced. A
// profile's api_key is ClientProfile's. For scrubbing: never log them.
func (t Temporal) APIKeys() []string {
	keys := []string{t.APIKey.Reveal()}
	if k := t.keyFile(); k != nil {
		keys = append(keys, k.keys()...)
	}
	return slices.DeleteFunc(keys, func(k string) bool { return k == "" })
}

// variables is the environment as envconfig reads it, from the fields (so
// that every setting goes through this package). The API key is
// TEMPORAL_API_KEY's, else the file's current one.
func (t Temporal) variables() (envLookup, error) {
	key := t.APIKey.Reveal()
	if k := t.keyFile(); k != nil {
		var err error
		if key, err = k.Key(context.Background()); err != nil {
			return nil, err
		}
	}
	vars := envLookup{}
	for name, value := range map[string]string{
		"TEMPORAL_CONFIG_FILE":                   t.ConfigFile,
		"TEMPORAL_PROFILE":                       t.Profile,
		"TEMPORAL_ADDRESS":                       t.Address,
		"TEMPORAL_NAMESPACE":                     t.Namespace,
		"TEMPORAL_API_KEY":                       key,
		"TEMPORAL_CLIENT_AUTHORITY":              t.Authority,
		"TEMPORAL_TLS":                           t.TLS.Enabled,
		"TEMPORAL_TLS_SERVER_NAME":               t.TLS.ServerName,
		"TEMPORAL_TLS_SERVER_CA_CERT_PATH":       t.TLS.ServerCACertPath,
		"TEMPORAL_TLS_SERVER_CA_CERT_DATA":       t.TLS.ServerCACertData,
		"TEMPORAL_TLS_CLIENT_CERT_PATH":          t.TLS.ClientCertPath,
		"TEMPORAL_TLS_CLIENT_CERT_DATA":          t.TLS.ClientCertData,
		"TEMPORAL_TLS_CLIENT_KEY_PATH":           t.TLS.ClientKeyPath,
		"TEMPORAL_TLS_CLIENT_KEY_DATA":           t.TLS.ClientKeyData.Reveal(),
		"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION": t.TLS.DisableHostVerification,
	} {
		if value != "" {
			vars[name] = value
		}
	}
	for name, value := range t.GRPCMeta {
		if value != "" {
			vars[grpcMetaPrefix+name] = value.Reveal()
		}
	}
	return vars, nil
}

// envLookup is envconfig.EnvLookup over a map.
type envLookup map[string]string

func (e envLookup) Environ() []string {
	pairs := make([]string, 0, len(e))
	for k, v := range e {
		pairs = append(pairs, k+"="+v)
	}
	return pairs
}

func (e envLookup) LookupEnv(name string) (string, bool) {
	v, ok := e[name]
	return v, ok
}
