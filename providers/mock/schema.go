package mock

import (
	"github.com/tidwall/gjson"
)

// maxSchemaDepth bounds recursion through nested object schemas so a
// self-referencing or absurdly deep schema cannot blow the stack.
const maxSchemaDepth = 8

// sampleObject renders a JSON object with one property per required
// property of schema, in the schema's order, filled with fixed sample
// values. Clients parsing the arguments of a mock tool call (or a
// json_schema answer) then get something their schema accepts.
func sampleObject(schema gjson.Result, depth int) []byte {
	out := []byte{'{'}
	if depth < maxSchemaDepth {
		props := schema.Get("properties")
		for i, name := range schema.Get("required").Array() {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, mustJSON(name.String())...)
			out = append(out, ':')
			out = append(out, sampleValue(props.Get(gjson.Escape(name.String())), depth+1)...)
		}
	}
	return append(out, '}')
}

// sampleValue renders the sample for one property schema: an enum's or
// const's first value when given, else "example", 42, true, [] or an
// object of its own required properties by type.
func sampleValue(s gjson.Result, depth int) []byte {
	if c := s.Get("const"); c.Exists() {
		return []byte(c.Raw)
	}
	if e := s.Get("enum.0"); e.Exists() {
		return []byte(e.Raw)
	}
	for _, key := range []string{"anyOf.0", "oneOf.0", "allOf.0"} {
		if alt := s.Get(key); alt.Exists() {
			return sampleValue(alt, depth)
		}
	}
	switch schemaType(s) {
	case "number", "integer":
		return []byte("42")
	case "boolean":
		return []byte("true")
	case "array":
		return []byte("[]")
	case "object":
		return sampleObject(s, depth)
	case "null":
		return []byte("null")
	default:
		return []byte(`"example"`)
	}
}

// schemaType returns the schema's type, taking the first non-null member of
// a type list (["string","null"] is how strict mode spells optional) and
// inferring object or array from their keywords when type is missing.
func schemaType(s gjson.Result) string {
	t := s.Get("type")
	if t.IsArray() {
		for _, m := range t.Array() {
			if m.String() != "null" {
				return m.String()
			}
		}
		return "null"
	}
	if t.Exists() {
		return t.String()
	}
	switch {
	case s.Get("properties").Exists():
		return "object"
	case s.Get("items").Exists():
		return "array"
	}
	return "string"
}
