/* Scoring an answer against a gold answer without a model: numbers with a
 * tolerance, and normalised text. (The LLM judge is in judge.c.)
 *
 * Numbers are read the way filings and answers write them: "$1,577.00",
 * "(370)" (negative), "-14.76%", "$1.2 billion", "2.5bn", "1,200 million",
 * "0.69 times". A value keeps its unit word and its scale apart, so "$1.2
 * billion" equals "1200 million" and also gold "$1200.00" given for a
 * question asked "in USD millions". Years (1900-2100 written as a bare
 * integer) are not taken as the answer's figure unless the gold is one.
 */
#ifndef MN_EVAL_SCORE_H
#define MN_EVAL_SCORE_H

#include <stddef.h>

#define MN_SCORE_TOLERANCE 0.01   /* relative, default of --tolerance */
#define MN_SCORE_REASON_MAX 256

typedef struct mn_number {
  double mantissa;   /* signed, as written, without the scale word */
  double scale;      /* 1, 1e3, 1e6, 1e9, 1e12 */
  int percent;       /* written with % or "percent" */
  int year;          /* a bare integer 1900..2100 */
  size_t off, len;   /* where in the text */
} mn_number;

/* The numbers in text, in order (at most max). */
size_t mn_score_numbers(const char *text, mn_number *out, size_t max);

/* Is the gold answer essentially one figure ("$1577.00", "1.9%", "24.26",
 * "0.69 times")? Such golds are scored by number. */
int mn_score_gold_is_numeric(const char *gold);

/* 1 when a figure of the answer equals the gold's first figure within the
 * relative tolerance (allowing for scale words and percent written as a
 * fraction), 0 when none does, -1 when the gold has no figure. reason
 * (MN_SCORE_REASON_MAX bytes) says which figure matched or what was
 * compared. */
int mn_score_numeric(const char *answer, const char *gold, double tolerance, char *reason);

/* 1 when the normalised answer equals the normalised gold (case, articles,
 * punctuation and spacing ignored), or the gold is short (at most 6 words)
 * and the answer starts with it as whole words ("Yes" and "Yes, because
 * ..."); else 0. */
int mn_score_exact(const char *answer, const char *gold, char *reason);

#endif
