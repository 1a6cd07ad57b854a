package providers

import (
	"fmt"
	"sort"
	"sync"
)

// Config is one configured account (a `provider NAME { … }` block) after
// placeholders were expanded.
type Config struct {
	// Name is the account name routes, fallbacks and pins refer to.
	Name string
	// Type is the registered provider type ("openai", "groq", "mock", …).
	Type string
	// BaseURL overrides the type's default base URL.
	BaseURL string
	// APIKey is the account's credential. Never logged.
	APIKey string
	// Headers are extra headers sent on every upstream request.
	Headers map[string]string
	// Timeouts bound each attempt on this account.
	Timeouts Timeouts
	// Options holds type-specific settings (for example an API version).
	Options map[string]string
}

// Factory builds a Provider for one account.
type Factory func(cfg Config) (Provider, error)

// Type describes a registered provider type.
type Type struct {
	// Name is the value of the `type` option.
	Name string
	// Family is the catalogue family whose models the type serves by
	// default ("openai" for the openai type, "groq" for groq, …).
	Family string
	// DefaultBaseURL is used when the account sets none.
	DefaultBaseURL string
	// KeyOptional reports that the type works without an API key (mock,
	// local servers); other types are skipped with a warning when the key
	// resolves to empty.
	KeyOptional bool
	// New builds a provider for one account.
	New Factory
}

var (
	typesMu sync.RWMutex
	types   = map[string]Type{}
)

// Register makes a provider type available. It panics on a duplicate name,
// as registration happens in init functions.
func Register(t Type) {
	typesMu.Lock()
	defer typesMu.Unlock()
	if _, dup := types[t.Name]; dup {
		panic(fmt.Sprintf("providers: type %q registered twice", t.Name))
	}
	if t.Family == "" {
		t.Family = t.Name
	}
	types[t.Name] = t
}

// Lookup returns the registered type by name.
func Lookup(name string) (Type, bool) {
	typesMu.RLock()
	defer typesMu.RUnlock()
	t, ok := types[name]
	return t, ok
}

// TypeNames lists the registered type names, sorted.
func TypeNames() []string {
	typesMu.RLock()
	defer typesMu.RUnlock()
	names := make([]string, 0, len(types))
	for n := range types {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
