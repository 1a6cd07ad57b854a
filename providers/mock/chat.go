package mock

import (
	"fmt"

	"github.com/llmgate/llmgate/providers"
)

// doChat answers a non-streaming chat call.
func doChat(req *providers.Request) (*providers.Response, error) {
	pl, err := planChat(req)
	if err != nil {
		return nil, err
	}
	if pl.cut >= 0 {
		// A cut model has no complete answer to give; a non-streaming
		// upstream that dies mid-answer surfaces the same way.
		return nil, fmt.Errorf("mock: model %q breaks the answer after %d tokens: %w",
			req.Model, pl.cut, providers.ErrStreamBroken)
	}
	return &providers.Response{Body: completionBody(pl), Usage: pl.usage()}, nil
}
