/* The privacy shield, text in, text out: what is found, how it is
 * numbered, what is left alone, names and their variants, restore. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "minions.h"
#include "privacy/privacy.h"
#include "util/mem.h"

/* redact `in` with p and compare with `want` */
static void redacts_to(mn_privacy *p, const char *in, const char *want)
{
  char *got = mn_privacy_redact(p, in);
  if(strcmp(got, want))
    fprintf(stderr, "in:   %s\ngot:  %s\nwant: %s\n", in, got, want);
  assert_string_equal(got, want);
  free(got);
}

static void restores_to(const mn_privacy *p, const char *in, const char *want)
{
  char *got = mn_privacy_restore(p, in);
  assert_string_equal(got, want);
  free(got);
}

static void unchanged(mn_privacy *p, const char *in)
{
  redacts_to(p, in, in);
}


static void each_kind_replaced(void **state)
{
  mn_privacy *p = mn_privacy_new();
  redacts_to(p,
    "Mail ann.lee@example.com or call (415) 555-0134. SSN 123-45-6789, card "
    "4111 1111 1111 1111, host 192.168.10.20 / 2001:db8::8a2e:370:7334. Born "
    "04/12/1980. Lives at 12 Oak Street, Springfield, IL 62704. MRN: 7654321.",
    "Mail [EMAIL_1] or call [PHONE_1]. SSN [SSN_1], card [CARD_1], host [IP_1] / "
    "[IP_2]. Born [DOB_1]. Lives at [ADDRESS_1]. MRN: [ID_1].");
  /* more shapes of the same kinds */
  redacts_to(p, "London office +44 20 7946 0958; fax 555.867.5309", "London office [PHONE_2]; fax [PHONE_3]");
  redacts_to(p, "Card 5500-0000-0000-0004 and 378282246310005 (Amex)", "Card [CARD_2] and [CARD_3] (Amex)");
  redacts_to(p, "Address: 1600 N. 5th St., Apt 4B, Portland, OR 97209-1234 (home)",
             "Address: [ADDRESS_2] (home)");
  redacts_to(p, "Send it to P.O. Box 7731, Eugene, OR 97401.", "Send it to [ADDRESS_3].");
  redacts_to(p, "Member ID: XKH-884512-09; policy number 22-7781-A", "Member ID: [ID_2]; policy number [ID_3]");
  redacts_to(p, "social security number: 219 09 9999", "social security number: [SSN_2]");
  redacts_to(p, "Patient (date of birth: 12 March 1975) seen today",
             "Patient (date of birth: [DOB_2]) seen today");
  redacts_to(p, "She was born in Lyon on March 4, 1950.", "She was born in Lyon on [DOB_3].");
  mn_privacy_free(p);
}

static void same_value_same_placeholder(void **state)
{
  mn_privacy *p = mn_privacy_new();
  redacts_to(p, "ann.lee@example.com, (415) 555-0134", "[EMAIL_1], [PHONE_1]");
  /* other spellings of the same values, in a later text */
  redacts_to(p, "Ann.Lee@Example.COM or +1 415-555-0134 or 415.555.0134",
             "[EMAIL_1] or [PHONE_1] or [PHONE_1]");
  redacts_to(p, "bob@example.net, then ann.lee@example.com", "[EMAIL_2], then [EMAIL_1]");
  /* a date of birth is the same date in any format, even without "born" */
  redacts_to(p, "DOB: 1975-03-04", "DOB: [DOB_1]");
  redacts_to(p, "date of birth March 4, 1975; visit 03/04/2024; on 4 March 1975 she",
             "date of birth [DOB_1]; visit 03/04/2024; on [DOB_1] she");
  /* a keyword-found ID is hidden where the keyword is missing too */
  redacts_to(p, "MRN 00482913", "MRN [ID_1]");
  redacts_to(p, "chart 00482913 was reviewed", "chart [ID_1] was reviewed");
  mn_privacy_free(p);
}

static void restore_round_trip(void **state)
{
  mn_privacy *p = mn_privacy_new();
  const char *names[] = { "Eleanor Vance" };
  assert_int_equal(mn_privacy_add_names(p, names, 1), MN_OK);
  const char *in =
    "Eleanor Vance (DOB 07/23/1961, SSN 539-48-2176) lives at 4417 Juniper Hollow Road, "
    "Millbrook, OR 97031; phone (541) 555-0187, e-mail eleanor.vance@example.org, "
    "clinic host 10.42.17.203. A note said [PERSON_7] and [ID_3] literally.";
  char *red = mn_privacy_redact(p, in);
  assert_null(strstr(red, "Eleanor"));
  assert_null(strstr(red, "555-0187"));
  assert_non_null(strstr(red, "[PERSON_7]"));   /* kept as written */
  char *back = mn_privacy_restore(p, red);
  assert_string_equal(back, in);
  free(red);
  free(back);
  /* what models do to placeholders: other case, no brackets */
  restores_to(p, "[person_1] aka PERSON_1 called [PHONE_1].",
              "Eleanor Vance aka Eleanor Vance called (541) 555-0187.");
  /* unknown or reserved placeholders and near misses stay */
  restores_to(p, "[PERSON_9] [PERSON_7] MY_PERSON_1 PERSON_1x [PERSON_1",
              "[PERSON_9] [PERSON_7] MY_PERSON_1 PERSON_1x [PERSON_1");
  mn_privacy_free(p);
}

static void placeholders_in_input_round_trip(void **state)
{
  mn_privacy *p = mn_privacy_new();
  const char *in = "Template: [PERSON_1] wrote to [EMAIL_1]; real: bob@example.org";
  redacts_to(p, in, "Template: [PERSON_1] wrote to [EMAIL_1]; real: [EMAIL_2]");
  /* numbers seen in the input are never handed out */
  const char *names[] = { "Bob Stone" };
  mn_privacy_add_names(p, names, 1);
  redacts_to(p, "Bob Stone", "[PERSON_2]");
  char *red = mn_privacy_redact(p, in);
  char *back = mn_privacy_restore(p, red);
  assert_string_equal(back, in);
  free(red);
  free(back);
  /* our own placeholders pass through a second redaction unchanged */
  redacts_to(p, "[PERSON_2] and [EMAIL_2]", "[PERSON_2] and [EMAIL_2]");
  mn_privacy_free(p);
}

static void no_false_positives(void **state)
{
  mn_privacy *p = mn_privacy_new();
  static const char *const keep[] = {
    "Net sales were $1,577 million in 2019, up 12.5% from $1,402 million.",
    "Blood pressure 160/100 mmHg, repeat 158/96 mmHg; heart rate 84/min.",
    "LDL cholesterol 170 mg/dL, glucose 104 mg/dL, HbA1c 5.8%, creatinine 0.9 mg/dL.",
    "Visit on 03/15/2024; follow-up 2024-04-12; labs drawn March 15, 2024.",
    "Q3 2023 results, Form 10-K, Item 7A, Note 12. Long-Term Debt.",
    "Years 2016 2017 2018 2019 and 2015-2019; ZIP 62704; 1,234,567 shares.",
    "version 1.2.3.4.5, time 10:30:00, std::vector, a::b::c, ratio 3:2.",
    "under the 1998 London Court of International Arbitration Rules",
    "Grant the request in May. Will Young Hope to Mark the Page?",
    "ISBN 978-0-306-40615-7; part no. 12-345; invoice 2023-0042; $555-1234 cost",
    "Call option strike 45.50; call at 5 pm; phone it in.",
    "See pages 123 456 7890 of the appendix (table 3 4 5 6 7 8 9 10 11 12).",
    "Dosage: 1 tablet every 8 hours; 2 Street-level factors; the 3 Drive belts.",
    "the patient was born prematurely; born in 1961 in Ohio.",
  };
  for(size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
    unchanged(p, keep[i]);
  json_t *s = mn_privacy_summary(p);
  json_t *h = json_object_get(s, "replacements");
  const char *k;
  json_t *v;
  json_object_foreach(h, k, v)
    assert_int_equal(json_integer_value(v), 0);
  json_decref(s);
  mn_privacy_free(p);
}

/* Amounts, years and dates of a real 10-K survive redaction. */
static void real_filing_numbers_survive(void **state)
{
  const char *shared = getenv("MN_SHARED_DIR");
  char *cmd = mn_xasprintf("pdftotext -enc UTF-8 '%s/data/financebench/pdfs/3M_2018_10K.pdf' - 2>/dev/null",
                           shared ? shared : "../shared");
  FILE *f = popen(cmd, "r");
  free(cmd);
  if(!f)
    skip();
  size_t cap = 1 << 20, n = 0;
  char *text = mn_xmalloc(cap);
  size_t k;
  while((k = fread(text + n, 1, cap - n - 1, f)) > 0) {
    n += k;
    if(n + 1 == cap)
      text = mn_xrealloc(text, cap *= 2);
  }
  pclose(f);
  text[n] = '\0';
  if(n < 100000) {
    free(text);
    skip();
  }
  mn_privacy *p = mn_privacy_new();
  char *red = mn_privacy_redact(p, text);
  /* every "$amount" and every 4-digit year is still there, as often */
  for(const char *s = text; (s = strchr(s, '$')); s++) {
    size_t len = strspn(s + 1, "0123456789,.");
    if(len == 0)
      continue;
    char *amount = mn_xstrndup(s, len + 1);
    assert_non_null(strstr(red, amount));
    free(amount);
  }
  size_t years_in = 0, years_out = 0;
  for(const char *s = text; (s = strstr(s, "2018")); s++)
    years_in++;
  for(const char *s = red; (s = strstr(s, "2018")); s++)
    years_out++;
  assert_int_equal(years_in, years_out);
  /* only a handful of values in a whole filing are personal-looking */
  json_t *sum = mn_privacy_summary(p);
  json_int_t total = 0;
  const char *key;
  json_t *v;
  json_object_foreach(json_object_get(sum, "replacements"), key, v)
    total += json_integer_value(v);
  assert_true(total < 20);
  json_decref(sum);
  free(red);
  free(text);
  mn_privacy_free(p);
}

static void names_and_variants(void **state)
{
  mn_privacy *p = mn_privacy_new();
  const char *names[] = { "Maria L. Gonzalez", "Dr. Alan Grant", "maria l. gonzalez" };
  assert_int_equal(mn_privacy_add_names(p, names, 3), MN_OK);
  assert_int_equal(mn_privacy_name_count(p), 2);   /* titles stripped, duplicates merged */
  redacts_to(p,
    "Maria L. Gonzalez saw Dr. Grant. Later Ms. Gonzalez, maria gonzalez and "
    "GONZALEZ, Maria came back; M. Gonzalez's file. Grant the request. Maria called. "
    "Alan Grant\nsigned. Gonzalezes and Marian are other words.",
    "[PERSON_1] saw Dr. [PERSON_2]. Later Ms. [PERSON_1], [PERSON_1] and "
    "[PERSON_1] came back; [PERSON_1]'s file. Grant the request. [PERSON_1] called. "
    "[PERSON_2]\nsigned. Gonzalezes and Marian are other words.");
  /* a variant comes back as the full registered name */
  restores_to(p, "Ms. [PERSON_1]", "Ms. Maria L. Gonzalez");
  /* hyphenated surnames: the whole and its pieces */
  const char *more[] = { "Eleanor Vance-Whitaker" };
  mn_privacy_add_names(p, more, 1);
  redacts_to(p, "Mrs. Vance-Whitaker (Mrs. Whitaker) and VANCE-WHITAKER, ELEANOR",
             "Mrs. [PERSON_3] (Mrs. [PERSON_3]) and [PERSON_3]");
  /* lower-case and capitalised common words are not names alone */
  redacts_to(p, "grant funding; gonzalez (lower case) stays", "grant funding; gonzalez (lower case) stays");
  mn_privacy_free(p);
}

static void shared_parts_and_titles(void **state)
{
  mn_privacy *p = mn_privacy_new();
  const char *names[] = { "John Smith", "Jane Smith" };
  mn_privacy_add_names(p, names, 2);
  /* "Smith" alone could be either: its own placeholder, never the wrong one */
  redacts_to(p, "John Smith met Jane Smith. Smith left; John stayed.",
             "[PERSON_1] met [PERSON_2]. [PERSON_3] left; [PERSON_1] stayed.");
  restores_to(p, "[PERSON_3]", "Smith");
  /* names after a title or a label are registered by redaction itself */
  redacts_to(p, "Seen by Dr. Rajesh Iyer; Dr. Iyer will call.\n  Patient: Tomas Okafor",
             "Seen by Dr. [PERSON_4]; Dr. [PERSON_4] will call.\n  Patient: [PERSON_5]");
  /* a name seen only after a title: its parts alone need a title too
   * ("Prof. Code Sec." must not hide every "Code") ... */
  redacts_to(p, "Iyer and Okafor agreed. Rajesh Iyer, too.", "Iyer and [PERSON_5] agreed. [PERSON_4], too.");
  redacts_to(p, "Under Prof. Code Sec. 17200; see the Code.", "Under Prof. [PERSON_6]. 17200; see the Code.");
  /* ... until the local model names the person */
  const char *confirmed[] = { "Rajesh Iyer" };
  mn_privacy_add_names(p, confirmed, 1);
  redacts_to(p, "Iyer and Okafor agreed.", "[PERSON_4] and [PERSON_5] agreed.");
  /* a one-word name seen only after a title keeps its other meaning */
  redacts_to(p, "Mr. France joined in 2000. Sales in France grew; Mr. France said so.",
             "Mr. [PERSON_7] joined in 2000. Sales in France grew; Mr. [PERSON_7] said so.");
  /* "Mr. Hauk" before "Bruce Hauk" in one text: one person */
  redacts_to(p, "Mr. Hauk spoke.\nName: Bruce Hauk\nHauk agreed.",
             "Mr. [PERSON_8] spoke.\nName: [PERSON_8]\n[PERSON_8] agreed.");
  restores_to(p, "[PERSON_8]", "Bruce Hauk");
  mn_privacy_free(p);
}

static void announced_names(void **state)
{
  mn_privacy *p = mn_privacy_new();
  /* a form's label, in capitals: registered in title case, parts match */
  redacts_to(p, "PATIENT: ELEANOR VANCE\nNotes: Eleanor came; Vance left; VANCE, ELEANOR signed.",
             "PATIENT: [PERSON_1]\nNotes: [PERSON_1] came; [PERSON_1] left; [PERSON_1] signed.");
  restores_to(p, "[PERSON_1]", "Eleanor Vance");
  /* a label inside a sentence, or with one word, announces no one */
  unchanged(p, "The product name: Post-it Notes. Notes follow.");
  unchanged(p, "Patient: Female, 62 years old.");
  /* "MR imaging" is no title */
  unchanged(p, "MR Imaging showed nothing.");
  assert_int_equal(mn_privacy_name_count(p), 1);
  mn_privacy_free(p);
}

static void names_that_are_not_names(void **state)
{
  mn_privacy *p = mn_privacy_new();
  const char *junk[] = { "[PERSON_1]", "john@example.org", "the patient", "Springfield General Hospital",
                         "Room 12", "", "   ", "A", "Dr.", "Line\nBreak", "<script>", NULL };
  assert_int_equal(mn_privacy_add_names(p, junk, sizeof junk / sizeof junk[0]), MN_OK);
  assert_int_equal(mn_privacy_name_count(p), 0);
  /* over-long names are refused too */
  char longname[400];
  memset(longname, 'a', sizeof longname - 1);
  longname[0] = 'A';
  longname[sizeof longname - 1] = '\0';
  const char *ln[] = { longname };
  mn_privacy_add_names(p, ln, 1);
  assert_int_equal(mn_privacy_name_count(p), 0);
  mn_privacy_free(p);
}

static void unicode_names(void **state)
{
  mn_privacy *p = mn_privacy_new();
  const char *names[] = { "José Núñez" };
  mn_privacy_add_names(p, names, 1);
  redacts_to(p, "JOSÉ NÚÑEZ, Núñez and josé núñez; not Josélito Núñeza.",
             "[PERSON_1], [PERSON_1] and [PERSON_1]; not Josélito Núñeza.");
  /* broken UTF-8 around a name: still found, nothing else touched */
  redacts_to(p, "\xff\xfeJosé Núñez\xc3", "\xff\xfe[PERSON_1]\xc3");
  mn_privacy_free(p);
}

static void summary_counts(void **state)
{
  mn_privacy *p = mn_privacy_new();
  const char *names[] = { "Ann Lee" };
  mn_privacy_add_names(p, names, 1);
  free(mn_privacy_redact(p, "Ann Lee, ann@example.com, Ann, ann@example.com, bo@example.com"));
  free(mn_privacy_redact(p, "SSN 123-45-6789"));
  json_t *s = mn_privacy_summary(p);
  json_t *v = json_object_get(s, "values"), *r = json_object_get(s, "replacements");
  assert_int_equal(json_integer_value(json_object_get(v, "person")), 1);
  assert_int_equal(json_integer_value(json_object_get(r, "person")), 2);
  assert_int_equal(json_integer_value(json_object_get(v, "email")), 2);
  assert_int_equal(json_integer_value(json_object_get(r, "email")), 3);
  assert_int_equal(json_integer_value(json_object_get(v, "ssn")), 1);
  assert_int_equal(json_integer_value(json_object_get(r, "phone")), 0);
  assert_int_equal(json_object_size(v), 9);
  /* counts only: no value appears in the summary */
  char *dump = json_dumps(s, 0);
  assert_null(strstr(dump, "example"));
  assert_null(strstr(dump, "Lee"));
  free(dump);
  json_decref(s);
  mn_privacy_free(p);
}

static void hostile_inputs(void **state)
{
  mn_privacy *p = mn_privacy_new();
  const char *names[] = { "Ann Lee" };
  mn_privacy_add_names(p, names, 1);
  size_t n = 1 << 20;
  char *s = mn_xmalloc(n + 1);
  static const char *const fills[] = { "0123456789", "@", "[", "(", "1-", "1.", "a@b.", ":",
                                       "12 Oak ", "Dr. ", "born ", "MRN ", "\xff", "Ann " };
  for(size_t f = 0; f < sizeof fills / sizeof fills[0]; f++) {
    size_t fl = strlen(fills[f]);
    for(size_t i = 0; i < n; i++)
      s[i] = fills[f][i % fl];
    s[n] = '\0';
    char *r = mn_privacy_redact(p, s);
    char *b = mn_privacy_restore(p, r);
    /* what comes back is the input ("Ann" alone restores to "Ann Lee") */
    if(strcmp(fills[f], "Ann "))
      assert_true(!strcmp(b, s));
    else
      assert_non_null(strstr(r, "[PERSON_1]"));
    free(r);
    free(b);
  }
  /* random bytes: no crash, and what comes back restores */
  srand(7);
  for(int round = 0; round < 200; round++) {
    size_t len = (size_t)(rand() % 400);
    for(size_t i = 0; i < len; i++) {
      static const char alphabet[] = "0123456789 -.()+@:/[]_ABCDEFabcdefPERSONID\n\xc3\xa9\xff";
      s[i] = alphabet[rand() % (int)(sizeof alphabet - 1)];
    }
    s[len] = '\0';
    char *r = mn_privacy_redact(p, s);
    char *b = mn_privacy_restore(p, r);
    free(r);
    free(b);
  }
  free(s);
  char *r = mn_privacy_redact(p, NULL);
  assert_string_equal(r, "");
  free(r);
  mn_privacy_free(p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(each_kind_replaced),
    cmocka_unit_test(same_value_same_placeholder),
    cmocka_unit_test(restore_round_trip),
    cmocka_unit_test(placeholders_in_input_round_trip),
    cmocka_unit_test(no_false_positives),
    cmocka_unit_test(real_filing_numbers_survive),
    cmocka_unit_test(names_and_variants),
    cmocka_unit_test(shared_parts_and_titles),
    cmocka_unit_test(announced_names),
    cmocka_unit_test(names_that_are_not_names),
    cmocka_unit_test(unicode_names),
    cmocka_unit_test(summary_counts),
    cmocka_unit_test(hostile_inputs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
