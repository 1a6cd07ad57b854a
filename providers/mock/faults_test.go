package mock

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
	"github.com/tidwall/gjson"
)

func TestFailModels(t *testing.T) {
	cases := []struct {
		model  string
		status int
		code   string
		retry  time.Duration
	}{
		{"mock-fail-429", 429, "rate_limit_exceeded", time.Second},
		{"mock-fail-500", 500, "server_error", 0},
		{"mock-fail-401-mini", 401, "invalid_api_key", 0},
		{"mock-fail-418", 418, "mock_failure", 0},
		{"mock-fail-599", 599, "mock_failure", 0},
	}
	for _, tc := range cases {
		t.Run(tc.model, func(t *testing.T) {
			p := newMock(t, nil)
			check := func(err error) {
				t.Helper()
				var se *providers.StatusError
				if !errors.As(err, &se) {
					t.Fatalf("err = %v", err)
				}
				if se.Status != tc.status || se.Code != tc.code || se.RetryAfter != tc.retry || se.Message == "" {
					t.Errorf("StatusError = %+v", se)
				}
				body := gjson.ParseBytes(se.Body)
				if body.Get("error.code").Str != tc.code || body.Get("error.message").Str != se.Message ||
					!body.Get("error.type").Exists() || body.Get("error.param").Raw != "null" {
					t.Errorf("body = %s", se.Body)
				}
				if got := se.Header.Get("Retry-After"); (tc.retry > 0) != (got == "1") {
					t.Errorf("Retry-After = %q", got)
				}
			}
			_, err := p.Do(context.Background(), chatReq(tc.model, plainBody))
			check(err)
			rec := &providertest.Sink{}
			_, err = p.Stream(context.Background(), chatReq(tc.model, usageBody), rec)
			check(err)
			if rec.Committed() {
				t.Error("failed stream wrote events")
			}
			_, err = p.Do(context.Background(), &providers.Request{Endpoint: providers.Embeddings, Model: tc.model, Body: []byte(`{"input":"x"}`)})
			check(err)
		})
	}
}

// Names that only resemble a marker are ordinary models.
func TestNotFailModels(t *testing.T) {
	p := newMock(t, nil)
	for _, m := range []string{"mock-fail-abc", "mock-fail-200", "mock-fail-", "failing-mock", "mock-cut-x"} {
		if _, err := p.Do(context.Background(), chatReq(m, plainBody)); err != nil {
			t.Errorf("%s: %v", m, err)
		}
	}
}

func TestCutModels(t *testing.T) {
	cases := []struct {
		model, body string
		content     int
	}{
		{"mock-cut-3", usageBody, 3},
		{"mock-cut-0", usageBody, 0},
		{"mock-cut-999", usageBody, -1},
		{"mock-cut-2", toolBody, 2},
	}
	for _, tc := range cases {
		t.Run(tc.model, func(t *testing.T) {
			p := newMock(t, nil)
			// The model name is part of the answer, so the uncut answer is
			// the cut model's own plan.
			pl, err := planChat(chatReq(tc.model, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			whole := pl.usage()
			want := tc.content
			if want < 0 {
				want = int(whole.CompletionTokens)
			}
			rec := &providertest.Sink{}
			u, err := p.Stream(context.Background(), chatReq(tc.model, tc.body), rec)
			if !errors.Is(err, providers.ErrStreamBroken) {
				t.Fatalf("err = %v", err)
			}
			if len(rec.Events) != want+1 {
				t.Errorf("events = %d, want role + %d content", len(rec.Events), want)
			}
			for _, ev := range rec.Events {
				if ev.Finish || ev.Done || ev.UsageOnly {
					t.Errorf("cut stream delivered %q", ev.Data)
				}
			}
			if u.CompletionTokens != sumTokens(rec.Events) || u.PromptTokens != whole.PromptTokens {
				t.Errorf("usage = %+v", u)
			}
			if u.Estimated != (u.CompletionTokens < whole.CompletionTokens) {
				t.Errorf("usage %+v estimated flag wrong (full %+v)", u, whole)
			}
			if _, err := p.Do(context.Background(), chatReq(tc.model, tc.body)); !errors.Is(err, providers.ErrStreamBroken) {
				t.Errorf("Do err = %v", err)
			}
		})
	}
}
