/* The privacy shield (--privacy), text in, text out: personal data in every text bound for the
 * remote model is replaced by stable placeholders, and the placeholders in
 * the remote's final answer are mapped back for the user.
 *
 * What is found, and how:
 *   [EMAIL_n]    e-mail addresses
 *   [PHONE_n]    phone numbers: +CC international, North American
 *                (NNN) NNN-NNNN / NNN-NNN-NNNN / NNN.NNN.NNNN, and any 7-15
 *                digit grouping after a word like "phone", "tel", "fax"
 *   [SSN_n]      NNN-NN-NNNN (valid SSN ranges), and numbers after "SSN",
 *                "social security", "national ID", "NHS number", ...
 *   [CARD_n]     13-19 digits, plain or in 4-groups (or 4-6-5, 4-6-4) with
 *                spaces or dashes, Luhn-valid
 *   [IP_n]       IPv4 and IPv6 addresses
 *   [DOB_n]      dates right after "born", "DOB", "date of birth", ...; the
 *                same date written in another format elsewhere too. Other
 *                dates (visits, filings) are kept: tasks need them.
 *   [ADDRESS_n]  street addresses (number + capitalised street name + a
 *                suffix such as Street/St/Avenue/Rd/Dr/Ct/Way, then an
 *                optional unit and city, state, ZIP) and P.O. boxes
 *   [ID_n]       medical record numbers and similar identifiers after
 *                "MRN", "member ID", "policy number", "account number", ...
 *   [PERSON_n]   registered names (mn_privacy_add_names, usually found by
 *                the local model: src/protocol/privacy.h), names after a
 *                title ("Dr. Grant", "Mrs. Li") and after a form label at
 *                the start of a line ("Patient: Maria Gonzalez"). A
 *                registered "Maria L. Gonzalez" also covers "Maria
 *                Gonzalez", "Gonzalez, Maria", "M. Gonzalez", and "Maria" or
 *                "Gonzalez" alone when written with the same capitals (so
 *                "grant" the verb stays while "Grant" goes). Lone parts
 *                need a title in front ("Dr. Grant") when they are common
 *                capitalised words ("May", "Young", "Grant", "France"), or
 *                when the name was only ever seen after a title ("Prof.
 *                Code Sec." must not hide every "Code") until the model or
 *                a label confirms it. A part shared by two registered
 *                people gets its own placeholder rather than naming the
 *                wrong one. Restore gives the full registered name for any
 *                variant ("Ms. [PERSON_1]" -> "Ms. Maria L. Gonzalez").
 * Left alone on purpose: amounts ("$1,577 million"), years, plain dates,
 * lab values ("160/100 mmHg", "170 mg/dL"), ZIP codes alone, and anything
 * already shaped like a placeholder.
 *
 * Placeholders are numbered per kind in order of first sight, and one value
 * keeps its placeholder for the life of the handle (values are compared in
 * a normal form: digits of numbers, lower-case e-mails, the calendar date of
 * a DOB, the person a name variant belongs to). A placeholder-shaped token
 * found in the input ("[PERSON_7]" in a document) is left as it is and, if
 * that number was not handed out yet, never will be; so redact-then-restore
 * gives back the input, name variants aside (see above). A placeholder of
 * this handle in the input is also left as it is: redacting twice is safe.
 * IDs, SSNs and dates of birth found next to their keyword are hidden where
 * they recur without it ("chart 00482913" after "MRN: 00482913").
 *
 * Text is UTF-8; patterns are ASCII, names compare case-insensitively over
 * Unicode, and a match never starts or ends inside a code point or a word.
 * Shapes (e-mail, IP, SSN, card, phone) are a table of PCRE2 patterns,
 * each with a validator; every pattern is bounded (no nested repeats) and
 * runs under a match limit. Context finders and names only move forward.
 *
 * A handle is not thread-safe; use one per run.
 */
#ifndef MN_PRIVACY_PRIVACY_H
#define MN_PRIVACY_PRIVACY_H

#include <jansson.h>
#include <stddef.h>

#include "minions.h"

/* Most person names one handle registers; past it mn_privacy_add_names()
 * refuses with MN_ELIMIT (the caller must then not send the text). */
#define MN_PRIVACY_MAX_NAMES 2000
/* Longest name accepted, in bytes. */
#define MN_PRIVACY_MAX_NAME_BYTES 120

typedef struct mn_privacy mn_privacy;

/* A new, empty shield. Free with mn_privacy_free() (NULL is a no-op). */
mn_privacy *mn_privacy_new(void);
void mn_privacy_free(mn_privacy *p);

/* Register person names (strings borrowed for the call, copied). Titles
 * ("Dr.", "Mrs") and suffixes ("Jr.", "MD") are stripped; strings that
 * cannot be names (digits, '@', brackets, lower-case words, longer than
 * MN_PRIVACY_MAX_NAME_BYTES, more than 6 words) are skipped. Registering
 * the same name again (any case or spacing) changes nothing. Returns MN_OK,
 * or MN_ELIMIT when MN_PRIVACY_MAX_NAMES is reached (the names before the
 * cap are registered). */
int mn_privacy_add_names(mn_privacy *p, const char *const *names, size_t n);

/* Number of person names registered so far. */
size_t mn_privacy_name_count(const mn_privacy *p);

/* Copy of `text` with every personal datum replaced by its placeholder
 * (caller frees). Also registers names found after titles. Never NULL. */
char *mn_privacy_redact(mn_privacy *p, const char *text);

/* Copy of `text` with every known placeholder replaced by its original
 * value (caller frees). Accepts what models do to placeholders: any case
 * ("[Person_1]") and missing brackets ("PERSON_1"). Unknown placeholders
 * stay as they are. Never NULL. */
char *mn_privacy_restore(const mn_privacy *p, const char *text);

/* Counts for the run log, never values: {"values": {"person": N, "email":
 * N, ...}, "replacements": {...same keys...}} where values counts distinct
 * values replaced and replacements counts occurrences. New reference. */
json_t *mn_privacy_summary(const mn_privacy *p);

/* Register those of `names` that occur in `text` (any case, any spacing;
 * the rest are dropped as hallucinated). Returns how many were new, or
 * MN_ELIMIT. */
int mn_privacy_add_names_in(mn_privacy *p, const char *const *names, size_t n,
                            const char *text);

#endif
