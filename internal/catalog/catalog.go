package catalog

import (
	"slices"
	"strings"
)

// Catalog is an immutable set of models indexed by id and alias. Building
// one copies every entry, and nothing mutates it afterwards, so a Catalog is
// safe for concurrent use. The *Model values it hands out point into it and
// must not be modified.
type Catalog struct {
	models   []*Model            // sorted by ID
	index    map[string]*Model   // key(id or alias) → model
	byFamily map[string][]*Model // lower-case family → models, sorted by ID
}

// build indexes models (which it takes ownership of). Later entries win over
// earlier ones for the same id, and an id always wins over an alias, so an
// override can never be shadowed by someone else's alias.
func build(models []*Model) *Catalog {
	byID := make(map[string]*Model, len(models))
	for _, m := range models {
		byID[key(m.ID)] = m
	}
	c := &Catalog{
		index:    make(map[string]*Model, 2*len(byID)),
		byFamily: make(map[string][]*Model),
	}
	for _, m := range byID {
		c.models = append(c.models, m)
	}
	slices.SortFunc(c.models, func(a, b *Model) int { return strings.Compare(a.ID, b.ID) })
	for _, m := range c.models {
		for _, a := range m.Aliases {
			c.index[key(a)] = m
		}
	}
	for _, m := range c.models {
		c.index[key(m.ID)] = m
		for _, f := range m.Families {
			f = strings.ToLower(f)
			if !slices.Contains(c.byFamily[f], m) {
				c.byFamily[f] = append(c.byFamily[f], m)
			}
		}
	}
	return c
}

// With returns a new catalogue holding c's entries plus extra, where an
// extra entry replaces the entry with the same id (case-insensitive) as a
// whole. It is how Caddyfile `model NAME {…}` blocks reach the catalogue;
// those should be checked with Validate first, because With has no error
// to report and skips entries without an id. c itself is unchanged.
func (c *Catalog) With(extra ...Model) *Catalog {
	all := make([]*Model, 0, len(c.models)+len(extra))
	for _, m := range c.models {
		all = append(all, m.clone())
	}
	for _, m := range extra {
		if key(m.ID) == "" {
			continue
		}
		all = append(all, m.clone())
	}
	return build(all)
}

// Lookup finds a model by id or alias, case-insensitively. Failing that it
// retries without a trailing date suffix, then with only the last "/"
// segment (vendor or account prefixes), then that segment undated, so
// snapshot and routed names still find a price.
func (c *Catalog) Lookup(model string) (*Model, bool) {
	for _, k := range candidates(model) {
		if m, ok := c.index[k]; ok {
			return m, true
		}
	}
	return nil, false
}

// ForFamily returns the models whose Families include family
// (case-insensitive), sorted by ID: the default model list of an account
// of that provider type. The slice is the caller's to keep.
func (c *Catalog) ForFamily(family string) []*Model {
	return slices.Clone(c.byFamily[strings.ToLower(family)])
}

// All returns every model sorted by ID. The slice is the caller's to keep.
func (c *Catalog) All() []*Model { return slices.Clone(c.models) }

// Cost prices u for the named model. known is false, and usd 0, when the
// model is not in the catalogue, so callers can tell "free" from "unpriced".
func (c *Catalog) Cost(model string, u Usage) (usd float64, known bool) {
	m, ok := c.Lookup(model)
	if !ok {
		return 0, false
	}
	return m.Cost(u), true
}
