// Command hwsim runs the Huawei Cloud BSS + TMS API simulator for demos and
// end-to-end tests. The AK/SK come from the environment only
// (HWSIM_ACCESS_KEY, and HWSIM_SECRET_KEY or HWSIM_SECRET_KEY_FILE), so that
// they never show in a process listing.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"expiry-sync/internal/testkit/hwsim"
)

const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// usageError is a bad invocation (flags, environment): exit status 2.
type usageError struct{ error }

type config struct {
	listen        string
	seed          int64
	resources     int
	latency       time.Duration
	jitter        time.Duration
	bssRate       float64
	tmsRate       float64
	errorRatio    float64
	throttleRatio float64
	slowRatio     float64
	slowDelay     time.Duration
	domainID      string
	epoch         string
	forbidden     []string
	knobsJSON     string
	fullCatalog   bool
}

// run is main without the process globals, so tests can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var cfg config
	cmd := &cobra.Command{
		Use:   "hwsim",
		Short: "Huawei Cloud BSS + TMS API simulator",
		Long: "hwsim serves the BSS and TMS APIs expiry-sync uses, " +
			"for the official SDK to talk to by endpoint override.\n" +
			"Credentials come from HWSIM_ACCESS_KEY and HWSIM_SECRET_KEY (or HWSIM_SECRET_KEY_FILE).",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unexpected argument %q", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), cfg, getenv, stdout, stderr)
		},
	}
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	defineFlags(cmd, &cfg)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "hwsim: %v\n", err)
		if errors.As(err, new(usageError)) {
			return exitUsage
		}
		return exitError
	}
	return exitOK
}

func defineFlags(cmd *cobra.Command, cfg *config) {
	f := cmd.Flags()
	f.StringVar(&cfg.listen, "listen", "127.0.0.1:8090", "address to listen on (host:port; port 0 picks a free one)")
	f.Int64Var(&cfg.seed, "seed", 1, "dataset seed")
	f.IntVar(
		&cfg.resources,
		"resources",
		5000,
		fmt.Sprintf("dataset size, children included (0..%d)", hwsim.MaxResources),
	)
	f.DurationVar(&cfg.latency, "latency", 0, "fixed delay per request")
	f.DurationVar(&cfg.jitter, "jitter", 0, "extra uniform random delay per request, [0, jitter)")
	f.Float64Var(&cfg.bssRate, "bss-rate", 0, "BSS list requests/s before 429 APIGW.0308 (0 = unlimited)")
	f.Float64Var(&cfg.tmsRate, "tms-rate", 0, "TMS requests/s before 429 APIGW.0308 (0 = unlimited)")
	f.Float64Var(&cfg.errorRatio, "error-ratio", 0, "fraction of requests answered 500 (0..1)")
	f.Float64Var(&cfg.throttleRatio, "throttle-ratio", 0, "fraction of requests answered 429 at random (0..1)")
	f.Float64Var(&cfg.slowRatio, "slow-ratio", 0, "fraction of requests answered after --slow-delay (0..1)")
	f.DurationVar(&cfg.slowDelay, "slow-delay", 30*time.Second, "delay of slow requests")
	f.StringVar(&cfg.domainID, "domain-id", hwsim.DemoDomainID, "account (domain) id the requests must carry")
	f.StringVar(&cfg.epoch, "epoch", "", "RFC 3339 instant expire times are anchored to (default: now)")
	f.StringSliceVar(&cfg.forbidden, "forbidden-resource-ids", nil, "resource ids whose TMS tag queries answer 403")
	f.StringVar(
		&cfg.knobsJSON,
		"knobs",
		"",
		`any other knobs as the JSON of PUT /_hwsim/knobs, e.g. `+
			`'{"bulk_empty_filter":"refused","wrong_site":"CBC.0150"}' (see docs/simulator.md)`,
	)
	f.BoolVar(
		&cfg.fullCatalog,
		"full-catalog",
		true,
		"serve TMS tags for every catalog type (RDS, DCS too), as real TMS does; "+
			"false plays a TMS that serves ecs, disk and eip only",
	)
}

// validate checks every flag, naming it and its allowed range.
func (c config) validate() error {
	var errs []error
	bad := func(flag string, v any, allowed string) {
		errs = append(errs, fmt.Errorf("invalid value %v for --%s: allowed %s", v, flag, allowed))
	}
	if _, _, err := net.SplitHostPort(c.listen); err != nil {
		bad("listen", c.listen, "host:port")
	}
	if c.resources < 0 || c.resources > hwsim.MaxResources {
		bad("resources", c.resources, fmt.Sprintf("range 0..%d", hwsim.MaxResources))
	}
	for _, d := range []struct {
		flag   string
		v, max time.Duration
	}{
		{"latency", c.latency, hwsim.MaxLatency},
		{"jitter", c.jitter, hwsim.MaxLatency},
		{"slow-delay", c.slowDelay, hwsim.MaxSlowDelay},
	} {
		if d.v < 0 || d.v > d.max {
			bad(d.flag, d.v, "range 0s.."+d.max.String())
		}
	}
	for _, r := range []struct {
		flag   string
		v, max float64
	}{
		{"bss-rate", c.bssRate, hwsim.MaxRate}, {"tms-rate", c.tmsRate, hwsim.MaxRate},
		{"error-ratio", c.errorRatio, 1}, {"throttle-ratio", c.throttleRatio, 1}, {"slow-ratio", c.slowRatio, 1},
	} {
		if !(r.v >= 0 && r.v <= r.max) { // also rejects NaN
			bad(r.flag, r.v, fmt.Sprintf("range 0..%g", r.max))
		}
	}
	if strings.TrimSpace(c.domainID) == "" {
		bad("domain-id", `""`, "a non-empty account id")
	}
	if c.epoch != "" {
		if _, err := time.Parse(time.RFC3339, c.epoch); err != nil {
			bad("epoch", c.epoch, "an RFC 3339 time like 2026-01-15T08:00:00Z")
		}
	}
	if c.knobsJSON != "" {
		if _, err := c.knobs(); err != nil {
			bad("knobs", c.knobsJSON, "a JSON object of knobs: "+err.Error())
		}
	}
	if err := errors.Join(errs...); err != nil {
		return usageError{err}
	}
	return nil
}

// credentials reads the AK/SK from the environment.
func credentials(getenv func(string) string) (ak, sk string, err error) {
	ak = strings.TrimSpace(getenv("HWSIM_ACCESS_KEY"))
	if ak == "" {
		return "", "", usageError{
			errors.New("HWSIM_ACCESS_KEY is not set; export the access key the simulator accepts"),
		}
	}
	sk, file := getenv("HWSIM_SECRET_KEY"), getenv("HWSIM_SECRET_KEY_FILE")
	switch {
	case sk != "" && file != "":
		return "", "", usageError{errors.New("set only one of HWSIM_SECRET_KEY and HWSIM_SECRET_KEY_FILE")}
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return "", "", usageError{fmt.Errorf("HWSIM_SECRET_KEY_FILE: %w", err)}
		}
		sk = strings.TrimSpace(string(data))
		if sk == "" {
			return "", "", usageError{fmt.Errorf("HWSIM_SECRET_KEY_FILE %s is empty", file)}
		}
	case sk == "":
		return "", "", usageError{
			errors.New(
				"HWSIM_SECRET_KEY or HWSIM_SECRET_KEY_FILE is not set; provide the secret key the simulator accepts",
			),
		}
	}
	return ak, sk, nil
}

// knobs are the flags' knobs patched by --knobs.
func (c config) knobs() (hwsim.Knobs, error) {
	k := hwsim.Knobs{
		Latency: c.latency, Jitter: c.jitter, BSSRate: c.bssRate, TMSRate: c.tmsRate,
		ErrorRatio: c.errorRatio, ThrottleRatio: c.throttleRatio, SlowRatio: c.slowRatio, SlowDelay: c.slowDelay,
		ForbiddenResourceIDs: c.forbidden,
	}
	if c.knobsJSON != "" {
		if err := json.Unmarshal([]byte(c.knobsJSON), &k); err != nil {
			return k, err
		}
	}
	return k, k.Validate()
}

func (c config) options(ak, sk string) hwsim.Options {
	var epoch time.Time
	if c.epoch != "" {
		epoch, _ = time.Parse(time.RFC3339, c.epoch) // validated
	}
	k, _ := c.knobs() // validated
	return hwsim.Options{
		Seed: c.seed, Resources: c.resources, AccessKey: ak, SecretKey: sk, DomainID: c.domainID, Epoch: epoch,
		Knobs: k, FullCatalog: c.fullCatalog,
	}
}

// serve runs the simulator until ctx ends (SIGINT/SIGTERM).
func serve(ctx context.Context, cfg config, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	ak, sk, err := credentials(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	start := time.Now()
	sim, err := hwsim.New(cfg.options(ak, sk))
	if err != nil {
		return usageError{err}
	}
	srv, err := sim.Start(ctx, cfg.listen)
	if err != nil {
		return err
	}
	k := sim.Knobs()
	log.Info("hwsim started", "url", srv.URL, "resources", sim.Len(), "seed", cfg.seed,
		"epoch", sim.Epoch().Format(time.RFC3339), "domain_id", cfg.domainID, "projects", len(sim.Projects()),
		"generated_in", time.Since(start).Round(time.Millisecond),
		"latency", k.Latency, "jitter", k.Jitter, "bss_rate", k.BSSRate, "tms_rate", k.TMSRate,
		"error_ratio", k.ErrorRatio, "throttle_ratio", k.ThrottleRatio,
		"slow_ratio", k.SlowRatio, "slow_delay", k.SlowDelay)
	fmt.Fprintf(stdout, "hwsim listening on %s (%d resources, seed %d)\n", srv.URL, sim.Len(), cfg.seed)

	select {
	case <-ctx.Done():
		log.Info("hwsim stopping")
		err = srv.Close()
	case <-srv.Done():
		err = srv.Err()
	}
	if err != nil {
		return err
	}
	total := sim.Stats().Total()
	log.Info("hwsim stopped", "requests", total.Requests, "ok", total.OK, "throttled", total.Throttled,
		"server_errors", total.ServerErrors)
	return nil
}
