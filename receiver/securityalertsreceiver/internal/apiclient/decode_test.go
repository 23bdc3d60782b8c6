package apiclient

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeJSONKeepsNumbersExact(t *testing.T) {
	var v map[string]any
	require.NoError(t, DecodeJSON("https://h.test/x", []byte(`{"id":12345678901234567890,"t":1517932134000}`), &v))
	assert.Equal(t, json.Number("12345678901234567890"), v["id"])
	assert.Equal(t, json.Number("1517932134000"), v["t"])
}

func TestDecodeJSONMalformed(t *testing.T) {
	long := `{"_embedded":{"alarms":[` + strings.Repeat(`{"uuid":"x"},`, 20) + `oops`
	for _, tc := range []struct {
		name     string
		body     string
		wantHead string
	}{
		{"html error page", "<html>gateway</html>", "<html>gateway</html>"},
		{"truncated", `{"_embedded":`, `{"_embedded":`},
		{"empty", "", ""},
		{"long body: head is capped", long, long[:64]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v map[string]any
			err := DecodeJSON("https://h.test/api/2.0/alarms?page=3&api_key=s3cr3t", []byte(tc.body), &v)
			var me *MalformedError
			require.ErrorAs(t, err, &me)
			assert.Equal(t, "https://h.test/api/2.0/alarms", me.URL, "URL named without its query")
			assert.Equal(t, len(tc.body), me.Size)
			assert.Equal(t, tc.wantHead, me.Head)
			assert.NotNil(t, me.Reason)
			assert.Contains(t, err.Error(), "https://h.test/api/2.0/alarms")
			assert.NotContains(t, err.Error(), "s3cr3t")
			assert.False(t, IsPermanent(err), "a malformed page is retried")
		})
	}
}

func TestDecodeJSONUnparsableURLIsKept(t *testing.T) {
	err := DecodeJSON("::not a url", []byte("x"), &struct{}{})
	var me *MalformedError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, "::not a url", me.URL)
}

// FuzzParseJSON holds parseJSON to encoding/json: the same documents refused, the
// same values for the others.
func FuzzParseJSON(f *testing.F) {
	for _, seed := range []string{
		`{"a":[1,-2.5e+3,"x",true,false,null,{}],"b":{"c":[]}}`, `"caf\u00e9"`, "\"caf\xc3\xa9\"", "\"\xff\"",
		`"\ud800"`, `{"a":1}x`, `{"a":1} `, `[1,]`, `{"a" 1}`, `01`, `-`, `1.`, `1e`, `[tru]`, "\"a\x01\"",
		`{"k":"v","k":"w"}`, `{"\u006b":1}`, `nul`, ` `, `[[[[]]]]`, `1.5E-07`, `-0`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseJSON(data)
		var want any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		valid := json.Valid(data)
		if valid {
			require.NoError(t, dec.Decode(&want))
		}
		if !valid {
			require.Error(t, err, "encoding/json refuses %q", data)
			return
		}
		require.NoError(t, err, "encoding/json accepts %q", data)
		require.Equal(t, want, got)
	})
}

func TestDecodeJSONTargets(t *testing.T) {
	var m map[string]any
	require.NoError(t, DecodeJSON("u", []byte(` {"a":[1,{"b":null}]} `), &m))
	assert.Equal(t, map[string]any{"a": []any{json.Number("1"), map[string]any{"b": nil}}}, m)
	var l []any
	require.NoError(t, DecodeJSON("u", []byte(`[]`), &l))
	assert.NotNil(t, l, "an empty list is a list, as encoding/json makes it")
	var n map[string]any
	require.NoError(t, DecodeJSON("u", []byte(`null`), &n))
	assert.Nil(t, n)
	var a any
	require.NoError(t, DecodeJSON("u", []byte(`"x"`), &a))
	assert.Equal(t, "x", a)
	var s struct {
		N json.Number `json:"n"`
	}
	require.NoError(t, DecodeJSON("u", []byte(`{"n":12345678901234567890}`), &s))
	assert.Equal(t, json.Number("12345678901234567890"), s.N)

	for _, bad := range []struct {
		body string
		v    any
	}{
		{`[1]`, new(map[string]any)}, {`{}`, new([]any)}, {`{"a":1}{"a":2}`, new(map[string]any)},
		{`{"n":1} x`, &s}, {`{"a":1`, new(any)},
	} {
		var me *MalformedError
		assert.ErrorAs(t, DecodeJSON("u", []byte(bad.body), bad.v), &me, "%s into %T", bad.body, bad.v)
	}
}

func TestObject(t *testing.T) {
	m, err := Object(map[string]any{"a": "b"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"a": "b"}, m)
	m, err = Object(nil)
	require.NoError(t, err, "null is an empty answer")
	assert.Nil(t, m)
	_, err = Object([]any{})
	assert.ErrorContains(t, err, "the answer is a JSON array, not an object")
}

func TestField(t *testing.T) {
	m := map[string]any{"s": "x", "n": json.Number("1"), "null": nil, "list": []any{}}
	s, err := Field[string](m, "s")
	require.NoError(t, err)
	assert.Equal(t, "x", s)
	for _, key := range []string{"null", "absent"} {
		v, err := Field[map[string]any](m, key)
		require.NoError(t, err, key)
		assert.Nil(t, v, "%s is the zero value", key)
	}
	_, err = Field[string](m, "n")
	assert.ErrorContains(t, err, "n: want string, found a JSON number")
	_, err = Field[map[string]any](m, "list")
	assert.ErrorContains(t, err, "list: want map[string]interface {}, found a JSON array")

	err = DecodeDocument("https://h.test/x?k=s3cr3t", []byte(`{"a":[1]}`), func(doc any) error {
		_, err := Field[string](doc.(map[string]any), "a")
		return err
	})
	var me *MalformedError
	require.ErrorAs(t, err, &me, "a document of the wrong shape is malformed")
	assert.Equal(t, "https://h.test/x", me.URL)
}
