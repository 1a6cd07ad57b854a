package gateway_test

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/gateway"
	"github.com/llmgate/llmgate/internal/limits"
)

const limitedKey = "lg_limitedAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// 200 concurrent requests against a key with rpm 50: exactly 50 reach the
// upstream; the others get 429 rate_limit_exceeded with Retry-After and
// the x-ratelimit headers, and do not count.
func TestRPMExactThroughGateway(t *testing.T) {
	var hits atomic.Int32
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, b []byte) {
		hits.Add(1)
		jsonReply(200, fixture(t, "openai/chat-completion-text.json"))(w, r, b)
	})
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "oa", baseURL: up.URL, models: []string{"gpt-4o-mini"}}},
		keys: []gateway.StaticKey{{Secret: limitedKey, Name: "limited", Limits: limits.Limits{RPM: 50}}}})
	var ok, limited atomic.Int32
	var wg sync.WaitGroup
	var once sync.Once
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body := h.chat(chatBody("gpt-4o-mini", false, false), "Authorization", "Bearer "+limitedKey)
			switch resp.StatusCode {
			case 200:
				ok.Add(1)
				if resp.Header.Get("x-ratelimit-limit-requests") != "50" || resp.Header.Get("x-ratelimit-remaining-requests") == "" {
					t.Errorf("success without rate-limit headers: %v", resp.Header)
				}
			case 429:
				limited.Add(1)
				once.Do(func() {
					e := decodeErr(t, body)
					ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
					if e.Error.Type != "rate_limit_error" || e.Error.Code != "rate_limit_exceeded" || ra < 1 ||
						resp.Header.Get("x-ratelimit-remaining-requests") != "0" || resp.Header.Get("x-ratelimit-reset-requests") == "" {
						t.Errorf("429: %+v Retry-After %q headers %v", e.Error, resp.Header.Get("Retry-After"), resp.Header)
					}
					if strings.Contains(string(body), limitedKey) {
						t.Error("the error echoes the key")
					}
				})
			default:
				t.Errorf("status %d: %s", resp.StatusCode, body)
			}
		}()
	}
	wg.Wait()
	// The bucket refills at 50/min (one per 1.2 s); the burst of 200
	// finishes well within that, so at most one extra can slip in.
	if ok.Load() < 50 || ok.Load() > 51 || int(hits.Load()) != int(ok.Load()) {
		t.Fatalf("%d admitted (%d upstream hits), %d limited; want exactly 50", ok.Load(), hits.Load(), limited.Load())
	}
}

// A concurrency limit of 4 never lets a fifth request reach the upstream.
func TestConcurrencyLimitThroughGateway(t *testing.T) {
	var inflight, peak atomic.Int32
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, b []byte) {
		n := inflight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
		inflight.Add(-1)
		jsonReply(200, fixture(t, "openai/chat-completion-text.json"))(w, r, b)
	})
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "oa", baseURL: up.URL, models: []string{"gpt-4o-mini"}}},
		keys: []gateway.StaticKey{{Secret: limitedKey, Name: "limited", Limits: limits.Limits{Concurrency: 4}}}})
	var ok, limited atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := h.chat(chatBody("gpt-4o-mini", false, false), "Authorization", "Bearer "+limitedKey)
			if resp.StatusCode == 200 {
				ok.Add(1)
			} else if resp.StatusCode == 429 {
				limited.Add(1)
			}
		}()
	}
	wg.Wait()
	if peak.Load() > 4 || ok.Load() < 4 || limited.Load() == 0 {
		t.Fatalf("peak upstream concurrency %d, %d ok, %d limited", peak.Load(), ok.Load(), limited.Load())
	}
}

// The configured defaults apply to keys without limits of their own; a
// prompt larger than the tokens-per-minute bucket is refused outright.
func TestDefaultLimitsAndTooLarge(t *testing.T) {
	up := newUpstream(t, jsonReply(200, fixture(t, "openai/chat-completion-text.json")))
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "oa", baseURL: up.URL, models: []string{"gpt-4o-mini"}}},
		limits: limits.Limits{TPM: 100}})
	resp, _ := h.chat(chatBody("gpt-4o-mini", false, false))
	if resp.StatusCode != 200 || resp.Header.Get("x-ratelimit-limit-tokens") != "100" {
		t.Fatalf("status %d headers %v", resp.StatusCode, resp.Header)
	}
	big := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"` + strings.Repeat("word ", 200) + `"}]}`
	resp, body := h.chat(big)
	if resp.StatusCode != 429 || !strings.Contains(string(body), "larger than the key's tokens-per-minute limit") {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
}
