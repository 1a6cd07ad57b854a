package providertest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Replay must deliver the content unchanged however it cuts it, and cut
// by event on both LF and CRLF streams.
func TestReplay(t *testing.T) {
	for content, first := range map[string]string{
		"data: a\n\ndata: b\n\ntail":     "data: a\n\n",
		"data: a\r\n\r\ndata: b\r\n\r\n": "data: a\r\n\r\n",
		"no blank line":                  "no blank line",
	} {
		if got := content[:eventLen([]byte(content))]; got != first {
			t.Errorf("first event of %q is %q, want %q", content, got, first)
		}
		for _, seed := range []uint64{0, 1, 7} {
			srv := httptest.NewServer(Replay([]byte(content), seed))
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			srv.Close()
			if string(got) != content {
				t.Errorf("seed %d: got %q, want %q", seed, got, content)
			}
		}
	}
}
