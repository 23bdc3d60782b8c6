package ocsf

import (
	"net/netip"
	"path"
	"regexp"
	"strings"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// fillNetworkActivity: the endpoints, the transport, the bytes each way, the URL and the actor.
func fillNetworkActivity(e map[string]any, rec record.Record) {
	putObject(e, "src_endpoint", endpoint(rec, record.AttrSourceAddress, record.AttrSourcePort))
	putObject(e, "dst_endpoint", endpoint(rec, record.AttrDestinationAddress, record.AttrDestinationPort))
	if transport := rec.Str(record.AttrNetworkTransport); transport != "" {
		e["connection_info"] = map[string]any{"protocol_name": transport, "direction_id": int64(0)} // direction not known
	}
	traffic := map[string]any{}
	if n, ok := rec.Number(record.AttrSourceBytes); ok {
		traffic["bytes_out"] = n
	}
	if n, ok := rec.Number(record.AttrDestinationBytes); ok {
		traffic["bytes_in"] = n
	}
	putObject(e, "traffic", traffic)
	putObject(e, "url", urlObject(rec))
	fillActor(e, rec)
}

func fillActor(e map[string]any, rec record.Record) {
	putObject(e, "actor", actor(rec))
	putObject(e, "device", device(rec))
}

func actor(rec record.Record) map[string]any {
	if u := user(rec.Str(record.AttrUserName)); u != nil {
		return map[string]any{"user": u}
	}
	return nil
}

func user(name string) map[string]any {
	if name == "" {
		return nil
	}
	return map[string]any{"name": name}
}

// endpoint is an address (an IP, else a host name) and its port. A port alone is no endpoint.
func endpoint(rec record.Record, addressKey, portKey string) map[string]any {
	address := rec.Str(addressKey)
	if address == "" {
		return nil
	}
	ep := map[string]any{}
	if _, err := netip.ParseAddr(address); err == nil {
		ep["ip"] = address
	} else {
		ep["hostname"] = address
	}
	if port, ok := rec.Number(portKey); ok && port >= 0 && port <= 65535 {
		ep["port"] = port
	}
	return ep
}

// device is the affected host, of a type (0, Unknown) the vendors do not say.
func device(rec record.Record) map[string]any {
	return identified(0, "hostname", rec.Str(record.AttrHostName), rec.Str(record.AttrHostID))
}

// identified is an object of the given type_id named at nameKey and identified by uid; nil
// without either, which OCSF's objects require one of.
func identified(typeID int64, nameKey, name, uid string) map[string]any {
	if name == "" && uid == "" {
		return nil
	}
	obj := map[string]any{"type_id": typeID}
	putString(obj, nameKey, name)
	putString(obj, "uid", uid)
	return obj
}

// hashAlgorithms are OCSF's fingerprint algorithm ids of the file.hash.* attributes.
var hashAlgorithms = []struct {
	attr string
	id   int64
	name string
}{
	{record.AttrFileHashMD5, 1, "MD5"}, {record.AttrFileHashSHA1, 2, "SHA-1"},
	{record.AttrFileHashSHA256, 3, "SHA-256"}, {record.AttrFileHashSHA512, 4, "SHA-512"},
}

// file is the file named (OCSF requires a name: a path gives its own), a regular file.
func file(rec record.Record) map[string]any {
	name, filePath := rec.Str(record.AttrFileName), rec.Str(record.AttrFilePath)
	if name == "" && filePath != "" {
		name = path.Base(strings.ReplaceAll(filePath, `\`, "/"))
	}
	if name == "" {
		return nil
	}
	f := map[string]any{"name": name, "type_id": int64(1), "type": "Regular File"}
	putString(f, "path", filePath)
	putString(f, "parent_folder", rec.Str(record.AttrFileDirectory))
	var hashes []any
	for _, h := range hashAlgorithms {
		if v := rec.Str(h.attr); v != "" {
			hashes = append(hashes, map[string]any{"algorithm_id": h.id, "algorithm": h.name, "value": v})
		}
	}
	if len(hashes) > 0 {
		f["hashes"] = hashes
	}
	return f
}

func urlObject(rec record.Record) map[string]any {
	if u := rec.Str(record.AttrURLFull); u != "" {
		return map[string]any{"url_string": u}
	}
	if u := rec.Str(record.AttrURLOriginal); u != "" {
		return map[string]any{"url_string": u}
	}
	return nil
}

// emailAddress is OCSF's email_t pattern: an address that does not match it stays in unmapped.
var emailAddress = regexp.MustCompile("^[a-zA-Z0-9!#$%&'*+-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\\.[a-zA-Z0-9-.]+$")

// email is the message a detection is about: OCSF has one sender, the first.
func email(rec record.Record) map[string]any {
	m := map[string]any{}
	for _, from := range rec.List(record.AttrEmailFrom) {
		if emailAddress.MatchString(from) {
			m["from"] = from
			break
		}
	}
	var to []any
	for _, addr := range rec.List(record.AttrEmailTo) {
		if emailAddress.MatchString(addr) {
			to = append(to, addr)
		}
	}
	if len(to) > 0 {
		m["to"] = to
	}
	if len(m) == 0 { // OCSF wants a sender or a recipient
		return nil
	}
	putString(m, "subject", rec.Str(record.AttrEmailSubject))
	putString(m, "message_uid", rec.Str(record.AttrEmailMessageID))
	return m
}
