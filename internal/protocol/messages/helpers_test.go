package messages

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/internal/fixtures"
)

// fixturesDir is ../shared/fixtures beside the repository (or $LLMGATE_FIXTURES).
var fixturesDir = fixtures.MustDir()

func fixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixturesDir, rel))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return b
}

// requestFixture is the body of a *.request.json fixture.
func requestFixture(t testing.TB, rel string) []byte {
	t.Helper()
	return []byte(gjson.GetBytes(fixture(t, rel), "body").Raw)
}

// sseEvent is one Anthropic event as a client parses it.
type sseEvent struct {
	Name string
	Data gjson.Result
}

// parseEvents parses an Anthropic event stream the way the SDKs do
// (frames split on blank lines, event: and data: fields), failing on
// anything they would reject: a frame without event or data, data that
// is not JSON, or a data type differing from the event name.
func parseEvents(t testing.TB, b []byte) []sseEvent {
	t.Helper()
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	var out []sseEvent
	for _, f := range strings.Split(string(b), "\n\n") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		var name, data string
		for _, line := range strings.Split(f, "\n") {
			switch {
			case strings.HasPrefix(line, "event: "):
				name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				data = line[len("data: "):]
			default:
				t.Fatalf("unexpected line %q in frame %q", line, f)
			}
		}
		if name == "" || !gjson.Valid(data) {
			t.Fatalf("bad frame %q", f)
		}
		d := gjson.Parse(data)
		if d.Get("type").Str != name {
			t.Fatalf("event %q carries data of type %q", name, d.Get("type").Str)
		}
		out = append(out, sseEvent{name, d})
	}
	return out
}

// withoutPings drops ping events, which may appear anywhere.
func withoutPings(evs []sseEvent) []sseEvent {
	var out []sseEvent
	for _, e := range evs {
		if e.Name != "ping" {
			out = append(out, e)
		}
	}
	return out
}

// signature names an event with the subtype that decides its shape.
func signature(e sseEvent) string {
	switch e.Name {
	case "content_block_start":
		return e.Name + "/" + e.Data.Get("content_block.type").Str
	case "content_block_delta":
		return e.Name + "/" + e.Data.Get("delta.type").Str
	}
	return e.Name
}

func signatures(evs []sseEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = signature(e)
	}
	return out
}

// collapse merges runs of the same signature (the number of deltas
// depends on how the upstream chunked its text).
func collapse(sigs []string) []string {
	var out []string
	for _, s := range sigs {
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	return out
}

// optionalKeys are fields Anthropic sends that this gateway does not
// produce and that no client needs: newer additions (stop_details,
// caller, inference_geo), and details of Anthropic's own cache tiers and
// service.
var optionalKeys = map[string]bool{
	"stop_details": true, "caller": true, "cache_creation": true, "service_tier": true,
	"inference_geo": true, "server_tool_use": true, "container": true,
	// request_id: ErrorBody has no id to give; the gateway sends its
	// request id in a header, where the SDKs also look.
	"request_id": true,
}

// opaqueKeys hold values whose keys are the tool's, not the protocol's.
var opaqueKeys = map[string]bool{"input": true}

// assertShape checks that got has the keys of want (recursively, up to
// optionalKeys) and no others (up to the llmgate extension), with values
// of the same JSON kinds.
func assertShape(t testing.TB, where string, got, want gjson.Result) {
	t.Helper()
	if kind(got) != kind(want) {
		t.Errorf("%s: got a %s, the recording has a %s (%s vs %s)", where, kind(got), kind(want), got.Raw, want.Raw)
		return
	}
	switch {
	case got.IsObject():
		gk, wk := keys(got), keys(want)
		for k := range gk {
			if !wk[k] && k != "llmgate" {
				t.Errorf("%s: unexpected key %q", where, k)
			}
		}
		for k := range wk {
			if !gk[k] && !optionalKeys[k] {
				t.Errorf("%s: missing key %q", where, k)
			}
			if gk[k] && !opaqueKeys[k] {
				assertShape(t, where+"."+k, got.Get(gjson.Escape(k)), want.Get(gjson.Escape(k)))
			}
		}
	case got.IsArray():
		// Content arrays are checked block by block by the callers.
	}
}

func kind(r gjson.Result) string {
	switch r.Type {
	case gjson.True, gjson.False:
		return "bool"
	case gjson.JSON:
		if r.IsArray() {
			return "array"
		}
		return "object"
	}
	return r.Type.String()
}

func keys(r gjson.Result) map[string]bool {
	m := map[string]bool{}
	r.ForEach(func(k, _ gjson.Result) bool { m[k.Str] = true; return true })
	return m
}

func sortedKeys(r gjson.Result) []string {
	var out []string
	for k := range keys(r) {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// mustJSON compacts a JSON literal for comparisons.
func mustJSON(t testing.TB, s string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		t.Fatalf("bad JSON %q: %v", s, err)
	}
	return buf.String()
}

// sameJSON reports whether two JSON texts are equal as values.
func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
