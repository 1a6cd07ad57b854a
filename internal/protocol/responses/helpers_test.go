package responses

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fixtures"
	"github.com/tidwall/gjson"
)

var fixtureDir = fixtures.MustDir()

// fixture reads a file under fixtures/openai.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, "openai", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureRequest returns the body of a *.request.json fixture.
func fixtureRequest(t *testing.T, name string) []byte {
	return []byte(gjson.GetBytes(fixture(t, name), "body").Raw)
}

// event is one parsed SSE event of a Responses stream.
type event struct {
	name string
	data gjson.Result
}

// parseEvents splits a Responses SSE body into events, failing the test on
// malformed framing. Comment frames are returned with name ":".
func parseEvents(t *testing.T, body []byte) []event {
	t.Helper()
	var out []event
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	for _, frame := range strings.Split(strings.TrimSpace(string(body)), "\n\n") {
		if strings.HasPrefix(frame, ":") {
			out = append(out, event{name: ":"})
			continue
		}
		name, data, ok := strings.Cut(frame, "\n")
		if !ok || !strings.HasPrefix(name, "event: ") || !strings.HasPrefix(data, "data: ") {
			t.Fatalf("malformed frame %q", frame)
		}
		data = strings.TrimPrefix(data, "data: ")
		if !gjson.Valid(data) {
			t.Fatalf("invalid JSON in frame %q", frame)
		}
		out = append(out, event{name: strings.TrimPrefix(name, "event: "), data: gjson.Parse(data)})
	}
	return out
}

// names returns the event names, with each run of one delta event type
// collapsed into one entry: the number of deltas depends on the upstream's
// tokenisation, not on the translation.
func names(evs []event) []string {
	var out []string
	for _, e := range evs {
		if strings.HasSuffix(e.name, ".delta") && len(out) > 0 && out[len(out)-1] == e.name {
			continue
		}
		out = append(out, e.name)
	}
	return out
}

// keys returns the object's keys.
func keys(r gjson.Result) map[string]bool {
	m := map[string]bool{}
	r.ForEach(func(k, _ gjson.Result) bool {
		m[k.Str] = true
		return true
	})
	return m
}

// missingKeys lists the keys of want that got lacks.
func missingKeys(got, want gjson.Result) []string {
	g := keys(got)
	var miss []string
	want.ForEach(func(k, _ gjson.Result) bool {
		if !g[k.Str] {
			miss = append(miss, k.Str)
		}
		return true
	})
	return miss
}

var idRE = regexp.MustCompile(`\b(msg|fc|rs|call)_[0-9a-f]{48}\b`)

// normalizeIDs replaces generated ids, so two runs can be compared.
func normalizeIDs(b []byte) string { return idRE.ReplaceAllString(string(b), "${1}_X") }

// jsonEqual compares two JSON documents semantically.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want invalid JSON: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		var gi, wi bytes.Buffer
		_ = json.Indent(&gi, got, "", " ")
		_ = json.Indent(&wi, []byte(want), "", " ")
		t.Errorf("JSON differs\n got: %s\nwant: %s", gi.String(), wi.String())
	}
}
