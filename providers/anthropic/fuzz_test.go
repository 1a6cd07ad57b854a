package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
	"github.com/llmgate/llmgate/providers/sse"
)

// decodeAll runs raw stream bytes through the SSE reader and the decoder,
// checking the output invariants; it is the fuzz target's body.
func decodeAll(t *testing.T, raw []byte) {
	r := sse.NewReader(bytes.NewReader(raw))
	d := newDecoder(" ", 1)
	finishes := 0
	for {
		e, err := r.Next()
		if err != nil {
			return
		}
		if e.Comment || e.Data == nil {
			continue
		}
		evs, herr := d.handle(e.Name, e.Data)
		for _, ev := range evs {
			switch {
			case ev.Malformed:
			case ev.Done:
				if !bytes.Equal(ev.Data, doneData) {
					t.Fatalf("done event %q", ev.Data)
				}
			default:
				if !json.Valid(ev.Data) {
					t.Fatalf("invalid chunk %q", ev.Data)
				}
				if ev.Finish {
					finishes++
				}
			}
		}
		if finishes > 1 {
			t.Fatal("more than one finish chunk")
		}
		if herr != nil {
			if !errors.Is(herr, providers.ErrStreamBroken) {
				t.Fatalf("error %v is not ErrStreamBroken", herr)
			}
			return
		}
		if d.done {
			return
		}
	}
}

func FuzzStreamDecoder(f *testing.F) {
	files, _ := filepath.Glob(providertest.FixturePath("anthropic", "*.sse"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(events("message_start", evStart, "content_block_delta", evDeltaA, "message_stop", evMStop))
	f.Fuzz(func(t *testing.T, raw []byte) {
		decodeAll(t, raw)
	})
}
