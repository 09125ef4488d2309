package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"expiry-sync/internal/contract"
)

// Channel is one destination of the routes file. URLs of chat robots carry
// their token, so they are references too; only their scheme and host are
// ever printed.
type Channel struct {
	Name string `yaml:"-"`
	Type string `yaml:"type"`
	// URL: the webhook address, literal or a reference (env:NAME, file:PATH).
	URL Ref `yaml:"url"`
	// Secret signs requests (webhook, dingtalk, feishu); a reference only.
	Secret Ref `yaml:"secret"`
	// Timeout of one request (default 15s).
	Timeout time.Duration `yaml:"timeout"`
	// RateLimitWait: how long to wait after the platform says "too many"
	// without saying for how long (default: the block the platform
	// documents, see Pace).
	RateLimitWait time.Duration `yaml:"rate_limit_wait"`
	// MaxItems: the most resources one chat message lists (default 50); a
	// digest with more is sent as several messages. Webhooks and e-mail
	// take a digest whole.
	MaxItems int `yaml:"max_items"`
	// E-mail.
	SMTP *SMTP `yaml:"smtp"`
	// cfg is the routes file the channel was read from: a digest is written
	// in its route's time zone and mentions the file's people (localize).
	cfg *Config
}

// SMTP is how an e-mail channel reaches its relay.
type SMTP struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// TLS: starttls (default, port 587), tls (implicit, port 465) or none
	// (a local relay only, without credentials).
	TLS string `yaml:"tls"`
	// Auth: the SASL mechanism, auto (default: the strongest the relay
	// offers that the credentials allow: xoauth2 with a token, else plain,
	// else login), plain, login or xoauth2.
	Auth     string `yaml:"auth"`
	Username string `yaml:"username"`
	// Password (plain, login) and OAuth2Token (xoauth2, an access token):
	// references, or a command printing the value (see Credential).
	Password    Credential `yaml:"password"`
	OAuth2Token Credential `yaml:"oauth2_token"`
	From        string     `yaml:"from"`
	To          []string   `yaml:"to"`
	// CAFile: PEM certificates to trust instead of the system's.
	CAFile string `yaml:"ca_file"`
}

// Ref is a value given directly or by reference: "env:NAME" reads the
// variable NAME, "file:PATH" the file PATH (trimmed), when a send needs it.
type Ref string

// IsRef reports whether the value is a reference.
func (r Ref) IsRef() bool {
	return strings.HasPrefix(string(r), "env:") || strings.HasPrefix(string(r), "file:")
}

// Resolve reads the value. Errors name the reference, never the value.
func (r Ref) Resolve() (string, error) {
	s := string(r)
	switch {
	case strings.HasPrefix(s, "env:"):
		v := strings.TrimSpace(os.Getenv(s[4:]))
		if v == "" {
			return "", fmt.Errorf("%s: the variable is not set", s)
		}
		return v, nil
	case strings.HasPrefix(s, "file:"):
		b, err := os.ReadFile(s[5:])
		if err != nil {
			return "", fmt.Errorf("%s cannot be read: %v", s, errors.Unwrap(err))
		}
		return strings.TrimSpace(string(b)), nil
	}
	return s, nil
}

// String never shows a literal value.
func (r Ref) String() string {
	if r.IsRef() {
		return string(r)
	}
	return "[redacted]"
}

func (ch *Channel) check() error {
	typ, ok := channelTypeOf(ch.Type)
	if !ok {
		return fmt.Errorf("type %q is not allowed: use one of %s", ch.Type, strings.Join(ChannelTypes, ", "))
	}
	if ch.Secret != "" && !ch.Secret.IsRef() {
		return errors.New("secret must be a reference (env:NAME or file:PATH), never the secret itself")
	}
	if ch.Timeout == 0 {
		ch.Timeout = 15 * time.Second
	}
	if ch.RateLimitWait == 0 {
		ch.RateLimitWait = max(ch.Pace().Block, time.Minute)
	}
	if ch.MaxItems == 0 {
		ch.MaxItems = 50
	}
	if ch.Timeout < time.Second || ch.Timeout > 5*time.Minute {
		return fmt.Errorf("timeout %s is out of range: allowed 1s..5m", ch.Timeout)
	}
	if ch.MaxItems < 1 || ch.MaxItems > 500 {
		return fmt.Errorf("max_items %d is out of range: allowed 1..500", ch.MaxItems)
	}
	if typ.check != nil {
		return typ.check(ch)
	}
	if ch.SMTP != nil {
		return fmt.Errorf("smtp is only for type %s", TypeEmail)
	}
	if ch.URL == "" {
		return errors.New("url is not set: give the webhook address, or env:NAME / file:PATH holding it")
	}
	if !ch.URL.IsRef() {
		if _, err := parseHTTPURL(string(ch.URL)); err != nil {
			return err
		}
	}
	if typ.signed && ch.Secret == "" {
		return fmt.Errorf("secret is not set: %s requests are signed; give env:NAME or file:PATH", ch.Type)
	}
	return nil
}

func (ch *Channel) checkSMTP() error {
	m := ch.SMTP
	switch {
	case m == nil:
		return errors.New("smtp is not set: an e-mail channel needs smtp.host, smtp.from and smtp.to")
	case m.Host == "" || m.From == "" || len(m.To) == 0:
		return errors.New("smtp needs host, from and to")
	}
	if err := m.Password.check("smtp.password"); err != nil {
		return err
	}
	if err := m.OAuth2Token.check("smtp.oauth2_token"); err != nil {
		return err
	}
	if m.TLS == "" {
		m.TLS = "starttls"
	}
	if !slices.Contains([]string{"starttls", "tls", "none"}, m.TLS) {
		return fmt.Errorf("smtp.tls %q is not allowed: use starttls, tls or none", m.TLS)
	}
	if m.Auth == "" {
		m.Auth = AuthAuto
	}
	if !slices.Contains(AuthModes, m.Auth) {
		return fmt.Errorf("smtp.auth %q is not allowed: use %s", m.Auth, strings.Join(AuthModes, ", "))
	}
	if m.TLS == "none" {
		for _, c := range []struct {
			field string
			set   bool
		}{
			{"smtp.username", m.Username != ""},
			{"smtp.password", m.Password.IsSet()},
			{"smtp.oauth2_token", m.OAuth2Token.IsSet()},
		} {
			if c.set {
				return fmt.Errorf("%s is set with smtp.tls none, which would send credentials in clear: "+
					"use smtp.tls starttls or tls, or no credentials (a local relay only)", c.field)
			}
		}
	}
	switch {
	case m.Username == "" && (m.Password.IsSet() || m.OAuth2Token.IsSet()):
		return errors.New("smtp.username is not set: smtp.password and smtp.oauth2_token need it")
	case m.Username != "" && !m.Password.IsSet() && !m.OAuth2Token.IsSet():
		return errors.New("smtp.username is set without smtp.password or smtp.oauth2_token: give one")
	case (m.Auth == AuthPlain || m.Auth == AuthLogin) && !m.Password.IsSet():
		return fmt.Errorf("smtp.auth %s needs smtp.username and smtp.password", m.Auth)
	case m.Auth == AuthXOAuth2 && !m.OAuth2Token.IsSet():
		return errors.New("smtp.auth xoauth2 needs smtp.username and smtp.oauth2_token")
	}
	if m.Port == 0 {
		m.Port = map[string]int{"starttls": 587, "tls": 465, "none": 25}[m.TLS]
	}
	if m.Port < 1 || m.Port > 65535 {
		return fmt.Errorf("smtp.port %d is out of range: allowed 1..65535", m.Port)
	}
	return nil
}

func parseHTTPURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("url is not an http(s) address")
	}
	return u, nil
}

// Recipient says where a channel sends without anything secret: the type
// and host of a webhook (its path and query hold tokens), the addresses of
// an e-mail.
func (ch *Channel) Recipient() string {
	if ch.Type == TypeEmail {
		return "mail to " + strings.Join(ch.SMTP.To, ", ")
	}
	raw, err := ch.URL.Resolve()
	if err != nil {
		return ch.Type
	}
	u, err := parseHTTPURL(raw)
	if err != nil {
		return ch.Type
	}
	return ch.Type + " " + u.Scheme + "://" + u.Host
}

// Pace is a platform's documented sending limit for one robot.
type Pace struct {
	PerSecond float64       // 0: not paced
	Block     time.Duration // how long the platform blocks a robot that went over
}

// Pace is the channel's platform's limit (zero for webhooks and e-mail:
// they set none).
func (ch *Channel) Pace() Pace { return channelTypeMust(ch.Type).pace }

// AtMostOnce reports whether a message whose answer was lost is never
// sent again: chat robots' receivers cannot drop a duplicate. Webhooks
// and e-mail carry a stable id (webhook-id, Message-ID), so they are sent
// again with it: at least once.
func (ch *Channel) AtMostOnce() bool { return channelTypeMust(ch.Type).atMostOnce }

// RobotKey names the robot behind a chat channel, a hash of its URL (the
// URL holds its token), so that channels, routes and accounts sharing one
// robot share its pace.
func (ch *Channel) RobotKey() (string, error) {
	u, err := ch.resolveURL()
	if err != nil {
		return "", err
	}
	h := sha256.Sum256([]byte(u.String()))
	return "robot:" + hex.EncodeToString(h[:12]), nil
}

// Message is one digest (or a test message) to send.
type Message struct {
	// ID identifies the delivery; the same on every attempt.
	ID     string
	Digest Digest
}

// Send delivers m on the channel. A failure is a *SendError.
func (ch *Channel) Send(ctx context.Context, m Message) error {
	m.Digest = ch.fitRenewal(ch.localize(m.Digest))
	typ, ok := channelTypeOf(ch.Type)
	if !ok {
		return &SendError{Class: ClassConfig, Msg: "unknown channel type " + ch.Type}
	}
	return typ.send(ch, ctx, m)
}

// Class sorts send failures by what to do about them.
type Class string

// Failure classes; they are the Temporal error types of a failed send.
const (
	// ClassRateLimited: the platform asks to slow down (HTTP 429, DingTalk
	// 130101, Feishu 11232, WeCom 45009): retried after RetryAfter.
	ClassRateLimited Class = contract.NotifyRateLimited
	// ClassUnavailable: not delivered, may work later (5xx, connection
	// refused, SMTP 4xx): retried with backoff.
	ClassUnavailable Class = contract.NotifyUnavailable
	// ClassRejected: refused for good (4xx, a bad signature or token, SMTP
	// 5xx): not retried.
	ClassRejected Class = contract.NotifyRejected
	// ClassUncertain: the request went out but no answer came; it may have
	// arrived, so it is not sent again.
	ClassUncertain Class = contract.NotifyUncertain
	// ClassConfig: the routes file or a secret reference is wrong.
	ClassConfig Class = contract.NotifyConfig
)

// SendError is a failed send. Its message never holds a URL's path or
// query, a secret, or the message body.
type SendError struct {
	Class      Class
	Msg        string
	RetryAfter time.Duration
}

func (e *SendError) Error() string { return e.Msg }

// Retryable reports whether another attempt may succeed.
func (e *SendError) Retryable() bool {
	return e.Class == ClassRateLimited || e.Class == ClassUnavailable
}

func configError(ch *Channel, err error) error {
	return &SendError{Class: ClassConfig, Msg: fmt.Sprintf("channel %s: %v", ch.Name, err)}
}
