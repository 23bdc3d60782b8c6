package record

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSettersKeepTheAttributeInvariant(t *testing.T) {
	var r Record
	r.SetString("a", "")
	r.AddStrings("l")
	r.AddStrings("l", "", "")
	assert.Nil(t, r.Attributes, "empty values make no attribute (and no map)")

	r.SetString("a", "x")
	r.SetInt("n", 443)
	r.AddStrings("l", "b", "a", "b")
	r.AddStrings("l", "a", "c")
	assert.Equal(t, map[string]any{"a": "x", "n": int64(443), "l": []string{"b", "a", "c"}}, r.Attributes)
	assert.Equal(t, "x", r.Str("a"))
	assert.Empty(t, r.Str("l"), "a list is no string")
	assert.Equal(t, []string{"x"}, r.List("a"))
	n, ok := r.Number("n")
	assert.True(t, ok)
	assert.EqualValues(t, 443, n)
}

func TestFileHashIsNamedByItsLength(t *testing.T) {
	var r Record
	r.SetFileHash("D41D8CD98F00B204E9800998ECF8427E")
	r.SetFileHash("3395856ce81f2b7382dee72602f798b642f14140")
	r.SetFileHash("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	r.SetFileHash("not a digest at all, but forty chars!!!!")
	r.SetFileHash("abc")
	assert.Equal(t, map[string]any{
		AttrFileHashMD5:    "d41d8cd98f00b204e9800998ecf8427e",
		AttrFileHashSHA1:   "3395856ce81f2b7382dee72602f798b642f14140",
		AttrFileHashSHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	}, r.Attributes)
}

func TestURLFullOnlyWhenAbsolute(t *testing.T) {
	var full, path Record
	full.SetURL("https://evil.example/payload.exe?x=1")
	path.SetURL("/wp-login.php")
	assert.Equal(t, map[string]any{AttrURLFull: "https://evil.example/payload.exe?x=1"}, full.Attributes)
	assert.Equal(t, map[string]any{AttrURLOriginal: "/wp-login.php"}, path.Attributes)
}

func TestAttackTechniqueTacticsAndSubtechnique(t *testing.T) {
	var r Record
	r.SetAttack("T1046", "Network Service Scanning", []string{"Discovery", "Something Else"})
	assert.Equal(t, map[string]any{
		AttrThreatFramework: "MITRE ATT&CK",
		AttrTechniqueID:     []string{"T1046"},
		AttrTechniqueName:   []string{"Network Service Scanning"},
		AttrTacticName:      []string{"Discovery", "Something Else"},
		AttrTacticID:        []string{"TA0007"},
	}, r.Attributes, "a tactic whose id is not known keeps its name")

	var sub Record
	sub.SetAttack("T1059.001", "Command and Scripting Interpreter: PowerShell", []string{"execution"})
	assert.Equal(t, []string{"T1059"}, sub.List(AttrTechniqueID))
	assert.Equal(t, []string{"Command and Scripting Interpreter"}, sub.List(AttrTechniqueName))
	assert.Equal(t, []string{"T1059.001"}, sub.List(AttrSubtechniqueID))
	assert.Equal(t, []string{"PowerShell"}, sub.List(AttrSubtechniqueName))
	assert.Equal(t, []string{"TA0002"}, sub.List(AttrTacticID))

	var none Record
	none.SetAttack("", "", nil)
	assert.Nil(t, none.Attributes, "no ATT&CK data, no framework")
}

func TestStatusFromTheVendorTable(t *testing.T) {
	table := map[string]Status{"open": StatusNew, "in review": StatusInProgress}
	var r, unknown Record
	r.SetStatus(" In Review ", table)
	unknown.SetStatus("escalated", table)
	assert.Equal(t, "in_progress", r.Str(AttrStatus))
	assert.Nil(t, unknown.Attributes, "a status the table does not know is left out, not guessed")
}

func TestEmailAddressOutOfHeaderForms(t *testing.T) {
	for in, want := range map[string]string{
		`"username2"< username2@example2.onmicrosoft.com >`: "username2@example2.onmicrosoft.com",
		"<billing@vendor.example>":                          "billing@vendor.example",
		" carol@example.com ":                               "carol@example.com",
		`"Alice" <alice@example.com>`:                       "alice@example.com",
		"Mail Body":                                         "",
		"":                                                  "",
	} {
		assert.Equal(t, want, EmailAddress(in), "%q", in)
	}
}

func TestStringsReadsListsAndSingles(t *testing.T) {
	m := map[string]any{"list": []any{"a", json.Number("7"), nil, map[string]any{}, " "}, "one": "b", "empty": []any{}}
	assert.Equal(t, []string{"a", "7"}, Strings(m, "list"))
	assert.Equal(t, []string{"b"}, Strings(m, "empty", "one"), "an empty list is no value")
	assert.Nil(t, Strings(m, "missing"))
}
