package providertest

import (
	"bytes"
	"math/rand/v2"
	"net/http"
)

// Replay serves content as text/event-stream. With seed 0 it writes one
// event at a time (each ending in a blank line, LF or CRLF); otherwise it
// writes small pieces (see WritePieces), so parsers meet events split at
// every possible byte. It flushes after each write.
func Replay(content []byte, seed uint64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		f := w.(http.Flusher)
		f.Flush()
		if seed != 0 {
			WritePieces(w, content, seed)
			return
		}
		for rest := content; len(rest) > 0; {
			n := eventLen(rest)
			_, _ = w.Write(rest[:n])
			f.Flush()
			rest = rest[n:]
		}
	}
}

// eventLen is the length of the first event of b, through its blank line
// ("\n\n" or "\r\n\r\n"), or all of b when no blank line ends it.
func eventLen(b []byte) int {
	lf, crlf := bytes.Index(b, []byte("\n\n")), bytes.Index(b, []byte("\r\n\r\n"))
	switch {
	case crlf >= 0 && (lf < 0 || crlf < lf):
		return crlf + 4
	case lf >= 0:
		return lf + 2
	}
	return len(b)
}

// WritePieces writes content in pieces of 1–17 bytes, flushing after each.
// The sizes come from a PCG seeded with seed and len(content), so a
// failing seed replays exactly.
func WritePieces(w http.ResponseWriter, content []byte, seed uint64) {
	f := w.(http.Flusher)
	rng := rand.New(rand.NewPCG(seed, uint64(len(content))))
	for rest := content; len(rest) > 0; {
		n := min(1+rng.IntN(17), len(rest))
		_, _ = w.Write(rest[:n])
		f.Flush()
		rest = rest[n:]
	}
}
