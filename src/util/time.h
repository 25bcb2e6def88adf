#ifndef MN_UTIL_TIME_H
#define MN_UTIL_TIME_H

/* Seconds on a monotonic clock, for durations. */
double mn_now(void);
/* Current UTC time as "YYYY-MM-DDTHH:MM:SSZ" into buf (>= 21 bytes). */
void mn_utc_iso8601(char *buf, unsigned long size);

#endif
