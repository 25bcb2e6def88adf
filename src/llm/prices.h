/* Price table: US dollars per million tokens for remote models.
 *
 * The shipped table is data/prices.json (installed to share/minions):
 *   { "as_of": "YYYY-MM-DD", "models": { "provider:model":
 *       { "input": 2.5, "cached_input": 1.25, "output": 10.0 }, ... } }
 * cached_input is optional (defaults to input). Lookup tries, in order:
 * the exact "provider:model"; the same model name under any provider (also
 * after dropping a vendor prefix such as "openai/" used by OpenRouter); the
 * longest known model name that is a prefix of the model ending at a '-',
 * ':', '@' or '/' ("gpt-4o-2024-08-06" -> "gpt-4o"), this provider's entries
 * first. Names compare case-insensitively with '.' equal to '-'
 * ("claude-sonnet-4.5" finds "claude-sonnet-4-5").
 */
#ifndef MN_LLM_PRICES_H
#define MN_LLM_PRICES_H

#include <stddef.h>

#include "minions.h"

typedef struct mn_price {
  double input;          /* $ per 1M prompt tokens not served from cache */
  double cached_input;   /* $ per 1M cached prompt tokens */
  double output;         /* $ per 1M completion tokens */
} mn_price;

typedef struct mn_prices mn_prices;

/* Load a price table from a file. Returns MN_OK, MN_ENOTFOUND/MN_EIO (file),
 * MN_ELIMIT (larger than 4 MiB) or MN_EPARSE (bad JSON, or a bad entry: the
 * message names the file and the key); *errmsg is set on failure (caller
 * frees). */
int mn_prices_load(mn_prices **out, const char *path, char **errmsg);
/* The same from text in memory; `name` is used in messages. */
int mn_prices_parse(mn_prices **out, const char *text, size_t len,
                    const char *name, char **errmsg);
void mn_prices_free(mn_prices *t);

/* Prices of a model, or NULL when unknown. Owned by the table. */
const mn_price *mn_prices_lookup(const mn_prices *t, const char *provider,
                                 const char *model);
/* The table's "as_of" date, or "" when absent. */
const char *mn_prices_as_of(const mn_prices *t);
size_t mn_prices_count(const mn_prices *t);

/* Dollars for usage u at price p (NULL p: -1, unknown). */
double mn_price_cost(const mn_price *p, const mn_usage *u);

#endif
