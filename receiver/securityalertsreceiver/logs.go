package securityalertsreceiver

import (
	"encoding/json"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/metadata"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/ocsf"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// Log attribute names of the public contract.
const (
	attrKind     = "securityalerts.kind"
	attrID       = "securityalerts.id"
	attrSeverity = "securityalerts.severity"
)

// toLogs converts records to log records, one ResourceLogs per tenant. Timestamp is when the
// vendor says it occurred, ObservedTimestamp when we received it; the body is the vendor object,
// or with BodyFormatOCSF the OCSF event built of it (only then is one built).
func toLogs(source string, records []record.Record, rac metadata.ResourceAttributesConfig, body BodyFormat, observed time.Time) plog.Logs {
	logs := plog.NewLogs()
	scopes := map[string]plog.LogRecordSlice{}
	obs := pcommon.NewTimestampFromTime(observed)
	for _, rec := range records {
		lrs, ok := scopes[rec.Tenant]
		if !ok {
			rl := logs.ResourceLogs().AppendEmpty()
			resource(source, rec.Tenant, rac).MoveTo(rl.Resource())
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName(metadata.ScopeName)
			lrs = sl.LogRecords()
			scopes[rec.Tenant] = lrs
		}
		lr := lrs.AppendEmpty()
		fillLogRecord(lr, rec, obs)
		bodyMap := rec.Body
		if body == BodyFormatOCSF {
			bodyMap = ocsf.Event(source, rec, observed)
		}
		putMap(lr.Body().SetEmptyMap(), bodyMap)
	}
	return logs
}

// fillLogRecord sets everything of a log record but its body.
func fillLogRecord(lr plog.LogRecord, rec record.Record, observed pcommon.Timestamp) {
	if !rec.Time.IsZero() {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(rec.Time))
	}
	lr.SetObservedTimestamp(observed)
	lr.SetSeverityNumber(plog.SeverityNumber(rec.Severity.OTelNumber()))
	lr.SetSeverityText(rec.SeverityText)
	attrs := lr.Attributes()
	attrs.EnsureCapacity(3 + len(rec.Attributes))
	attrs.PutStr(attrKind, rec.Kind)
	if rec.ID != "" {
		attrs.PutStr(attrID, rec.ID)
	}
	attrs.PutStr(attrSeverity, string(rec.Severity))
	for k, v := range rec.Attributes {
		putAttribute(attrs, k, v)
	}
}

// putAttribute writes one of a record's normalized attributes: a string, an int64 or a list of
// strings (record.Record.Attributes keeps to those).
func putAttribute(attrs pcommon.Map, key string, v any) {
	switch x := v.(type) {
	case string:
		attrs.PutStr(key, x)
	case int64:
		attrs.PutInt(key, x)
	case []string:
		list := attrs.PutEmptySlice(key)
		list.EnsureCapacity(len(x))
		for _, s := range x {
			list.AppendEmpty().SetStr(s)
		}
	}
}

func resource(source, tenant string, rac metadata.ResourceAttributesConfig) pcommon.Resource {
	rb := metadata.NewResourceBuilder(rac)
	switch source {
	case "usm_anywhere":
		rb.SetSecurityalertsSourceUsmAnywhere()
	case "usm_central":
		rb.SetSecurityalertsSourceUsmCentral()
	case "cisco_gta":
		rb.SetSecurityalertsSourceCiscoGta()
	case "trend_cas":
		rb.SetSecurityalertsSourceTrendCas()
	}
	if tenant != "" {
		rb.SetSecurityalertsTenant(tenant)
	}
	return rb.Emit()
}

// putMap copies decoded JSON into a pcommon.Map: integers stay integers (json.Number), every
// field is kept.
func putMap(dst pcommon.Map, src map[string]any) {
	dst.EnsureCapacity(len(src))
	for k, v := range src {
		putValue(dst.PutEmpty(k), v)
	}
}

func putValue(dst pcommon.Value, v any) {
	switch x := v.(type) {
	case nil:
	case string:
		dst.SetStr(x)
	case int64: // what an OCSF event's integers are
		dst.SetInt(x)
	case bool:
		dst.SetBool(x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			dst.SetInt(i)
		} else if f, err := x.Float64(); err == nil {
			dst.SetDouble(f)
		} else {
			dst.SetStr(x.String())
		}
	case float64:
		dst.SetDouble(x)
	case map[string]any:
		putMap(dst.SetEmptyMap(), x)
	case []any:
		s := dst.SetEmptySlice()
		s.EnsureCapacity(len(x))
		for _, item := range x {
			putValue(s.AppendEmpty(), item)
		}
	default:
		_ = dst.FromRaw(x)
	}
}
