package sse

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func collect(t *testing.T, in string) []Event {
	t.Helper()
	r := NewReader(strings.NewReader(in))
	var out []Event
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Event{Raw: []byte(string(ev.Raw)), Name: []byte(string(ev.Name)), Data: []byte(string(ev.Data)), Comment: ev.Comment})
	}
}

func TestReader(t *testing.T) {
	cases := []struct {
		name, in    string
		data, name2 []string
		raws        []string
	}{
		{name: "lf", in: "data: {\"a\":1}\n\ndata: [DONE]\n\n", data: []string{`{"a":1}`, "[DONE]"}, raws: []string{"data: {\"a\":1}\n\n", "data: [DONE]\n\n"}},
		{name: "crlf gemini", in: "data: {\"a\":1}\r\n\r\ndata: {\"b\":2}\r\n\r\n", data: []string{`{"a":1}`, `{"b":2}`}, raws: []string{"data: {\"a\":1}\r\n\r\n", "data: {\"b\":2}\r\n\r\n"}},
		{name: "lone cr", in: "data: x\r\rdata: y\r\r", data: []string{"x", "y"}},
		{name: "event names and padding", in: "event: message_start\ndata: {\"type\":\"message_start\"}   \n\n", data: []string{`{"type":"message_start"}   `}, name2: []string{"message_start"}},
		{name: "multi-line data", in: "data: a\ndata: b\n\n", data: []string{"a\nb"}},
		{name: "no space after colon", in: "data:{}\n\n", data: []string{"{}"}},
		{name: "missing final blank line", in: "data: {}\n\ndata: last", data: []string{"{}", "last"}},
		{name: "comments", in: ": OPENROUTER PROCESSING\n\ndata: {}\n\n", data: []string{"", "{}"}, raws: []string{": OPENROUTER PROCESSING\n\n", "data: {}\n\n"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs := collect(t, c.in)
			if len(evs) != len(c.data) {
				t.Fatalf("got %d events, want %d: %v", len(evs), len(c.data), evs)
			}
			for i, ev := range evs {
				if string(ev.Data) != c.data[i] {
					t.Errorf("event %d data %q, want %q", i, ev.Data, c.data[i])
				}
				if c.raws != nil && string(ev.Raw) != c.raws[i] {
					t.Errorf("event %d raw %q, want %q", i, ev.Raw, c.raws[i])
				}
				if c.name2 != nil && string(ev.Name) != c.name2[i] {
					t.Errorf("event %d name %q, want %q", i, ev.Name, c.name2[i])
				}
			}
			if c.name == "comments" && !evs[0].Comment {
				t.Error("comment event not flagged")
			}
		})
	}
}

// Concatenated raw bytes reproduce the input exactly: passthrough is lossless.
func TestRawIsLossless(t *testing.T) {
	in := ": ping\n\nevent: x\ndata: 1\n\ndata: 2\r\n\r\ndata: [DONE]\n\n"
	var got strings.Builder
	for _, ev := range collect(t, in) {
		got.Write(ev.Raw)
	}
	if got.String() != in {
		t.Fatalf("raw %q != input %q", got.String(), in)
	}
}

func FuzzReader(f *testing.F) {
	f.Add("data: {}\n\n")
	f.Add("event: a\r\ndata: b\r\n\r\n: c\r\r")
	f.Fuzz(func(t *testing.T, in string) {
		r := NewReader(strings.NewReader(in))
		for i := 0; i < 10000; i++ {
			if _, err := r.Next(); err != nil {
				return
			}
		}
	})
}
