package bedrock

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
)

var streamFixtures = []string{"converse-stream-text", "converse-stream-tool-use", "converse-stream-reasoning"}

// decodedFrame is one line of a .decoded.jsonl fixture.
type decodedFrame struct {
	TotalLength   int               `json:"total_length"`
	HeadersLength int               `json:"headers_length"`
	Headers       map[string]string `json:"headers"`
	Payload       json.RawMessage   `json:"payload"`
}

func headersLen(hs []header) int {
	n := 0
	for _, h := range hs {
		n += 1 + len(h.Name) + 1 + len(h.Value)
		if h.Type == typeString || h.Type == typeBytes {
			n += 2
		}
	}
	return n
}

func jsonEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("unmarshal %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

// TestDecodeFixtures decodes the recorded streams and compares every
// frame with the recorder's own decoding, read one byte at a time so that
// every possible TCP split is exercised.
func TestDecodeFixtures(t *testing.T) {
	for _, name := range streamFixtures {
		t.Run(name, func(t *testing.T) {
			raw := providertest.Fixture(t, "bedrock", name+".eventstream")
			var want []decodedFrame
			for _, line := range strings.Split(strings.TrimSpace(string(providertest.Fixture(t, "bedrock", name+".decoded.jsonl"))), "\n") {
				var d decodedFrame
				if err := json.Unmarshal([]byte(line), &d); err != nil {
					t.Fatal(err)
				}
				want = append(want, d)
			}
			for _, mode := range []string{"whole", "one byte"} {
				var r io.Reader = bytes.NewReader(raw)
				if mode == "one byte" {
					r = iotest.OneByteReader(r)
				}
				fr := newFrameReader(r)
				total := 0
				for i, w := range want {
					f, err := fr.Next()
					if err != nil {
						t.Fatalf("%s: frame %d: %v", mode, i, err)
					}
					got := map[string]string{}
					for _, h := range f.Headers {
						if h.Type != typeString {
							t.Fatalf("frame %d: header %q has type %d", i, h.Name, h.Type)
						}
						got[h.Name] = string(h.Value)
					}
					if !reflect.DeepEqual(got, w.Headers) {
						t.Fatalf("frame %d headers %v, want %v", i, got, w.Headers)
					}
					if hl := headersLen(f.Headers); hl != w.HeadersLength {
						t.Fatalf("frame %d headers length %d, want %d", i, hl, w.HeadersLength)
					}
					if tl := 16 + headersLen(f.Headers) + len(f.Payload); tl != w.TotalLength {
						t.Fatalf("frame %d total length %d, want %d", i, tl, w.TotalLength)
					}
					if !jsonEqual(t, f.Payload, w.Payload) {
						t.Fatalf("frame %d payload %s, want %s", i, f.Payload, w.Payload)
					}
					total += w.TotalLength
				}
				if _, err := fr.Next(); err != io.EOF {
					t.Fatalf("%s: after the last frame: %v, want io.EOF", mode, err)
				}
				if total != len(raw) {
					t.Fatalf("frames cover %d of %d bytes", total, len(raw))
				}
			}
		})
	}
}

// TestDecodeHeaderTypes: every header type of the spec is skipped by its
// declared size, so the string header after them and the next frame are
// still found.
func TestDecodeHeaderTypes(t *testing.T) {
	hs := []header{
		{Name: "t", Type: typeTrue},
		{Name: "f", Type: typeFalse},
		{Name: "b", Type: typeByte, Value: []byte{7}},
		{Name: "s", Type: typeShort, Value: []byte{1, 2}},
		{Name: "i", Type: typeInt, Value: []byte{1, 2, 3, 4}},
		{Name: "l", Type: typeLong, Value: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{Name: "bytes", Type: typeBytes, Value: []byte{0, 1, 2}},
		{Name: "ts", Type: typeTimestamp, Value: []byte{0, 0, 1, 2, 3, 4, 5, 6}},
		{Name: "uuid", Type: typeUUID, Value: bytes.Repeat([]byte{0xab}, 16)},
		strHeader(":message-type", "event"),
	}
	raw := append(encodeFrame(hs, []byte(`{"x":1}`)), eventFrame("messageStop", `{"stopReason":"end_turn"}`)...)
	fr := newFrameReader(bytes.NewReader(raw))
	f, err := fr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Headers) != len(hs) {
		t.Fatalf("%d headers, want %d", len(f.Headers), len(hs))
	}
	for i := range hs {
		if f.Headers[i].Name != hs[i].Name || f.Headers[i].Type != hs[i].Type || !bytes.Equal(f.Headers[i].Value, hs[i].Value) {
			t.Fatalf("header %d = %+v, want %+v", i, f.Headers[i], hs[i])
		}
	}
	if f.str(":message-type") != "event" || string(f.Payload) != `{"x":1}` {
		t.Fatalf("message-type %q payload %s", f.str(":message-type"), f.Payload)
	}
	if f.str("bytes") != "" {
		t.Fatal("str returned a non-string header")
	}
	f, err = fr.Next()
	if err != nil || f.str(":event-type") != "messageStop" {
		t.Fatalf("second frame: %v %v", f, err)
	}
}

// withPreludeCRC rewrites the prelude checksum so a test can reach the
// checks behind it.
func withPreludeCRC(b []byte) []byte {
	binary.BigEndian.PutUint32(b[8:12], crc32.ChecksumIEEE(b[:8]))
	return b
}

func withMessageCRC(b []byte) []byte {
	n := len(b) - 4
	binary.BigEndian.PutUint32(b[n:], crc32.ChecksumIEEE(b[:n]))
	return b
}

func TestDecodeCorrupt(t *testing.T) {
	good := eventFrame("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"hi"}}`)
	cases := map[string]func() []byte{
		"payload byte flipped": func() []byte {
			b := bytes.Clone(good)
			b[len(b)-10] ^= 0x01
			return b
		},
		"prelude CRC flipped": func() []byte {
			b := bytes.Clone(good)
			b[9] ^= 0x80
			return b
		},
		"total length flipped": func() []byte {
			b := bytes.Clone(good)
			b[3] ^= 0x04
			return b
		},
		"message CRC flipped": func() []byte {
			b := bytes.Clone(good)
			b[len(b)-1] ^= 0xff
			return b
		},
		"huge length, valid prelude CRC": func() []byte {
			b := bytes.Clone(good)
			binary.BigEndian.PutUint32(b[0:4], 1<<30)
			return withPreludeCRC(b)
		},
		"length below minimum": func() []byte {
			b := bytes.Clone(good)
			binary.BigEndian.PutUint32(b[0:4], 15)
			binary.BigEndian.PutUint32(b[4:8], 0)
			return withPreludeCRC(b)
		},
		"headers longer than the frame": func() []byte {
			b := bytes.Clone(good)
			binary.BigEndian.PutUint32(b[4:8], uint32(len(b)))
			return withPreludeCRC(b)
		},
		"header value overruns, valid CRCs": func() []byte {
			b := encodeFrame([]header{strHeader(":event-type", "messageStart")}, []byte(`{}`))
			b[12+1+len(":event-type")+1+1] = 0xff // the u16 length's low byte
			return withMessageCRC(b)
		},
		"unknown header type, valid CRCs": func() []byte {
			return encodeFrame([]header{{Name: "x", Type: 10}}, []byte(`{}`))
		},
		"empty header name, valid CRCs": func() []byte {
			return encodeFrame([]header{{Name: "", Type: typeTrue}}, []byte(`{}`))
		},
		"truncated frame":   func() []byte { return good[:len(good)-5] },
		"truncated prelude": func() []byte { return good[:7] },
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			raw := append(bytes.Clone(good), mk()...)
			fr := newFrameReader(bytes.NewReader(raw))
			if _, err := fr.Next(); err != nil {
				t.Fatalf("first (good) frame: %v", err)
			}
			_, err := fr.Next()
			if !errors.Is(err, providers.ErrStreamBroken) {
				t.Fatalf("err = %v, want ErrStreamBroken", err)
			}
		})
	}
}

// TestDecodeFlippedFixtureBytes flips bytes across a whole recorded stream:
// the decoder must fail cleanly at the damaged frame, never panic, and
// never hand out a frame whose checksum did not hold.
func TestDecodeFlippedFixtureBytes(t *testing.T) {
	raw := providertest.Fixture(t, "bedrock", "converse-stream-tool-use.eventstream")
	for pos := 0; pos < len(raw); pos += 7 {
		b := bytes.Clone(raw)
		b[pos] ^= 0x20
		fr := newFrameReader(bytes.NewReader(b))
		var err error
		for err == nil {
			_, err = fr.Next()
		}
		if !errors.Is(err, providers.ErrStreamBroken) {
			t.Fatalf("flip at %d: %v, want ErrStreamBroken", pos, err)
		}
	}
}

// TestDecodeReadError: errors of the underlying reader (a reset
// connection) are returned as they are, for the caller to classify.
func TestDecodeReadError(t *testing.T) {
	boom := errors.New("connection reset")
	good := eventFrame("messageStart", `{"role":"assistant"}`)
	r := io.MultiReader(bytes.NewReader(good[:20]), iotest.ErrReader(boom))
	_, err := newFrameReader(r).Next()
	if !errors.Is(err, boom) || errors.Is(err, providers.ErrStreamBroken) {
		t.Fatalf("err = %v", err)
	}
}

func TestFrameBuffered(t *testing.T) {
	a := eventFrame("messageStart", `{"role":"assistant"}`)
	b := eventFrame("messageStop", `{"stopReason":"end_turn"}`)
	fr := newFrameReader(bytes.NewReader(append(bytes.Clone(a), b...)))
	if _, err := fr.Next(); err != nil {
		t.Fatal(err)
	}
	if !fr.frameBuffered() {
		t.Fatal("second frame is buffered but frameBuffered is false")
	}
	if _, err := fr.Next(); err != nil {
		t.Fatal(err)
	}
	if fr.frameBuffered() {
		t.Fatal("nothing is buffered but frameBuffered is true")
	}
	// Half a frame is not a frame.
	fr = newFrameReader(bytes.NewReader(append(bytes.Clone(a), b[:20]...)))
	if _, err := fr.Next(); err != nil {
		t.Fatal(err)
	}
	if fr.frameBuffered() {
		t.Fatal("a partial frame counted as buffered")
	}
}

// FuzzFrameReader: the decoder never panics, and every frame it accepts
// re-encodes to exactly the bytes it consumed. (The recorded seeds are
// 5–7 KB, so minimising an interesting input takes a while; run with
// -fuzzminimizetime=2s to spend the time fuzzing instead.)
func FuzzFrameReader(f *testing.F) {
	for _, name := range streamFixtures {
		f.Add(providertest.Fixture(f, "bedrock", name+".eventstream"))
	}
	// Small seeds too: mutations of them are cheap to minimise.
	f.Add(exceptionFrame("throttlingException", "slow down"))
	f.Add(eventFrame("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"hi"}}`))
	f.Add(encodeFrame([]header{{Name: "u", Type: typeUUID, Value: make([]byte, 16)}, {Name: "b", Type: typeBytes, Value: []byte("x")}}, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := newFrameReader(bytes.NewReader(data))
		off := 0
		for {
			fm, err := fr.Next()
			if err != nil {
				if err != io.EOF && !errors.Is(err, providers.ErrStreamBroken) {
					t.Fatalf("unexpected error type: %v", err)
				}
				if err == io.EOF && off != len(data) {
					t.Fatalf("EOF at %d of %d", off, len(data))
				}
				return
			}
			enc := encodeFrame(fm.Headers, fm.Payload)
			if off+len(enc) > len(data) || !bytes.Equal(enc, data[off:off+len(enc)]) {
				t.Fatalf("frame at %d does not re-encode to its bytes", off)
			}
			off += len(enc)
		}
	})
}
