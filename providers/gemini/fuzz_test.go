package gemini

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
	"github.com/llmgate/llmgate/providers/sse"
)

// FuzzStreamDecoder feeds arbitrary bytes through the SSE reader and the
// decoder: it must never panic, every chunk it emits must be valid JSON,
// and a stream it accepts as complete must end with usage and [DONE].
// The recorded streams are the seed corpus.
func FuzzStreamDecoder(f *testing.F) {
	seeds, _ := filepath.Glob(providertest.FixturePath("gemini", "*.sse"))
	if len(seeds) == 0 {
		f.Fatal("no seed streams")
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(sseBody(`{"promptFeedback":{"blockReason":"SAFETY"}}`))
	f.Add(sseBody(`{"candidates":[{"content":{"parts":[{"text":"t","thought":true},{"functionCall":{"name":"f","args":{"a":[1]}}}]},"index":2,"finishReason":"STOP"}]}`))
	f.Add(sseBody(`{"error":{"message":"boom"}}`))
	f.Add([]byte("data: {\"candidates\":[{\"index\":-1}]}\n\ndata: {\"candidates\":\r\r"))
	f.Fuzz(func(t *testing.T, in []byte) {
		d := newDecoder("gemini-2.5-flash", fixedNow)
		r := sse.NewReader(bytes.NewReader(in))
		checkEvents := func(evs []providers.Event) {
			for _, ev := range evs {
				if ev.Malformed || ev.Done {
					continue
				}
				if !gjson.ValidBytes(ev.Data) || gjson.GetBytes(ev.Data, "object").String() != "chat.completion.chunk" {
					t.Fatalf("emitted %q", ev.Data)
				}
			}
		}
		for n := 0; ; n++ {
			if n > len(in)+2 {
				t.Fatalf("reader yields more events than input bytes: %q", in)
			}
			e, err := r.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, sse.ErrEventTooLarge) {
					t.Fatalf("reader: %v", err)
				}
				evs, err := d.end()
				if err != nil {
					if !errors.Is(err, providers.ErrStreamBroken) {
						t.Fatalf("end: %v", err)
					}
					return
				}
				checkEvents(evs)
				if len(evs) != 2 || !evs[0].UsageOnly || evs[0].Usage == nil || !evs[1].Done {
					t.Fatalf("complete stream ended with %+v", evs)
				}
				return
			}
			if e.Comment || e.Data == nil {
				continue
			}
			evs, err := d.feed(e.Data)
			if err != nil {
				if !errors.Is(err, providers.ErrStreamBroken) {
					t.Fatalf("feed: %v", err)
				}
				return
			}
			checkEvents(evs)
		}
	})
}
