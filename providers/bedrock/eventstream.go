package bedrock

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/llmgate/llmgate/providers"
)

// ConverseStream answers in AWS event-stream framing
// (application/vnd.amazon.eventstream), not SSE. Each message is:
//
//	prelude  u32 total length, u32 headers length, u32 CRC32 of those 8 bytes
//	headers  repeated: u8 name length, name, u8 value type, value
//	payload  the event's JSON
//	trailer  u32 CRC32 (IEEE) of everything before it
//
// The decoder is written here rather than imported so that the provider
// needs nothing from the SDK beyond the signer, and so that every failure
// mode (bad CRC, absurd lengths, a truncated frame) becomes a clean
// ErrStreamBroken instead of whatever a general-purpose decoder does.

const (
	preludeLen = 12
	trailerLen = 4
	minFrame   = preludeLen + trailerLen
	// maxFrame bounds one message so a corrupt length cannot make the
	// gateway allocate gigabytes; real frames are a few hundred bytes.
	maxFrame = 16 << 20
)

// errCorrupt marks frames that fail the framing checks.
var errCorrupt = fmt.Errorf("%w: corrupt event-stream frame", providers.ErrStreamBroken)

// header is one decoded header. Value holds the raw value bytes (for
// strings and byte arrays, without the length prefix).
type header struct {
	Name  string
	Type  byte
	Value []byte
}

// frame is one decoded event-stream message. Payload and the header
// values alias the reader's buffer and are valid until the next call.
type frame struct {
	Headers []header
	Payload []byte
}

// str returns the value of the named string header, or "".
func (f *frame) str(name string) string {
	for _, h := range f.Headers {
		if h.Name == name && h.Type == typeString {
			return string(h.Value)
		}
	}
	return ""
}

// Header value types, per the AWS event-stream encoding.
const (
	typeTrue      = 0
	typeFalse     = 1
	typeByte      = 2
	typeShort     = 3
	typeInt       = 4
	typeLong      = 5
	typeBytes     = 6
	typeString    = 7
	typeTimestamp = 8
	typeUUID      = 9
)

// fixedSize is the value size of the fixed-width header types.
var fixedSize = [...]int{typeTrue: 0, typeFalse: 0, typeByte: 1, typeShort: 2, typeInt: 4, typeLong: 8, typeTimestamp: 8, typeUUID: 16}

// frameReader reads event-stream messages from a byte stream, across any
// split of the underlying reads.
type frameReader struct {
	r   *bufio.Reader
	buf []byte
	f   frame
}

func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 32<<10)}
}

// Next returns the next frame. At a clean end between frames it returns
// io.EOF; a frame cut short or failing its checks gives ErrStreamBroken;
// read errors of the underlying reader are returned as they are.
func (fr *frameReader) Next() (*frame, error) {
	var prelude [preludeLen]byte
	if n, err := io.ReadFull(fr.r, prelude[:]); err != nil {
		if errors.Is(err, io.EOF) && n == 0 {
			return nil, io.EOF
		}
		return nil, truncated(err)
	}
	total := binary.BigEndian.Uint32(prelude[0:4])
	hlen := binary.BigEndian.Uint32(prelude[4:8])
	if crc32.ChecksumIEEE(prelude[:8]) != binary.BigEndian.Uint32(prelude[8:12]) {
		return nil, fmt.Errorf("%w: prelude checksum mismatch", errCorrupt)
	}
	if total < minFrame || total > maxFrame || hlen > total-minFrame {
		return nil, fmt.Errorf("%w: lengths %d/%d out of range", errCorrupt, total, hlen)
	}
	if cap(fr.buf) < int(total) {
		fr.buf = make([]byte, total)
	}
	msg := fr.buf[:total]
	copy(msg, prelude[:])
	if _, err := io.ReadFull(fr.r, msg[preludeLen:]); err != nil {
		return nil, truncated(err)
	}
	end := total - trailerLen
	if crc32.ChecksumIEEE(msg[:end]) != binary.BigEndian.Uint32(msg[end:]) {
		return nil, fmt.Errorf("%w: message checksum mismatch", errCorrupt)
	}
	hdrs, err := parseHeaders(msg[preludeLen:preludeLen+hlen], fr.f.Headers[:0])
	if err != nil {
		return nil, err
	}
	fr.f = frame{Headers: hdrs, Payload: msg[preludeLen+hlen : end]}
	return &fr.f, nil
}

// truncated turns an EOF inside a frame into ErrStreamBroken and leaves
// other read errors (resets, cancellations) for the caller to classify.
func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: stream ended inside a frame", providers.ErrStreamBroken)
	}
	return err
}

// parseHeaders decodes the header block, skipping values of every type
// by their declared sizes so unknown headers never desynchronise it.
func parseHeaders(b []byte, out []header) ([]header, error) {
	for len(b) > 0 {
		nl := int(b[0])
		if nl == 0 || len(b) < 1+nl+1 {
			return nil, fmt.Errorf("%w: bad header name", errCorrupt)
		}
		h := header{Name: string(b[1 : 1+nl]), Type: b[1+nl]}
		b = b[2+nl:]
		var n int
		switch {
		case h.Type == typeBytes || h.Type == typeString:
			if len(b) < 2 {
				return nil, fmt.Errorf("%w: bad header length", errCorrupt)
			}
			n = int(binary.BigEndian.Uint16(b))
			b = b[2:]
		case int(h.Type) < len(fixedSize):
			n = fixedSize[h.Type]
		default:
			return nil, fmt.Errorf("%w: unknown header type %d", errCorrupt, h.Type)
		}
		if len(b) < n {
			return nil, fmt.Errorf("%w: header %q overruns the block", errCorrupt, h.Name)
		}
		h.Value, b = b[:n], b[n:]
		out = append(out, h)
	}
	return out, nil
}

// frameBuffered reports whether a whole next frame is already buffered,
// so the sink may hold its flush (Event.More).
func (fr *frameReader) frameBuffered() bool {
	n := fr.r.Buffered()
	if n < preludeLen {
		return false
	}
	p, err := fr.r.Peek(4)
	return err == nil && int(binary.BigEndian.Uint32(p)) <= n
}
