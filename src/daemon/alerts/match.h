/* match.h: the patterns alert rules and silences match sources and metrics
 * with. */
#ifndef AN_MATCH_H
#define AN_MATCH_H

/* Whether a source (collectd's host, or a sourceId) matches pattern: NULL,
 * "" and "*" match every source; a pattern with *, ? or [...] is a shell
 * glob (fnmatch, '*' also crosses '/'); any other pattern must equal the
 * source. */
int an_match_source(const char *pattern, const char *source);

/* Like an_match_source(), and a plain pattern also matches every metric
 * of that collectd plugin: "cpu" matches "cpu", "cpu-0/cpu-user" and
 * "cpu/percent-idle", but not "cpufreq-0/cpufreq". */
int an_match_metric(const char *pattern, const char *metric);

/* Whether pattern is one these functions accept: at most 512 bytes, no
 * control characters, balanced [...]. Returns 1 or 0. */
int an_match_valid(const char *pattern);

#endif
