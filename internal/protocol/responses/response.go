package responses

import (
	"strings"

	"github.com/tidwall/gjson"
)

// FromChat builds a Responses API response object (object:"response") from a chat.completion body, echoing the
// request's parameters (instructions, tools, tool_choice, text, reasoning, temperature, top_p, max_output_tokens,
// parallel_tool_calls, store, metadata, user) the way OpenAI does. If the chat body carries a top-level "llmgate" object,
// it is kept as the response's top-level "llmgate" field.
func FromChat(chat, req []byte, m Meta) []byte {
	c := gjson.ParseBytes(chat)
	choice := c.Get("choices.0")
	msg := choice.Get("message")
	status, incomplete := finishStatus(choice.Get("finish_reason").String())

	var items []*outItem
	add := func(it *outItem) {
		it.index, it.status = len(items), "completed"
		items = append(items, it)
	}
	if r := reasoningText(msg); r != "" {
		it := &outItem{kind: kindReasoning, id: newID("rs_")}
		p := &outPart{}
		p.text.WriteString(r)
		it.parts = []*outPart{p}
		add(it)
	}
	text, refusal := messageText(msg.Get("content")), msg.Get("refusal").String()
	if text != "" || refusal != "" {
		it := &outItem{kind: kindMessage, id: newID("msg_")}
		if text != "" {
			p := &outPart{}
			p.text.WriteString(text)
			p.logprobs = appendLogprobs(nil, choice.Get("logprobs.content"))
			p.annotations = appendAnnotations(nil, msg.Get("annotations"))
			it.parts = append(it.parts, p)
		}
		if refusal != "" {
			p := &outPart{refusal: true}
			p.text.WriteString(refusal)
			it.parts = append(it.parts, p)
		}
		add(it)
	}
	msg.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
		it := &outItem{kind: kindCall, id: newID("fc_"), callID: tc.Get("id").String(), name: tc.Get("function.name").String()}
		if it.callID == "" {
			it.callID = newID("call_")
		}
		it.args.WriteString(tc.Get("function.arguments").String())
		add(it)
		return true
	})
	// A cut-off answer is cut off in its last item.
	if status == "incomplete" && len(items) > 0 {
		items[len(items)-1].status = "incomplete"
	}

	r := response{status: status, incomplete: incomplete, output: appendOutput(nil, items)}
	if u := c.Get("usage"); u.IsObject() {
		r.usage = appendUsage(nil, u)
	}
	if lg := c.Get("llmgate"); lg.IsObject() {
		r.llmgate = appendCompact(nil, lg.Raw)
	}
	return newShell(req, m).appendTo(make([]byte, 0, len(chat)+1024), r)
}

// messageText returns a chat message's text: content is normally a string,
// but some compatible providers answer with an array of text parts.
func messageText(content gjson.Result) string {
	if content.Type == gjson.String {
		return content.Str
	}
	var sb strings.Builder
	content.ForEach(func(_, p gjson.Result) bool {
		if p.Get("type").String() == "text" {
			sb.WriteString(p.Get("text").String())
		}
		return true
	})
	return sb.String()
}
