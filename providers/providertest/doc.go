// Package providertest holds the helpers the provider packages' tests
// share: a recording fake upstream, SSE replay, a recording Sink, fixture
// loading and provider construction. It is for tests only; nothing in the
// gateway imports it. Keeping one copy means a fix to, say, how the Sink
// decides it is committed reaches every provider's tests at once.
package providertest
