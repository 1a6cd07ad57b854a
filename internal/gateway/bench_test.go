package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// The benchmarks measure one full request through Handle: a real HTTP
// client, the gateway served by httptest, an httptest upstream replaying a
// fixture, and the usage row written by the batch writer. Allocations
// include both test servers and the client, so compare runs of the same
// benchmark rather than reading the numbers as the gateway's alone.

func benchChat(b *testing.B, up *upstream, body string, wantEvents int) {
	h := newHarness(b, harnessOpts{accounts: []acctSpec{{name: "up", baseURL: up.URL, models: []string{"gpt-4o"}}}})
	req := func() {
		r, err := http.NewRequest(http.MethodPost, h.URL+"/v1/chat/completions", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		r.Header.Set("Authorization", "Bearer "+testGatewayKey)
		resp, err := h.client.Do(r)
		if err != nil {
			b.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("status %d err %v: %s", resp.StatusCode, err, got)
		}
		if wantEvents > 0 && strings.Count(string(got), "\n\n") != wantEvents {
			b.Fatalf("got %d events, want %d", strings.Count(string(got), "\n\n"), wantEvents)
		}
	}
	req() // warm the connection pools
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req()
	}
	b.StopTimer()
	h.shared.Writer.Flush()
}

func BenchmarkChatNonStream(b *testing.B) {
	up := newUpstream(b, jsonReply(200, fixture(b, "openai/chat-completion-text.json")))
	benchChat(b, up, chatBody("gpt-4o", false, false), 0)
}

func BenchmarkChatStream(b *testing.B) {
	content := fixture(b, "openai/chat-stream-text-usage.sse")
	up := newUpstream(b, sseReplay(content, byEvent))
	// The client does not ask for usage: the usage chunk is hidden.
	benchChat(b, up, chatBody("gpt-4o", true, false), len(splitEvents(content))-1)
}
