#ifndef MN_UTIL_TIME_H
#define MN_UTIL_TIME_H

/* Seconds on a monotonic clock, for durations. */
double mn_now(void);

#endif
