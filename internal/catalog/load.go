package catalog

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"
)

//go:embed models.json
var embedded []byte

// file is the layout of models.json. About and Attribution are prose for
// humans (units, licence notice) and are only parsed so that unknown keys
// can still be rejected.
type file struct {
	About       string  `json:"about"`
	Attribution string  `json:"attribution"`
	Models      []Model `json:"models"`
}

var (
	defaultOnce sync.Once
	defaultCat  *Catalog
)

// Default returns the embedded catalogue, parsed on first use. It panics if
// the embedded file is invalid: that is a build defect, caught by the
// package tests, not a runtime condition a caller could handle.
func Default() *Catalog {
	defaultOnce.Do(func() {
		c, err := Parse(embedded)
		if err != nil {
			panic(fmt.Sprintf("catalog: embedded models.json: %v", err))
		}
		defaultCat = c
	})
	return defaultCat
}

// Parse builds a catalogue from a models.json document. Beyond Validate it
// requires every entry to name its source and checked date, and no id or
// alias may appear twice, since a shipped price must be traceable and
// unambiguous. Unknown fields are errors so a misspelt key cannot silently
// zero a price.
func Parse(data []byte) (*Catalog, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidModel, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the document", ErrInvalidModel)
	}
	seen := make(map[string]string)
	models := make([]*Model, 0, len(f.Models))
	for _, m := range f.Models {
		if err := Validate(m); err != nil {
			return nil, err
		}
		if m.Source == "" || m.Checked == "" || len(m.Families) == 0 {
			return nil, fmt.Errorf("%w %q: families, source and checked are required", ErrInvalidModel, m.ID)
		}
		for _, name := range append([]string{m.ID}, m.Aliases...) {
			if prev, dup := seen[key(name)]; dup {
				return nil, fmt.Errorf("%w: %q in %q and %q", ErrDuplicateName, name, prev, m.ID)
			}
			seen[key(name)] = m.ID
		}
		models = append(models, m.clone())
	}
	return build(models), nil
}
