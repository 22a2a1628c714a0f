/* anomaly-score: scores a "timestamp,value" CSV with a libanomaly detector,
 * strictly online, one output row per input row. */
#include "csv.h"
#include "detector.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out) {
  fprintf(
      out,
      "usage: anomaly-score [--detector NAME] [--type TYPE] [--threshold T]\n"
      "                     [--explain] [FILE.csv]\n"
      "       anomaly-score --list\n"
      "Reads timestamp,value rows (a header line is allowed) from FILE\n"
      "or standard input and writes timestamp,value,anomaly_score, each\n"
      "row scored from the rows before it only.\n"
      "  -d, --detector NAME  detector to use (default: default)\n"
      "  -t, --threshold T    also print is_anomaly (score >= T)\n"
      "  -T, --type TYPE      the values' collectd type (if_octets,\n"
      "                       percent, memory, …): their unit, range\n"
      "                       and the smallest change that matters\n"
      "  -e, --explain        also print kind and explanation (for a\n"
      "                       row that scores above 0)\n"
      "  -l, --list           list the detectors and exit\n"
      "  -h, --help           this help\n");
}

static int list_detectors(void) {
  const an_detector_class_t *cls;
  for (size_t i = 0; (cls = an_detector_at(i)) != NULL; i++)
    printf("%-12s %s\n", cls->name, cls->description);
  return 0;
}

static int parse_threshold(const char *s, double *out) {
  char *end;
  errno = 0;
  double t = strtod(s, &end);
  if (end == s || *end != '\0' || errno != 0 || !(t >= 0 && t <= 1))
    return EINVAL;
  *out = t;
  return 0;
}

/* The extra columns of --explain: the kind and the explanation of a row
 * that scores, quoted as CSV (an explanation has commas). */
static void print_explanation(const an_result_t *r, double value) {
  char why[512];
  if (r->score <= 0) {
    printf(",,");
    return;
  }
  an_explain(r, value, NULL, why, sizeof(why));
  printf(",%s,\"", an_kind_name(r->kind));
  for (const char *c = why; *c != '\0'; c++)
    printf(*c == '"' ? "\"\"" : "%c", *c);
  printf("\"");
}

/* Scores every row of in. Returns 0, or 1 after printing an error that
 * names the line. */
static int score_stream(FILE *in, const char *name,
                        const an_detector_class_t *cls, const an_hint_t *hint,
                        double threshold, int explain) {
  void *state = calloc(1, cls->state_size);
  char *line = NULL;
  size_t cap = 0;
  long lineno = 0, rows = 0;
  int rc = 0;

  if (state == NULL) {
    fprintf(stderr, "anomaly-score: out of memory\n");
    return 1;
  }
  cls->init(state, hint);
  printf("timestamp,value,anomaly_score%s%s\n",
         isnan(threshold) ? "" : ",is_anomaly",
         explain ? ",kind,explanation" : "");
  while (getline(&line, &cap, in) != -1) {
    lineno++;
    if (line[strspn(line, "\r\n")] == '\0')
      continue; /* blank line */
    if (lineno == 1 && an_csv_is_header(line))
      continue;
    an_csv_point_t p;
    char err[128];
    if (an_csv_parse_point(line, &p, err, sizeof(err)) != 0) {
      fprintf(stderr, "anomaly-score: %s:%ld: %s\n", name, lineno, err);
      rc = 1;
      goto done;
    }
    an_result_t r;
    cls->update(state, p.t, p.value, &r);
    printf("%s,%s,%.6f", p.timestamp, p.value_text, r.score);
    if (!isnan(threshold))
      printf(",%d", r.score >= threshold);
    if (explain)
      print_explanation(&r, p.value);
    printf("\n");
    rows++;
  }
  if (ferror(in)) {
    fprintf(stderr, "anomaly-score: %s: read error\n", name);
    rc = 1;
  } else if (lineno == 0) {
    fprintf(stderr, "anomaly-score: %s: empty input\n", name);
    rc = 1;
  } else if (rows == 0) {
    fprintf(stderr, "anomaly-score: %s:%ld: no data rows\n", name, lineno);
    rc = 1;
  }
done:
  free(line);
  free(state);
  return rc;
}

int main(int argc, char **argv) {
  static const struct option options[] = {
      {"detector", required_argument, NULL, 'd'},
      {"threshold", required_argument, NULL, 't'},
      {"explain", no_argument, NULL, 'e'},
      {"type", required_argument, NULL, 'T'},
      {"list", no_argument, NULL, 'l'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *detector = "default";
  double threshold = NAN;
  an_hint_t hint = an_hint_none;
  int explain = 0, opt;

  while ((opt = getopt_long(argc, argv, "d:t:T:elh", options, NULL)) != -1) {
    switch (opt) {
    case 'd':
      detector = optarg;
      break;
    case 't':
      if (parse_threshold(optarg, &threshold) != 0) {
        fprintf(stderr, "anomaly-score: --threshold '%s' is not in [0, 1]\n",
                optarg);
        return 2;
      }
      break;
    case 'e':
      explain = 1;
      break;
    case 'T':
      if (an_hint_of_type(optarg, &hint) != 0) {
        fprintf(stderr,
                "anomaly-score: --type '%s' is not a collectd type "
                "it knows\n",
                optarg);
        return 2;
      }
      break;
    case 'l':
      return list_detectors();
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (argc - optind > 1) {
    usage(stderr);
    return 2;
  }
  const an_detector_class_t *cls = an_detector_find(detector);
  if (cls == NULL) {
    fprintf(stderr, "anomaly-score: unknown detector '%s' (see --list)\n",
            detector);
    return 2;
  }

  const char *name = "<stdin>";
  FILE *in = stdin;
  if (optind < argc && strcmp(argv[optind], "-") != 0) {
    name = argv[optind];
    in = fopen(name, "r");
    if (in == NULL) {
      fprintf(stderr, "anomaly-score: %s: %s\n", name, strerror(errno));
      return 1;
    }
  }
  int rc = score_stream(in, name, cls, &hint, threshold, explain);
  if (in != stdin)
    fclose(in);
  if (fflush(stdout) != 0) {
    fprintf(stderr, "anomaly-score: write error: %s\n", strerror(errno));
    rc = 1;
  }
  return rc;
}
