package responses

import (
	"strconv"
	"strings"

	"github.com/llmgate/llmgate/providers"
	"github.com/tidwall/gjson"
)

// itemKind is the type of an output item the translator can produce.
type itemKind uint8

const (
	kindReasoning itemKind = iota
	kindMessage
	kindCall
)

// outItem is one output item being built, for FromChat and for the stream.
type outItem struct {
	kind   itemKind
	id     string // rs_…, msg_…, fc_…
	index  int    // output_index
	status string
	open   bool // streaming: added but not yet done
	// parts are the message's content parts, or the reasoning item's single
	// summary part.
	parts  []*outPart
	callID string
	name   string
	args   strings.Builder
}

// outPart is a message content part (output_text or refusal) or a
// reasoning summary part.
type outPart struct {
	refusal     bool
	open        bool
	text        strings.Builder
	logprobs    []byte // comma-separated raw logprob objects
	annotations []byte // comma-separated rendered annotations
}

// lastPart returns the item's last part, or nil.
func (it *outItem) lastPart() *outPart {
	if len(it.parts) == 0 {
		return nil
	}
	return it.parts[len(it.parts)-1]
}

// appendItem renders it. With added set it renders the item the way
// response.output_item.added announces it: in progress, nothing in it yet.
func appendItem(b []byte, it *outItem, added bool) []byte {
	status := it.status
	if added {
		status = "in_progress"
	}
	switch it.kind {
	case kindReasoning:
		b = append(b, `{"id":`...)
		b = providers.AppendJSONString(b, it.id)
		b = append(b, `,"type":"reasoning","summary":[`...)
		if !added {
			for i, p := range it.parts {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendSummaryPart(b, p.text.String())
			}
		}
		return append(b, "]}"...)
	case kindMessage:
		b = append(b, `{"type":"message","id":`...)
		b = providers.AppendJSONString(b, it.id)
		b = append(b, `,"status":`...)
		b = providers.AppendJSONString(b, status)
		b = append(b, `,"role":"assistant","content":[`...)
		if !added {
			for i, p := range it.parts {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendPart(b, p, false)
			}
		}
		return append(b, "]}"...)
	default:
		b = append(b, `{"type":"function_call","id":`...)
		b = providers.AppendJSONString(b, it.id)
		b = append(b, `,"status":`...)
		b = providers.AppendJSONString(b, status)
		b = append(b, `,"arguments":`...)
		if added {
			b = append(b, `""`...)
		} else {
			b = providers.AppendJSONString(b, it.args.String())
		}
		b = append(b, `,"call_id":`...)
		b = providers.AppendJSONString(b, it.callID)
		b = append(b, `,"name":`...)
		b = providers.AppendJSONString(b, it.name)
		return append(b, '}')
	}
}

// appendPart renders a message content part; empty renders it as
// response.content_part.added announces it.
func appendPart(b []byte, p *outPart, empty bool) []byte {
	if p.refusal {
		b = append(b, `{"type":"refusal","refusal":`...)
		if empty {
			return append(b, `""}`...)
		}
		b = providers.AppendJSONString(b, p.text.String())
		return append(b, '}')
	}
	b = append(b, `{"type":"output_text","text":`...)
	if empty {
		return append(b, `"","annotations":[],"logprobs":[]}`...)
	}
	b = providers.AppendJSONString(b, p.text.String())
	b = append(b, `,"annotations":[`...)
	b = append(b, p.annotations...)
	b = append(b, `],"logprobs":[`...)
	b = append(b, p.logprobs...)
	return append(b, "]}"...)
}

func appendSummaryPart(b []byte, text string) []byte {
	b = append(b, `{"type":"summary_text","text":`...)
	b = providers.AppendJSONString(b, text)
	return append(b, '}')
}

// appendOutput renders the output array.
func appendOutput(b []byte, items []*outItem) []byte {
	b = append(b, '[')
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendItem(b, it, false)
	}
	return append(b, ']')
}

// appendLogprobs appends the elements of a chat logprobs.content array
// (the same {token,logprob,bytes,top_logprobs} objects Responses uses) to
// a comma-separated list.
func appendLogprobs(b []byte, content gjson.Result) []byte {
	content.ForEach(func(_, v gjson.Result) bool {
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = appendCompact(b, v.Raw)
		return true
	})
	return b
}

// appendAnnotations flattens chat url_citation annotations
// ({type,url_citation:{…}}) into Responses' flat form. Other kinds have no
// Responses counterpart and are left out.
func appendAnnotations(b []byte, anns gjson.Result) []byte {
	anns.ForEach(func(_, a gjson.Result) bool {
		if a.Get("type").String() != "url_citation" {
			return true
		}
		c := a.Get("url_citation")
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":"url_citation","start_index":`...)
		b = strconv.AppendInt(b, c.Get("start_index").Int(), 10)
		b = append(b, `,"end_index":`...)
		b = strconv.AppendInt(b, c.Get("end_index").Int(), 10)
		b = append(b, `,"title":`...)
		b = providers.AppendJSONString(b, c.Get("title").String())
		b = append(b, `,"url":`...)
		b = providers.AppendJSONString(b, c.Get("url").String())
		b = append(b, '}')
		return true
	})
	return b
}

// appendUsage renders a chat usage object as Responses usage.
func appendUsage(b []byte, usage gjson.Result) []byte {
	u := providers.ParseOpenAIUsage(usage)
	b = append(b, `{"input_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokens, 10)
	b = append(b, `,"input_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, u.CachedTokens, 10)
	b = append(b, `},"output_tokens":`...)
	b = strconv.AppendInt(b, u.CompletionTokens, 10)
	b = append(b, `,"output_tokens_details":{"reasoning_tokens":`...)
	b = strconv.AppendInt(b, u.ReasoningTokens, 10)
	b = append(b, `},"total_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokens+u.CompletionTokens, 10)
	return append(b, '}')
}

// finishStatus maps a chat finish_reason to the response status and, for an
// incomplete one, the incomplete_details object.
func finishStatus(finish string) (status string, details []byte) {
	switch finish {
	case "length":
		return "incomplete", []byte(`{"reason":"max_output_tokens"}`)
	case "content_filter":
		return "incomplete", []byte(`{"reason":"content_filter"}`)
	}
	return "completed", nil
}

// reasoningText returns the thinking text of a chat message or delta:
// reasoning_content, or the "reasoning" string some compatible providers use.
func reasoningText(m gjson.Result) string {
	if r := m.Get("reasoning_content"); r.Type == gjson.String {
		return r.Str
	}
	if r := m.Get("reasoning"); r.Type == gjson.String {
		return r.Str
	}
	return ""
}

// appendCompact appends the JSON value raw without insignificant
// whitespace. Every raw value copied from a client or upstream goes through
// it: a pretty-printed request would otherwise put newlines inside an SSE
// data line and cut the event in two.
func appendCompact(b []byte, raw string) []byte {
	inStr, esc := false, false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if inStr {
			b = append(b, c)
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inStr = true
		}
		b = append(b, c)
	}
	return b
}
