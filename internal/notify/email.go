package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"expiry-sync/internal/contract"
)

// TypeEmail is e-mail through an SMTP relay, the channel's smtp settings.
const TypeEmail = contract.ChannelEmail

// email: at least once (the Message-ID is the delivery id), not paced; its
// own settings are checked by checkSMTP.
func email() channelType {
	return channelType{name: TypeEmail, check: (*Channel).checkSMTP, send: (*Channel).sendEmail}
}

// sendEmail sends the digest as a multipart/alternative mail (RFC 2046): a
// text/plain part and a text/html part, both UTF-8 and quoted-printable, the
// subject and display names RFC 2047-encoded, marked Auto-Submitted
// (RFC 3834). The relay is reached over implicit TLS (tls, RFC 8314, port
// 465) or upgraded with STARTTLS (starttls, RFC 3207, port 587; a relay that
// does not offer it is refused), and authenticated, when credentials are
// set, with the mechanism smtp.auth names or, for auto, the strongest the
// relay offers: XOAUTH2 with a token, else PLAIN (RFC 4616), else LOGIN
// (draft-murchison-sasl-login). The Message-ID is the delivery id, the same
// on every attempt. SMTP 4xx replies are retried, 5xx are not; a lost
// answer to the final dot leaves the delivery uncertain.
func (ch *Channel) sendEmail(ctx context.Context, m Message) error {
	cfg := ch.SMTP
	msg, err := buildMail(cfg.From, cfg.To, m)
	if err != nil {
		return configError(ch, err)
	}
	var password, token string
	if cfg.Password.IsSet() {
		if password, err = cfg.Password.Resolve(ctx, ch.Timeout); err != nil {
			return configError(ch, fmt.Errorf("smtp.password %w", err))
		}
	}
	if cfg.OAuth2Token.IsSet() {
		if token, err = cfg.OAuth2Token.Resolve(ctx, ch.Timeout); err != nil {
			return configError(ch, fmt.Errorf("smtp.oauth2_token %w", err))
		}
	}
	tlsCfg, err := ch.tlsConfig()
	if err != nil {
		return err
	}
	// The whole conversation gets the channel's timeout: go-smtp times
	// each command on its own, so the connection is closed when it is up.
	ctx, cancel := context.WithTimeout(ctx, ch.Timeout)
	defer cancel()
	conn, err := ch.dialSMTP(ctx, tlsCfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer context.AfterFunc(ctx, func() { conn.Close() })()
	// stopped says why the connection was closed under the conversation.
	stopped := func(err error) error {
		if _, isReply := errors.AsType[*smtp.SMTPError](err); isReply || ctx.Err() == nil {
			return err
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("no answer within the channel's timeout %s", ch.Timeout)
		}
		return ctx.Err()
	}
	fail := func(step string, err error) error { return ch.smtpError(step, stopped(err)) }
	var c *smtp.Client
	if cfg.TLS == "starttls" {
		if c, err = smtp.NewClientStartTLS(conn, tlsCfg); err != nil {
			// go-smtp refuses a relay whose EHLO lacks STARTTLS with an
			// error of its own, not a reply.
			if _, isReply := errors.AsType[*smtp.SMTPError](err); !isReply &&
				strings.Contains(err.Error(), "STARTTLS") && ctx.Err() == nil {
				return &SendError{Class: ClassRejected, Msg: ch.where() + ": the relay does not offer STARTTLS; " +
					"set smtp.tls to tls or (local relays only, without credentials) none"}
			}
			return fail("STARTTLS", err)
		}
	} else {
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	c.CommandTimeout, c.SubmissionTimeout = ch.Timeout, ch.Timeout
	// EHLO (again after STARTTLS: the TLS handshake happens here).
	if err := c.Hello("localhost"); err != nil {
		if cfg.TLS == "starttls" {
			return fail("EHLO after STARTTLS", err)
		}
		return fail("EHLO", err)
	}
	if cfg.Username != "" {
		if mech, err := ch.authSMTP(c, cfg.Username, password, token); err != nil {
			if _, ok := err.(*SendError); ok {
				return err
			}
			return fail("AUTH "+mech, err)
		}
	}
	if err := c.Mail(addressOf(cfg.From), nil); err != nil {
		return fail("MAIL FROM", err)
	}
	for _, to := range cfg.To {
		if err := c.Rcpt(addressOf(to), nil); err != nil {
			return fail("RCPT TO", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fail("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fail("DATA", err)
	}
	// The relay takes the mail when it answers the final dot: a network
	// failure here leaves the delivery unknown.
	if err := w.Close(); err != nil {
		if _, isReply := errors.AsType[*smtp.SMTPError](err); !isReply {
			return &SendError{Class: ClassUncertain,
				Msg: ch.where() + ": no answer after the mail was sent, it may have arrived: " + stopped(err).Error()}
		}
		return fail("end of DATA", err)
	}
	_ = c.Quit()
	return nil
}

// authSMTP authenticates with the first mechanism smtp.auth allows that
// the relay offers, and returns its name. A relay offering none of them
// refuses the channel for good: a *SendError naming what it offers.
func (ch *Channel) authSMTP(c *smtp.Client, user, password, token string) (string, error) {
	usable := authMechanisms(ch.SMTP.Auth, token != "", password != "")
	_, line := c.Extension("AUTH")
	offered := strings.Fields(line)
	mech := pickMechanism(usable, offered)
	var xo *xoauth2Client
	var client sasl.Client
	switch mech {
	case mechXOAuth2:
		xo = &xoauth2Client{user: user, token: token}
		client = xo
	case mechPlain:
		client = sasl.NewPlainClient("", user, password)
	case mechLogin:
		client = sasl.NewLoginClient(user, password)
	default:
		what := "no AUTH mechanism"
		if len(offered) > 0 {
			what = "AUTH " + strings.Join(offered, " ")
		}
		return "", &SendError{
			Class: ClassRejected,
			Msg: fmt.Sprintf(
				"%s: the relay offers %s; smtp.auth %s can use %s with the configured credentials",
				ch.where(),
				what,
				ch.SMTP.Auth,
				strings.Join(usable, " or "),
			),
		}
	}
	err := c.Auth(client)
	if errors.Is(err, sasl.ErrUnexpectedServerChallenge) {
		return mech, &SendError{
			Class: ClassRejected,
			Msg:   fmt.Sprintf("%s: AUTH %s: the relay's challenge does not follow the mechanism", ch.where(), mech),
		}
	}
	if se, ok := errors.AsType[*smtp.SMTPError](err); ok && xo != nil && xo.status != "" {
		// The token was refused: keep the relay's reason, an HTTP-like status.
		withStatus := *se
		withStatus.Message = "token refused, status " + xo.status + ": " + se.Message
		err = &withStatus
	}
	return mech, err
}

func (ch *Channel) where() string {
	return fmt.Sprintf("channel %s (email %s)", ch.Name, net.JoinHostPort(ch.SMTP.Host, strconv.Itoa(ch.SMTP.Port)))
}

// dialSMTP connects to the relay, over TLS for tls.
func (ch *Channel) dialSMTP(ctx context.Context, tlsCfg *tls.Config) (net.Conn, error) {
	addr := net.JoinHostPort(ch.SMTP.Host, strconv.Itoa(ch.SMTP.Port))
	d := &net.Dialer{Timeout: ch.Timeout}
	var conn net.Conn
	var err error
	if ch.SMTP.TLS == "tls" {
		conn, err = (&tls.Dialer{NetDialer: d, Config: tlsCfg}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
			return nil, ch.smtpError("TLS", err)
		}
		return nil, &SendError{Class: ClassUnavailable, Msg: ch.where() + ": not reachable: " + err.Error()}
	}
	return conn, nil
}

func (ch *Channel) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{ServerName: ch.SMTP.Host, MinVersion: tls.VersionTLS12}
	if ch.SMTP.CAFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(ch.SMTP.CAFile)
	if err != nil {
		return nil, configError(
			ch,
			fmt.Errorf("smtp.ca_file %s cannot be read: %v", ch.SMTP.CAFile, errors.Unwrap(err)),
		)
	}
	cfg.RootCAs = x509.NewCertPool()
	if !cfg.RootCAs.AppendCertsFromPEM(pem) {
		return nil, configError(ch, fmt.Errorf("smtp.ca_file %s holds no PEM certificate", ch.SMTP.CAFile))
	}
	return cfg, nil
}

// smtpError classifies an SMTP failure: a 4xx reply or a broken connection
// before the mail was handed over is retried, a 5xx reply is final.
func (ch *Channel) smtpError(step string, err error) error {
	if se, ok := errors.AsType[*smtp.SMTPError](err); ok {
		class := ClassUnavailable
		if se.Code >= 500 {
			class = ClassRejected
		}
		return &SendError{Class: class, Msg: fmt.Sprintf("%s: %s: %d %s", ch.where(), step, se.Code, short(se.Message))}
	}
	var tlsErr *tls.CertificateVerificationError
	if errors.As(err, &tlsErr) {
		return &SendError{
			Class: ClassRejected,
			Msg: fmt.Sprintf(
				"%s: %s: the relay's certificate is not trusted (set smtp.ca_file): %v",
				ch.where(),
				step,
				tlsErr.Err,
			),
		}
	}
	return &SendError{Class: ClassUnavailable, Msg: fmt.Sprintf("%s: %s: %v", ch.where(), step, err)}
}

func addressOf(s string) string {
	if a, err := mail.ParseAddress(s); err == nil {
		return a.Address
	}
	return s
}

// addressHeader writes an address for a header, its display name RFC
// 2047-encoded when it is not ASCII.
func addressHeader(s string) string {
	if a, err := mail.ParseAddress(s); err == nil {
		return a.String()
	}
	return s
}

// buildMail writes the whole message, headers included.
func buildMail(from string, to []string, m Message) ([]byte, error) {
	if _, err := mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("smtp.from %q is not an address", from)
	}
	for _, t := range to {
		if _, err := mail.ParseAddress(t); err != nil {
			return nil, fmt.Errorf("smtp.to %q is not an address", t)
		}
	}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", addressHeader(from))
	var tos []string
	for _, t := range to {
		tos = append(tos, addressHeader(t))
	}
	h("To", strings.Join(tos, ", "))
	h("Subject", mime.BEncoding.Encode("UTF-8", m.Digest.Title()))
	h("Date", now().UTC().Format(time.RFC1123Z))
	h("Message-ID", "<"+m.ID+"@expiry-sync>")
	h("Auto-Submitted", "auto-generated") // RFC 3834: no auto-replies
	h("MIME-Version", "1.0")
	h("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	b.WriteString("\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain", m.Digest.Text()}, {"text/html", m.Digest.HTML()}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=UTF-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(pw)
		if _, err := qp.Write([]byte(part.body)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
