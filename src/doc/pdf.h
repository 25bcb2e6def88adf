/* PDF to text through poppler's `pdftotext`, run as child processes.
 *
 * `pdftotext -enc UTF-8 FILE -` is started with an argv (no shell) and its
 * standard output read under a byte cap and a deadline; page breaks come out
 * as form feeds, which the chunkers turn into page numbers. Several files
 * are converted by up to `parallel` children at once from one poll() loop
 * (no threads), and the texts come back in the order of the paths.
 */
#ifndef MN_DOC_PDF_H
#define MN_DOC_PDF_H

#include <stddef.h>

/* Deadline for one file, in seconds. */
#define MN_PDF_TIMEOUT_S 120.0

/* Sensible number of parallel children for this machine (2..4). */
int mn_pdf_default_parallel(void);

/* Convert paths[0..n). On success texts[i] (malloc'd, NUL-terminated, the
 * raw output: not yet UTF-8-checked) and lens[i] are set for every i and 0
 * is returned. The outputs together may not pass max_total bytes (0: no
 * cap). On failure every child is killed and reaped, nothing is left
 * allocated in texts, and *errmsg (caller frees) names the file:
 *   MN_EUNSUPPORTED "pdftotext not found: install poppler-utils"
 *   MN_EPARSE   pdftotext failed (its most telling stderr line) or was killed
 *   MN_ETIMEOUT a file took longer than timeout_s
 *   MN_ELIMIT   max_total would be passed
 *   MN_EIO      the child could not be started or read. */
int mn_pdf_extract(const char *const *paths, size_t n, int parallel,
                   size_t max_total, double timeout_s, char **texts,
                   size_t *lens, char **errmsg);

#endif
