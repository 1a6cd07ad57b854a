package mock

import (
	"testing"

	"github.com/tidwall/gjson"
)

func TestSampleObject(t *testing.T) {
	cases := map[string]struct{ schema, want string }{
		"scalars":        {`{"properties":{"s":{"type":"string"},"n":{"type":"number"},"i":{"type":"integer"},"b":{"type":"boolean"}},"required":["s","n","i","b"]}`, `{"s":"example","n":42,"i":42,"b":true}`},
		"optional only":  {`{"properties":{"s":{"type":"string"}}}`, `{}`},
		"enum and const": {`{"properties":{"e":{"enum":["x","y"]},"c":{"const":7}},"required":["e","c"]}`, `{"e":"x","c":7}`},
		"nullable":       {`{"properties":{"s":{"type":["null","string"]},"z":{"type":"null"}},"required":["s","z"]}`, `{"s":"example","z":null}`},
		"nested":         {`{"properties":{"o":{"type":"object","properties":{"k":{"type":"integer"}},"required":["k"]},"a":{"type":"array"}},"required":["o","a"]}`, `{"o":{"k":42},"a":[]}`},
		"anyOf":          {`{"properties":{"u":{"anyOf":[{"type":"boolean"},{"type":"string"}]}},"required":["u"]}`, `{"u":true}`},
		"dotted name":    {`{"properties":{"a.b":{"type":"integer"}},"required":["a.b"]}`, `{"a.b":42}`},
		"no schema":      {``, `{}`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := string(sampleObject(gjson.Parse(tc.schema), 0)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
