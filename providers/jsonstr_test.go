package providers

import (
	"encoding/json"
	"testing"
)

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `quo"te\back`, "tab\tnl\n\x01", "héllo ✓", "bad \xff utf8"} {
		b := AppendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q → %s: not JSON: %v", s, b, err)
		}
		if s != "bad \xff utf8" && got != s {
			t.Errorf("%q round-tripped as %q", s, got)
		}
	}
}
