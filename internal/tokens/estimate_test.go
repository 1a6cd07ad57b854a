package tokens

import "testing"

func TestEstimatePrompt(t *testing.T) {
	cases := []struct {
		body string
		want int64
	}{
		// 16 chars -> 4 tokens, 1 message -> +3, reply priming +3.
		{`{"messages":[{"role":"user","content":"What's the time"}]}`, 10},
		{`{"messages":[{"role":"user","content":[{"type":"text","text":"abcdefgh"}]}]}`, 8},
		{`{"input":"abcdefgh"}`, 2},
		{`{"input":["abcd","efgh"]}`, 2},
	}
	for _, c := range cases {
		if got := EstimatePrompt([]byte(c.body)); got != c.want {
			t.Errorf("%s: got %d, want %d", c.body, got, c.want)
		}
	}
}
