package providertest

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/llmgate/llmgate/internal/fixtures"
	"github.com/llmgate/llmgate/providers"
)

// fixturesDir is looked up once, on first use, so a package whose tests
// need no fixture does not need the fixtures directory either.
var fixturesDir = sync.OnceValue(fixtures.MustDir)

// FixturePath joins parts onto the shared fixtures directory
// (../shared/fixtures beside the repository, or $LLMGATE_FIXTURES).
func FixturePath(parts ...string) string {
	return filepath.Join(append([]string{fixturesDir()}, parts...)...)
}

// Fixture reads the fixture at FixturePath(parts...), failing the test if
// it cannot.
func Fixture(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(FixturePath(parts...))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return b
}

// New builds a provider of the registered type cfg.Type, named "acct"
// unless cfg names it, as the gateway would from its configuration.
func New(t testing.TB, cfg providers.Config) providers.Provider {
	t.Helper()
	tp, ok := providers.Lookup(cfg.Type)
	if !ok {
		t.Fatalf("type %q not registered", cfg.Type)
	}
	if cfg.Name == "" {
		cfg.Name = "acct"
	}
	p, err := tp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
