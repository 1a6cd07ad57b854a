package mock

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitTokens(t *testing.T) {
	cases := map[string][]string{
		"":                           nil,
		"I'm unable to get weather.": {"I'm", " unable", " to", " get", " weather", "."},
		"San Francisco, I recommend": {"San", " Francisco", ",", " I", " recommend"},
		`{"city":"example"}`:         {`{"`, "city", `":"`, "example", `"}`},
		"  lead and trail  ":         {"  lead", " and", " trail  "},
		"   ":                        {"   "},
		"héllo wörld!!":              {"héllo", " wörld", "!!"},
		"line\n\nbreak":              {"line", "\n\nbreak"},
	}
	for in, want := range cases {
		got := splitTokens(in)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("splitTokens(%q) = %q, want %q", in, got, want)
		}
		if strings.Join(got, "") != in {
			t.Errorf("splitTokens(%q) loses text", in)
		}
	}
}
