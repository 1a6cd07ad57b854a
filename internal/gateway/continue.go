package gateway

import (
	"errors"
	"strconv"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/llmgate/llmgate/providers"
)

// errDiverged: the replayed answer does not match what the client already
// received, so the stream cannot be continued honestly.
var errDiverged = errors.New("the retried answer diverged from the text already sent")

// A stream that breaks after its first byte is carried over to the next
// attempt of the plan. With an upstream that accepts an assistant prefix,
// the text already delivered is sent as the prefix and only the
// continuation streams back. Otherwise the request is replayed and only
// what extends the delivered text is forwarded; a replay that says
// something else ends the stream with an explicit error. Either way the
// client sees one answer, with the chunk id it saw first.

// track follows one delivered text (content, reasoning, or a tool call's
// arguments) against a replay of it.
type track struct {
	sent string
	got  int // replayed bytes matched so far
}

// feed takes a replayed fragment and returns the part that extends what
// was sent, or false when the replay diverges from it.
func (t *track) feed(frag string) (string, bool) {
	if t.got >= len(t.sent) {
		return frag, true
	}
	rest := t.sent[t.got:]
	if len(frag) <= len(rest) {
		if rest[:len(frag)] != frag {
			return "", false
		}
		t.got += len(frag)
		return "", true
	}
	if frag[:len(rest)] != rest {
		return "", false
	}
	t.got = len(t.sent)
	return frag[len(rest):], true
}

type toolTrack struct {
	name string
	args track
}

// continuation is the state of a stream being carried over.
type continuation struct {
	prefix    bool   // this attempt continues from an assistant prefix
	id        string // the chunk id the client saw
	content   track
	reasoning track
	tools     []toolTrack
	multi     bool // n > 1: several choices cannot be continued
}

// parseDelivered rebuilds what the client received from the data chunks
// the relay remembered.
func parseDelivered(chunks [][]byte) *continuation {
	c := &continuation{}
	var content, reasoning []byte
	for _, data := range chunks {
		root := gjson.ParseBytes(data)
		if c.id == "" {
			c.id = root.Get("id").Str
		}
		root.Get("choices").ForEach(func(_, ch gjson.Result) bool {
			if ch.Get("index").Int() != 0 {
				c.multi = true
				return false
			}
			d := ch.Get("delta")
			content = append(content, d.Get("content").Str...)
			reasoning = append(reasoning, d.Get("reasoning_content").Str...)
			reasoning = append(reasoning, d.Get("reasoning").Str...)
			d.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
				i := int(tc.Get("index").Int())
				if i < 0 || i > 128 {
					return true
				}
				for len(c.tools) <= i {
					c.tools = append(c.tools, toolTrack{})
				}
				if n := tc.Get("function.name").Str; n != "" {
					c.tools[i].name = n
				}
				c.tools[i].args.sent += tc.Get("function.arguments").Str
				return true
			})
			return true
		})
	}
	c.content.sent, c.reasoning.sent = string(content), string(reasoning)
	return c
}

// canPrefix reports whether this state can be continued from an
// assistant prefix: plain text only.
func (c *continuation) canPrefix() bool {
	return !c.multi && c.content.sent != "" && c.reasoning.sent == "" && len(c.tools) == 0
}

// restart prepares the state for a new attempt.
func (c *continuation) restart(prefix bool) {
	c.prefix = prefix
	c.content.got, c.reasoning.got = 0, 0
	for i := range c.tools {
		c.tools[i].args.got = 0
	}
}

// prefixBody appends the delivered text as a final assistant message
// marked as a prefix to continue.
func (c *continuation) prefixBody(body []byte) []byte {
	msg := providers.AppendJSONString([]byte(`{"role":"assistant","content":`), c.content.sent)
	msg = append(msg, `,"prefix":true}`...)
	if b, err := sjson.SetRawBytes(body, "messages.-1", msg); err == nil {
		return b
	}
	return body
}

// filter maps one event of the continuing attempt to what the client
// should get: the data to send (nil: send as is), or drop.
func (c *continuation) filter(ev *providers.Event) (out []byte, drop bool, err error) {
	data := ev.Data
	root := gjson.ParseBytes(data)
	usage := root.Get("usage").IsObject()
	ch := root.Get("choices.0")
	finish := ch.Get("finish_reason")
	hasFinish := finish.Exists() && finish.Type != gjson.Null
	if root.Get("choices.1").Exists() {
		return nil, false, errDiverged
	}
	d := ch.Get("delta")
	out, hasNew := data, false
	set := func(path string, v string) {
		if b, e := sjson.SetBytes(out, path, v); e == nil {
			out = b
		}
	}
	del := func(path string) {
		if b, e := sjson.DeleteBytes(out, path); e == nil {
			out = b
		}
	}
	if d.Get("role").Exists() {
		del("choices.0.delta.role") // the client has had its role chunk
	}
	if c.prefix {
		hasNew = d.Get("content").Str != "" || d.Get("tool_calls").Exists() || d.Get("reasoning_content").Str != "" || d.Get("reasoning").Str != ""
	} else {
		for _, k := range [...]string{"content", "reasoning_content", "reasoning"} {
			v := d.Get(k)
			if v.Type != gjson.String {
				continue
			}
			t := &c.content
			if k != "content" {
				t = &c.reasoning
			}
			fwd, ok := t.feed(v.Str)
			if !ok {
				return nil, false, errDiverged
			}
			if fwd != v.Str {
				set("choices.0.delta."+k, fwd)
			}
			hasNew = hasNew || fwd != ""
		}
		var bad bool
		d.Get("tool_calls").ForEach(func(j, tc gjson.Result) bool {
			i := int(tc.Get("index").Int())
			if i >= len(c.tools) {
				hasNew = true
				return true
			}
			p := "choices.0.delta.tool_calls." + strconv.Itoa(int(j.Int()))
			if n := tc.Get("function.name").Str; n != "" && c.tools[i].name != "" && n != c.tools[i].name {
				bad = true
				return false
			}
			fwd, ok := c.tools[i].args.feed(tc.Get("function.arguments").Str)
			if !ok {
				bad = true
				return false
			}
			// The client has this call's id, type and name already.
			del(p + ".id")
			del(p + ".type")
			del(p + ".function.name")
			set(p+".function.arguments", fwd)
			hasNew = hasNew || fwd != ""
			return true
		})
		if bad {
			return nil, false, errDiverged
		}
	}
	if !hasNew && !hasFinish && !usage {
		return nil, true, nil
	}
	if c.id != "" && root.Get("id").Str != c.id {
		set("id", c.id)
	}
	if len(out) == len(data) && string(out) == string(data) {
		return nil, false, nil
	}
	return out, false, nil
}
