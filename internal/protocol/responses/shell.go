package responses

import (
	"strconv"

	"github.com/llmgate/llmgate/providers"
	"github.com/tidwall/gjson"
)

// shell is a response object minus the fields that change while it is
// built (status, error, incomplete_details, output, usage, llmgate). It is
// rendered once per request, so a stream's created, in_progress and terminal
// events only copy bytes. The field order follows OpenAI's own objects.
type shell struct {
	head []byte // {"id":…,"object":"response","created_at":…,"status":
	mid  []byte // ,"instructions":…,"model":…,"output":
	tail []byte // ,"parallel_tool_calls":…,"truncation":…,"usage":
	end  []byte // ,"user":…,"metadata":…
}

// newShell echoes the request's parameters the way OpenAI does: what the
// client set, else the API's default (null, true, 1.0, "auto", "disabled"…).
func newShell(req []byte, m Meta) *shell {
	r := gjson.ParseBytes(req)
	echo := func(b []byte, field, def string) []byte {
		if v := r.Get(field); v.Exists() && v.Type != gjson.Null {
			return appendCompact(b, v.Raw)
		}
		return append(b, def...)
	}
	s := &shell{}

	b := append([]byte(nil), `{"id":`...)
	b = providers.AppendJSONString(b, m.ID)
	b = append(b, `,"object":"response","created_at":`...)
	b = strconv.AppendInt(b, m.CreatedAt, 10)
	s.head = append(b, `,"status":`...)

	b = append([]byte(nil), `,"instructions":`...)
	if ins := r.Get("instructions"); ins.Type == gjson.String {
		b = appendCompact(b, ins.Raw)
	} else {
		b = append(b, "null"...)
	}
	b = echo(append(b, `,"max_output_tokens":`...), "max_output_tokens", "null")
	b = echo(append(b, `,"max_tool_calls":`...), "max_tool_calls", "null")
	b = append(b, `,"model":`...)
	model := m.Model
	if model == "" {
		model = r.Get("model").String()
	}
	b = providers.AppendJSONString(b, model)
	s.mid = append(b, `,"output":`...)

	b = echo(append([]byte(nil), `,"parallel_tool_calls":`...), "parallel_tool_calls", "true")
	b = append(b, `,"previous_response_id":`...)
	if m.PreviousResponseID != "" {
		b = providers.AppendJSONString(b, m.PreviousResponseID)
	} else {
		b = append(b, "null"...)
	}
	b = echo(append(b, `,"prompt_cache_key":`...), "prompt_cache_key", "null")
	b = echo(append(b, `,"reasoning":{"effort":`...), "reasoning.effort", "null")
	b = echo(append(b, `,"summary":`...), "reasoning.summary", "null")
	b = echo(append(b, `},"safety_identifier":`...), "safety_identifier", "null")
	b = echo(append(b, `,"service_tier":`...), "service_tier", "null")
	b = echo(append(b, `,"store":`...), "store", "true")
	b = echo(append(b, `,"temperature":`...), "temperature", "1.0")
	b = echo(append(b, `,"text":{"format":`...), "text.format", `{"type":"text"}`)
	b = echo(append(b, `,"verbosity":`...), "text.verbosity", `"medium"`)
	b = echo(append(b, `},"tool_choice":`...), "tool_choice", `"auto"`)
	b = appendTools(append(b, `,"tools":`...), r.Get("tools"))
	b = echo(append(b, `,"top_logprobs":`...), "top_logprobs", "0")
	b = echo(append(b, `,"top_p":`...), "top_p", "1.0")
	b = echo(append(b, `,"truncation":`...), "truncation", `"disabled"`)
	s.tail = append(b, `,"usage":`...)

	b = echo(append([]byte(nil), `,"user":`...), "user", "null")
	s.end = echo(append(b, `,"metadata":`...), "metadata", "{}")
	return s
}

// appendTools echoes the tools in Responses shape, with OpenAI's nulls for
// what the client left out (an empty description comes back null too).
func appendTools(b []byte, tools gjson.Result) []byte {
	b = append(b, '[')
	n := 0
	tools.ForEach(func(_, t gjson.Result) bool {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		if t.Get("type").String() != "function" {
			b = appendCompact(b, t.Raw)
			return true
		}
		b = append(b, `{"type":"function","description":`...)
		if d := t.Get("description").String(); d != "" {
			b = providers.AppendJSONString(b, d)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"name":`...)
		b = providers.AppendJSONString(b, t.Get("name").String())
		b = append(b, `,"parameters":`...)
		b = appendRawOr(b, t.Get("parameters"), "null")
		b = append(b, `,"strict":`...)
		b = appendRawOr(b, t.Get("strict"), "null")
		b = append(b, '}')
		return true
	})
	return append(b, ']')
}

func appendRawOr(b []byte, v gjson.Result, def string) []byte {
	if v.Exists() && v.Type != gjson.Null {
		return appendCompact(b, v.Raw)
	}
	return append(b, def...)
}

// response is the variable part of a response object.
type response struct {
	status     string
	err        []byte // {"code","message"} or nil
	incomplete []byte // {"reason"} or nil
	output     []byte // rendered output array; nil renders []
	usage      []byte // rendered usage or nil
	llmgate    []byte // the gateway's metadata object, raw, or nil
}

// appendTo renders the full response object.
func (s *shell) appendTo(b []byte, r response) []byte {
	b = append(b, s.head...)
	b = providers.AppendJSONString(b, r.status)
	b = append(b, `,"background":false,"error":`...)
	b = appendOrNull(b, r.err)
	b = append(b, `,"incomplete_details":`...)
	b = appendOrNull(b, r.incomplete)
	b = append(b, s.mid...)
	if r.output == nil {
		b = append(b, "[]"...)
	} else {
		b = append(b, r.output...)
	}
	b = append(b, s.tail...)
	b = appendOrNull(b, r.usage)
	b = append(b, s.end...)
	if len(r.llmgate) > 0 {
		b = append(b, `,"llmgate":`...)
		b = append(b, r.llmgate...)
	}
	return append(b, '}')
}

func appendOrNull(b, v []byte) []byte {
	if len(v) == 0 {
		return append(b, "null"...)
	}
	return append(b, v...)
}
