package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"go.yaml.in/yaml/v3"
)

// SMTP authentication: which SASL mechanism a channel uses (smtp.auth) and
// where its credentials come from (smtp.password, smtp.oauth2_token).

// Values of smtp.auth.
const (
	AuthAuto    = "auto"
	AuthPlain   = "plain"
	AuthLogin   = "login"
	AuthXOAuth2 = "xoauth2"
)

// AuthModes lists the values smtp.auth allows.
var AuthModes = []string{AuthAuto, AuthPlain, AuthLogin, AuthXOAuth2}

// SASL mechanism names as the relay's EHLO AUTH line gives them.
const (
	mechPlain   = sasl.Plain // RFC 4616
	mechLogin   = sasl.Login // draft-murchison-sasl-login
	mechXOAuth2 = "XOAUTH2"  // Google, Microsoft
)

// authMechanisms lists the mechanisms smtp.auth may use, strongest first:
// an explicit one alone; for auto, XOAUTH2 when a token is configured, then
// PLAIN and LOGIN when a password is.
func authMechanisms(auth string, token, password bool) []string {
	switch auth {
	case AuthPlain:
		return []string{mechPlain}
	case AuthLogin:
		return []string{mechLogin}
	case AuthXOAuth2:
		return []string{mechXOAuth2}
	}
	var out []string
	if token {
		out = append(out, mechXOAuth2)
	}
	if password {
		out = append(out, mechPlain, mechLogin)
	}
	return out
}

// pickMechanism returns the first of usable that the relay offers (the
// parameters of its EHLO AUTH line), or "".
func pickMechanism(usable, offered []string) string {
	for _, m := range usable {
		for _, o := range offered {
			if strings.EqualFold(m, o) {
				return m
			}
		}
	}
	return ""
}

// xoauth2Client is the XOAUTH2 SASL mechanism of Google and Microsoft
// (developers.google.com/gmail/imap/xoauth2-protocol, learn.microsoft.com
// "Authenticate an IMAP, POP or SMTP connection using OAuth"): the initial
// response is "user=" user ^A "auth=Bearer " token ^A ^A. A relay refusing
// the token sends a 334 challenge holding a JSON error; the client answers
// it with an empty response and the relay then gives its final 5xx reply.
type xoauth2Client struct {
	user, token string
	// status is the HTTP-like status of the relay's JSON error, if any.
	status     string
	challenged bool
}

func (a *xoauth2Client) Start() (string, []byte, error) {
	return mechXOAuth2, []byte("user=" + a.user + "\x01auth=Bearer " + a.token + "\x01\x01"), nil
}

func (a *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	if a.challenged {
		return nil, sasl.ErrUnexpectedServerChallenge
	}
	a.challenged = true
	var e struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(challenge, &e) == nil {
		a.status = e.Status
	}
	return []byte{}, nil
}

// Credential is a secret of the relay (smtp.password, smtp.oauth2_token),
// read at each send and never printed. In the routes file it is a
// reference like every secret (env:NAME, file:PATH), or a mapping of one
// key: {env: NAME}, {file: PATH} or {command: [program, args...]}, whose
// standard output (trimmed) is the value: the program runs at each send,
// without a shell, so a short-lived OAuth2 token is fetched afresh.
type Credential struct {
	Ref     Ref      // env:NAME or file:PATH
	Command []string // program and arguments
}

// UnmarshalYAML reads a reference or a one-key mapping.
func (c *Credential) UnmarshalYAML(n *yaml.Node) error {
	const want = "give env:NAME, file:PATH, or one of {env: NAME}, {file: PATH}, {command: [program, args...]}"
	*c = Credential{}
	switch n.Kind {
	case yaml.ScalarNode:
		var s string
		if err := n.Decode(&s); err != nil {
			return fmt.Errorf("line %d: %s", n.Line, want)
		}
		c.Ref = Ref(s)
		return nil
	case yaml.MappingNode:
		if len(n.Content) != 2 {
			return fmt.Errorf("line %d: a secret takes one key: %s", n.Line, want)
		}
		key, val := n.Content[0], n.Content[1]
		switch key.Value {
		case "env", "file":
			var s string
			if val.Kind != yaml.ScalarNode || val.Decode(&s) != nil || s == "" {
				return fmt.Errorf("line %d: %s needs a name: %s", key.Line, key.Value, want)
			}
			c.Ref = Ref(key.Value + ":" + s)
			return nil
		case "command":
			if val.Decode(&c.Command) != nil || len(c.Command) == 0 || c.Command[0] == "" {
				return fmt.Errorf(
					"line %d: command needs a list, the program then its arguments: [program, args...]",
					key.Line,
				)
			}
			return nil
		}
		return fmt.Errorf("line %d: %q is not a secret source: %s", key.Line, key.Value, want)
	}
	return fmt.Errorf("line %d: %s", n.Line, want)
}

// IsSet reports whether the credential is configured.
func (c Credential) IsSet() bool { return c.Ref != "" || len(c.Command) > 0 }

// check refuses a literal secret in the routes file.
func (c Credential) check(field string) error {
	if c.Ref != "" && !c.Ref.IsRef() {
		return fmt.Errorf(
			"%s must be a reference (env:NAME, file:PATH or {command: [program, args...]}), never the secret itself",
			field,
		)
	}
	return nil
}

// String never shows a value, nor a command's arguments (they may hold one).
func (c Credential) String() string {
	if len(c.Command) > 0 {
		return "command " + filepath.Base(c.Command[0])
	}
	return c.Ref.String()
}

// Resolve reads the value; a command gets timeout to print it. Errors name
// the reference or the program, never the value, a command's arguments or
// its output.
func (c Credential) Resolve(ctx context.Context, timeout time.Duration) (string, error) {
	var v string
	if len(c.Command) == 0 {
		var err error
		if v, err = c.Ref.Resolve(); err != nil {
			return "", err
		}
	} else {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, c.Command[0], c.Command[1:]...)
		cmd.WaitDelay = time.Second
		out, err := cmd.Output() // its standard error is kept out of errors: it may hold the secret
		switch {
		case ctx.Err() != nil:
			return "", fmt.Errorf("%s: no value within %s", c, timeout)
		case err != nil:
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				return "", fmt.Errorf("%s failed: %v", c, exit.ProcessState)
			}
			return "", fmt.Errorf("%s cannot be run: %v", c, err)
		}
		v = strings.TrimSpace(string(out))
	}
	if v == "" {
		return "", fmt.Errorf("%s gave an empty value", c)
	}
	if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", fmt.Errorf("%s gave more than one line or a control character", c)
	}
	return v, nil
}
