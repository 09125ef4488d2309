package hwsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// knobsJSON is the wire form; pointers tell "absent" from zero so that a
// partial document only changes the fields it names. ListFailFromOffset and
// Churn are raw so that null (or -1) can turn them off.
type knobsJSON struct {
	Latency              *string   `json:"latency,omitempty"`
	Jitter               *string   `json:"jitter,omitempty"`
	BSSRate              *float64  `json:"bss_rate,omitempty"`
	TMSRate              *float64  `json:"tms_rate,omitempty"`
	ErrorRatio           *float64  `json:"error_ratio,omitempty"`
	ThrottleRatio        *float64  `json:"throttle_ratio,omitempty"`
	SlowRatio            *float64  `json:"slow_ratio,omitempty"`
	SlowDelay            *string   `json:"slow_delay,omitempty"`
	ForbiddenResourceIDs *[]string `json:"forbidden_resource_ids,omitempty"`

	ListOrder            *string         `json:"list_order,omitempty"`
	ListFailFromOffset   json.RawMessage `json:"list_fail_from_offset,omitempty"`
	ListFailCode         *string         `json:"list_fail_code,omitempty"`
	MalformedResourceIDs *[]string       `json:"malformed_resource_ids,omitempty"`
	NoIDResourceIDs      *[]string       `json:"no_id_resource_ids,omitempty"`
	PartialResourceIDs   *[]string       `json:"partial_resource_ids,omitempty"`
	NoProjectResourceIDs *[]string       `json:"no_project_resource_ids,omitempty"`
	Churn                json.RawMessage `json:"churn,omitempty"`
	WrongSite            *string         `json:"wrong_site,omitempty"`
	BSSIPThrottleRatio   *float64        `json:"bss_ip_throttle_ratio,omitempty"`
	TMSPermissionDenied  *bool           `json:"tms_permission_denied,omitempty"`
	TMSThrottle403Ratio  *float64        `json:"tms_throttle_403_ratio,omitempty"`
	BulkEmptyFilter      *string         `json:"bulk_empty_filter,omitempty"`
	BulkMaxLimit         *int            `json:"bulk_max_limit,omitempty"`
	BulkOmitTotalCount   *bool           `json:"bulk_omit_total_count,omitempty"`
	UnservedTMSTypes     *[]string       `json:"unserved_tms_types,omitempty"`
	TMSDeniedTypes       *[]string       `json:"tms_denied_types,omitempty"`
	TMSProvidersRefused  *bool           `json:"tms_providers_refused,omitempty"`

	MaxRecords                  *int      `json:"max_records,omitempty"`
	LookupMaxRecords            *int      `json:"lookup_max_records,omitempty"`
	LookupNoIDResourceIDs       *[]string `json:"lookup_no_id_resource_ids,omitempty"`
	LookupMalformedResourceIDs  *[]string `json:"lookup_malformed_resource_ids,omitempty"`
	LongFieldResourceIDs        *[]string `json:"long_field_resource_ids,omitempty"`
	OddIDResourceIDs            *[]string `json:"odd_id_resource_ids,omitempty"`
	EmptyPageOffsets            *[]int    `json:"empty_page_offsets,omitempty"`
	EmptyPageTimes              *int      `json:"empty_page_times,omitempty"`
	LookupRefused               *string   `json:"lookup_refused,omitempty"`
	LookupIgnoresIDs            *bool     `json:"lookup_ignores_ids,omitempty"`
	TagsFieldMissingResourceIDs *[]string `json:"tags_field_missing_resource_ids,omitempty"`

	RenewPriceFactor    *float64 `json:"renew_price_factor,omitempty"`
	RenewFailInAnswer   *bool    `json:"renew_fail_in_answer,omitempty"`
	OrderAnswerLost     *int     `json:"order_answer_lost,omitempty"`
	OrderAnswerLostMode *string  `json:"order_answer_lost_mode,omitempty"`
	OrderListLag        *string  `json:"order_list_lag,omitempty"`
	OrderPaymentWindow  *string  `json:"order_payment_window,omitempty"`
}

// MarshalJSON writes the original knobs always (durations as Go duration
// strings) and the newer ones only when set, so that a default document
// stays short.
func (k Knobs) MarshalJSON() ([]byte, error) {
	dur := func(d time.Duration) *string { s := d.String(); return &s }
	ids := k.ForbiddenResourceIDs
	if ids == nil {
		ids = []string{}
	}
	w := knobsJSON{
		Latency: dur(k.Latency), Jitter: dur(k.Jitter), SlowDelay: dur(k.SlowDelay),
		BSSRate: &k.BSSRate, TMSRate: &k.TMSRate,
		ErrorRatio: &k.ErrorRatio, ThrottleRatio: &k.ThrottleRatio, SlowRatio: &k.SlowRatio,
		ForbiddenResourceIDs: &ids,
		ListOrder:            nonZero(k.ListOrder), ListFailCode: nonZero(k.ListFailCode),
		MalformedResourceIDs: nonEmpty(k.MalformedResourceIDs), NoIDResourceIDs: nonEmpty(k.NoIDResourceIDs),
		PartialResourceIDs: nonEmpty(k.PartialResourceIDs), NoProjectResourceIDs: nonEmpty(k.NoProjectResourceIDs),
		WrongSite: nonZero(k.WrongSite), BSSIPThrottleRatio: nonZero(k.BSSIPThrottleRatio),
		TMSPermissionDenied: nonZero(k.TMSPermissionDenied), TMSThrottle403Ratio: nonZero(k.TMSThrottle403Ratio),
		BulkEmptyFilter: nonZero(k.BulkEmptyFilter), BulkMaxLimit: nonZero(k.BulkMaxLimit),
		BulkOmitTotalCount: nonZero(k.BulkOmitTotalCount), UnservedTMSTypes: nonEmpty(k.UnservedTMSTypes),
		TMSDeniedTypes: nonEmpty(k.TMSDeniedTypes), TMSProvidersRefused: nonZero(k.TMSProvidersRefused),
		MaxRecords: nonZero(k.MaxRecords), LookupMaxRecords: nonZero(k.LookupMaxRecords),
		LookupNoIDResourceIDs: nonEmpty(k.LookupNoIDResourceIDs), LookupMalformedResourceIDs: nonEmpty(k.LookupMalformedResourceIDs),
		LongFieldResourceIDs: nonEmpty(k.LongFieldResourceIDs), OddIDResourceIDs: nonEmpty(k.OddIDResourceIDs),
		EmptyPageOffsets: nonEmpty(k.EmptyPageOffsets), EmptyPageTimes: nonZero(k.EmptyPageTimes),
		LookupRefused: nonZero(k.LookupRefused), LookupIgnoresIDs: nonZero(k.LookupIgnoresIDs),
		TagsFieldMissingResourceIDs: nonEmpty(k.TagsFieldMissingResourceIDs),
		RenewPriceFactor:            nonZero(k.RenewPriceFactor), RenewFailInAnswer: nonZero(k.RenewFailInAnswer),
		OrderAnswerLost: nonZero(k.OrderAnswerLost), OrderAnswerLostMode: nonZero(k.OrderAnswerLostMode),
	}
	if k.OrderListLag != 0 {
		w.OrderListLag = dur(k.OrderListLag)
	}
	if k.OrderPaymentWindow != 0 {
		w.OrderPaymentWindow = dur(k.OrderPaymentWindow)
	}
	var err error
	if k.ListFailFromOffset != nil {
		if w.ListFailFromOffset, err = json.Marshal(*k.ListFailFromOffset); err != nil {
			return nil, err
		}
	}
	if k.Churn != nil {
		if w.Churn, err = json.Marshal(k.Churn); err != nil {
			return nil, err
		}
	}
	return json.Marshal(w)
}

func nonZero[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

func nonEmpty[T any](s []T) *[]T {
	if len(s) == 0 {
		return nil
	}
	return &s
}

// UnmarshalJSON updates only the fields present in data, so a partial
// document is a patch of the receiver. Unknown fields are errors, to catch
// typos in demo scripts. It does not range-check; call Validate.
func (k *Knobs) UnmarshalJSON(data []byte) error {
	var w knobsJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return fmt.Errorf("knobs: %w", err)
	}
	out := *k
	if err := w.applyDurations(&out); err != nil {
		return err
	}
	w.applyScalars(&out)
	w.applyRecordKnobs(&out)
	if err := w.applyRaw(&out); err != nil {
		return err
	}
	*k = out
	return nil
}

func (w *knobsJSON) applyDurations(out *Knobs) error {
	for _, d := range []struct {
		name string
		src  *string
		dst  *time.Duration
	}{{"latency", w.Latency, &out.Latency}, {"jitter", w.Jitter, &out.Jitter}, {"slow_delay", w.SlowDelay, &out.SlowDelay},
		{"order_list_lag", w.OrderListLag, &out.OrderListLag}, {"order_payment_window", w.OrderPaymentWindow, &out.OrderPaymentWindow}} {
		if d.src == nil {
			continue
		}
		v, err := time.ParseDuration(*d.src)
		if err != nil {
			return fmt.Errorf("knobs: %s %q is not a Go duration like \"20ms\"", d.name, *d.src)
		}
		*d.dst = v
	}
	return nil
}

func (w *knobsJSON) applyScalars(out *Knobs) {
	patch(&out.BSSRate, w.BSSRate)
	patch(&out.TMSRate, w.TMSRate)
	patch(&out.ErrorRatio, w.ErrorRatio)
	patch(&out.ThrottleRatio, w.ThrottleRatio)
	patch(&out.SlowRatio, w.SlowRatio)
	patch(&out.ForbiddenResourceIDs, w.ForbiddenResourceIDs)
	patch(&out.ListOrder, w.ListOrder)
	patch(&out.ListFailCode, w.ListFailCode)
	patch(&out.MalformedResourceIDs, w.MalformedResourceIDs)
	patch(&out.NoIDResourceIDs, w.NoIDResourceIDs)
	patch(&out.PartialResourceIDs, w.PartialResourceIDs)
	patch(&out.NoProjectResourceIDs, w.NoProjectResourceIDs)
	patch(&out.WrongSite, w.WrongSite)
	patch(&out.BSSIPThrottleRatio, w.BSSIPThrottleRatio)
	patch(&out.TMSPermissionDenied, w.TMSPermissionDenied)
	patch(&out.TMSThrottle403Ratio, w.TMSThrottle403Ratio)
	patch(&out.BulkEmptyFilter, w.BulkEmptyFilter)
	patch(&out.BulkMaxLimit, w.BulkMaxLimit)
	patch(&out.BulkOmitTotalCount, w.BulkOmitTotalCount)
	patch(&out.UnservedTMSTypes, w.UnservedTMSTypes)
	patch(&out.TMSDeniedTypes, w.TMSDeniedTypes)
	patch(&out.TMSProvidersRefused, w.TMSProvidersRefused)
}

// applyRecordKnobs patches the knobs of short answers, lookups by
// resource_ids and odd records.
func (w *knobsJSON) applyRecordKnobs(out *Knobs) {
	patch(&out.MaxRecords, w.MaxRecords)
	patch(&out.LookupMaxRecords, w.LookupMaxRecords)
	patch(&out.LookupNoIDResourceIDs, w.LookupNoIDResourceIDs)
	patch(&out.LookupMalformedResourceIDs, w.LookupMalformedResourceIDs)
	patch(&out.LongFieldResourceIDs, w.LongFieldResourceIDs)
	patch(&out.OddIDResourceIDs, w.OddIDResourceIDs)
	patch(&out.EmptyPageOffsets, w.EmptyPageOffsets)
	patch(&out.EmptyPageTimes, w.EmptyPageTimes)
	patch(&out.LookupRefused, w.LookupRefused)
	patch(&out.LookupIgnoresIDs, w.LookupIgnoresIDs)
	patch(&out.TagsFieldMissingResourceIDs, w.TagsFieldMissingResourceIDs)
	patch(&out.RenewPriceFactor, w.RenewPriceFactor)
	patch(&out.RenewFailInAnswer, w.RenewFailInAnswer)
	patch(&out.OrderAnswerLost, w.OrderAnswerLost)
	patch(&out.OrderAnswerLostMode, w.OrderAnswerLostMode)
}

func patch[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// applyRaw reads the two knobs that null turns off.
func (w *knobsJSON) applyRaw(out *Knobs) error {
	if w.ListFailFromOffset != nil {
		var n *int
		if err := json.Unmarshal(w.ListFailFromOffset, &n); err != nil {
			return fmt.Errorf("knobs: list_fail_from_offset must be an integer offset, or null or -1 to turn it off: %w", err)
		}
		if n != nil && *n == -1 {
			n = nil
		}
		out.ListFailFromOffset = n
	}
	if w.Churn != nil {
		var c *Churn
		dec := json.NewDecoder(bytes.NewReader(w.Churn))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return fmt.Errorf("knobs: churn must be an object {after_requests, begin, end, renew, remove, add[, add_begin, add_end]} or null: %w", err)
		}
		out.Churn = c
	}
	return nil
}
