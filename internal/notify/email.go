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
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"
)

// sendEmail sends the digest as a multipart/alternative mail (RFC 2046): a
// text/plain part and a text/html part, both UTF-8 and quoted-printable, the
// subject RFC 2047-encoded. The relay is reached over implicit TLS (tls,
// RFC 8314, port 465) or upgraded with STARTTLS (starttls, RFC 3207, port
// 587; a relay that does not offer it is refused), and authenticated with
// AUTH PLAIN (RFC 4616) when a username is set. The Message-ID is the
// delivery id, the same on every attempt. SMTP 4xx replies are retried, 5xx
// are not.
func (ch *Channel) sendEmail(ctx context.Context, m Message) error {
	cfg := ch.SMTP
	password, err := cfg.Password.Resolve()
	if err != nil {
		return configError(ch, fmt.Errorf("smtp.password %w", err))
	}
	msg, err := buildMail(cfg.From, cfg.To, m)
	if err != nil {
		return configError(ch, err)
	}
	tlsCfg, err := ch.tlsConfig()
	if err != nil {
		return err
	}
	c, err := ch.dialSMTP(ctx, tlsCfg)
	if err != nil {
		return err
	}
	defer c.Close()
	if cfg.TLS == "starttls" {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return &SendError{Class: ClassRejected, Msg: ch.where() + ": the relay does not offer STARTTLS; set smtp.tls to tls or (local relays only) none"}
		}
		if err := c.StartTLS(tlsCfg); err != nil {
			return ch.smtpError("STARTTLS", err)
		}
	}
	if cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", cfg.Username, password, cfg.Host)); err != nil {
			return ch.smtpError("AUTH", err)
		}
	}
	if err := c.Mail(addressOf(cfg.From)); err != nil {
		return ch.smtpError("MAIL FROM", err)
	}
	for _, to := range cfg.To {
		if err := c.Rcpt(addressOf(to)); err != nil {
			return ch.smtpError("RCPT TO", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return ch.smtpError("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return ch.smtpError("DATA", err)
	}
	// The relay takes the mail when it answers the final dot: a network
	// failure here leaves the delivery unknown.
	if err := w.Close(); err != nil {
		var tp *textproto.Error
		if !errors.As(err, &tp) {
			return &SendError{Class: ClassUncertain, Msg: ch.where() + ": no answer after the mail was sent, it may have arrived: " + err.Error()}
		}
		return ch.smtpError("end of DATA", err)
	}
	_ = c.Quit()
	return nil
}

func (ch *Channel) where() string {
	return fmt.Sprintf("channel %s (email %s)", ch.Name, net.JoinHostPort(ch.SMTP.Host, strconv.Itoa(ch.SMTP.Port)))
}

func (ch *Channel) dialSMTP(ctx context.Context, tlsCfg *tls.Config) (*smtp.Client, error) {
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
		return nil, &SendError{Class: ClassUnavailable, Msg: ch.where() + ": not reachable: " + err.Error()}
	}
	deadline := time.Now().Add(ch.Timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, ch.SMTP.Host)
	if err != nil {
		conn.Close()
		return nil, ch.smtpError("greeting", err)
	}
	return c, nil
}

func (ch *Channel) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{ServerName: ch.SMTP.Host, MinVersion: tls.VersionTLS12}
	if ch.SMTP.CAFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(ch.SMTP.CAFile)
	if err != nil {
		return nil, configError(ch, fmt.Errorf("smtp.ca_file %s cannot be read: %v", ch.SMTP.CAFile, errors.Unwrap(err)))
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
	var tp *textproto.Error
	if errors.As(err, &tp) {
		class := ClassUnavailable
		if tp.Code >= 500 {
			class = ClassRejected
		}
		return &SendError{Class: class, Msg: fmt.Sprintf("%s: %s: %d %s", ch.where(), step, tp.Code, short(tp.Msg))}
	}
	var tlsErr *tls.CertificateVerificationError
	if errors.As(err, &tlsErr) {
		return &SendError{Class: ClassRejected, Msg: fmt.Sprintf("%s: %s: the relay's certificate is not trusted (set smtp.ca_file): %v", ch.where(), step, tlsErr.Err)}
	}
	return &SendError{Class: ClassUnavailable, Msg: fmt.Sprintf("%s: %s: %v", ch.where(), step, err)}
}

func addressOf(s string) string {
	if a, err := mail.ParseAddress(s); err == nil {
		return a.Address
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
	h("From", from)
	h("To", strings.Join(to, ", "))
	h("Subject", mime.BEncoding.Encode("UTF-8", m.Digest.Title()))
	h("Date", now().UTC().Format(time.RFC1123Z))
	h("Message-ID", "<"+m.ID+"@expiry-sync>")
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
