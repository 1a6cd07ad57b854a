// Package catalog is the gateway's model catalogue and price table.
//
// The data lives in models.json, embedded at build time so a binary always
// carries a price for every model it knows how to route, even with no
// network and no configuration (the keyless demo bills the mock models at
// realistic rates). Operators extend or correct it from the Caddyfile with
// Catalog.With rather than by editing the file, so an upgrade never loses
// their overrides.
//
// Prices are USD per 1M tokens. Token counts follow OpenAI's meaning:
// cached and cache-write tokens are subsets of prompt tokens, and reasoning
// tokens are a subset of completion tokens, so every provider's usage is
// normalised to that shape before it is priced here.
package catalog
