package mock

import (
	"context"
	"errors"
	"testing"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
)

func TestRegistered(t *testing.T) {
	typ, ok := providers.Lookup("mock")
	if !ok || typ.Family != "mock" || !typ.KeyOptional || typ.New == nil {
		t.Fatalf("type = %+v, %v", typ, ok)
	}
	p, err := typ.New(providers.Config{Name: "demo", Type: "mock"})
	if err != nil {
		t.Fatal(err)
	}
	c, ok := p.(providers.Capable)
	want := providers.Capabilities{Tools: true, Vision: true, JSONSchema: true, Reasoning: true, AssistantPrefix: true, Embeddings: true}
	if !ok || c.Capabilities() != want {
		t.Errorf("capabilities = %+v", c)
	}
}

func TestNewOptions(t *testing.T) {
	for _, tc := range []struct {
		opts map[string]string
		ok   bool
	}{
		{nil, true},
		{map[string]string{"delay": "15ms", "first_token_delay": "1s"}, true},
		{map[string]string{"delay": ""}, true},
		{map[string]string{"delay": "fast"}, false},
		{map[string]string{"first_token_delay": "-1s"}, false},
	} {
		_, err := New(providers.Config{Options: tc.opts})
		if (err == nil) != tc.ok {
			t.Errorf("New(%v) err = %v", tc.opts, err)
		}
	}
}

func TestUnsupportedEndpoints(t *testing.T) {
	p := newMock(t, nil)
	var se *providers.StatusError
	_, err := p.Do(context.Background(), &providers.Request{Endpoint: "images/generations", Model: "m", Body: []byte(`{}`)})
	if !errors.As(err, &se) || se.Status != 404 {
		t.Errorf("Do err = %v", err)
	}
	_, err = p.Stream(context.Background(), &providers.Request{Endpoint: providers.Embeddings, Model: "m", Body: []byte(`{"input":"x"}`)}, &providertest.Sink{})
	if !errors.As(err, &se) || se.Status != 400 {
		t.Errorf("Stream err = %v", err)
	}
}
