/* anomalyd: the companion daemon of the collectd anomaly plugin. Start-up
 * in order (config, data directory, store, engine, active forests,
 * training workers, channels, delivery thread, alert check, server),
 * shutdown in reverse, finishing what was accepted. */
#include "alerts/alerts.h"
#include "api/api.h"
#include "clock.h"
#include "conf.h"
#include "daemon.h"
#include "engine.h"
#include "http/server.h"
#include "lograte.h"
#include "mem.h"
#include "metrics.h"
#include "models/forests.h"
#include "models/jobs.h"
#include "models/schedule.h"
#include "notify/notify.h"
#include "store/store.h"
#include "store/store_alerts.h"

#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define DRAIN_SECONDS 3.0 /* how long shutdown waits for in-flight replies */

static void usage(FILE *out) {
  fprintf(out, "usage: anomalyd [-C FILE] [-f] [-t] [-h]\n"
               "  -C FILE  configuration file (default: embedded defaults,\n"
               "           listening on 127.0.0.1:8427)\n"
               "  -f       stay in the foreground and log to stderr\n"
               "  -t       check the configuration and exit (0 when valid)\n"
               "  -h       this help\n");
}

/* Every client connection is a file descriptor, and the soft limit is
 * often 1024 where the hard one is far higher: take what is allowed. */
static void raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
      syslog(LOG_WARNING, "cannot raise the file descriptor limit: %s",
             strerror(errno));
  }
}

/* libevent's own warnings (a failing accept, a broken connection) can
 * repeat thousands of times a second: one line per 10 s at most. */
static void libevent_logged(int severity, const char *msg) {
  static an_lograte_t rate = AN_LOGRATE_INIT(10);
  if (severity < EVENT_LOG_WARN)
    return;
  an_lograte_log(&rate, an_clock_monotonic(),
                 severity == EVENT_LOG_ERR ? LOG_ERR : LOG_WARNING,
                 "libevent: %s", msg);
}

/* mkdir -p with mode 0750 for what it creates. */
static int make_dirs(const char *path) {
  char buf[4096];
  if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
    return ENAMETOOLONG;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, 0750) != 0 && errno != EEXIST)
      return errno;
    *p = '/';
  }
  if (mkdir(buf, 0750) != 0 && errno != EEXIST)
    return errno;
  return 0;
}

static int sync_channels(sqlite3 *db, void *arg) {
  an_daemon_t *d = arg;
  return an_store_sync_channels(db, d->config, an_clock_wall());
}

typedef struct shutdown {
  an_daemon_t *daemon;
  struct event *poll;
  double deadline;
} shutdown_t;

/* Ends the loop once every accepted request is answered, or at the
 * deadline. */
static void drain(evutil_socket_t fd, short what, void *arg) {
  shutdown_t *s = arg;
  if (an_server_pending(s->daemon->server) == 0 ||
      an_clock_monotonic() > s->deadline)
    event_base_loopbreak(s->daemon->base);
}

/* evhttp turns a connection's read and write events off and on again
 * around every request; with the changelist, epoll hears only the net
 * change at the next poll (one epoll_ctl a request fewer). Its caveat,
 * dup()ed descriptors, does not apply: nothing here dups a socket. */
static struct event_base *new_base(void) {
  struct event_config *cfg = event_config_new();
  if (cfg == NULL)
    return NULL;
  event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
  struct event_base *base = event_base_new_with_config(cfg);
  event_config_free(cfg);
  return base;
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
  shutdown_t *s = arg;
  static const struct timeval every = {0, 20000};
  if (s->poll != NULL)
    return;
  syslog(LOG_NOTICE, "signal %d: stopping after what was accepted", (int)sig);
  an_server_stop_listening(s->daemon->server);
  s->deadline = an_clock_monotonic() + DRAIN_SECONDS;
  s->poll = event_new(s->daemon->base, -1, EV_PERSIST, drain, s);
  if (s->poll == NULL || event_add(s->poll, &every) != 0)
    event_base_loopbreak(s->daemon->base);
}

int main(int argc, char **argv) {
  const char *path = NULL;
  int foreground = 0, test_only = 0, opt, status = 1;
  char err[512];

  while ((opt = getopt(argc, argv, "C:fth")) != -1) {
    switch (opt) {
    case 'C':
      path = optarg;
      break;
    case 'f':
      foreground = 1;
      break;
    case 't':
      test_only = 1;
      break;
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 1;
    }
  }
  if (optind < argc) {
    usage(stderr);
    return 1;
  }

  an_config_t *config = path != NULL ? an_config_load(path, err, sizeof(err))
                                     : an_config_defaults();
  if (config == NULL) {
    fprintf(stderr, "anomalyd: %s\n", path != NULL ? err : "out of memory");
    return 1;
  }
  if (test_only) { /* what start-up would refuse is refused by the load */
    printf("anomalyd: %s: the configuration is valid\n",
           path != NULL ? path : "embedded defaults");
    an_config_free(config);
    return 0;
  }
  openlog("anomalyd", LOG_PID | (foreground ? LOG_PERROR : 0), LOG_DAEMON);
  setlogmask(LOG_UPTO(config->log_level));
  int rc = make_dirs(config->data_dir);
  if (rc != 0) {
    fprintf(stderr, "anomalyd: cannot create DataDir %s: %s\n",
            config->data_dir, strerror(rc));
    an_config_free(config);
    return 1;
  }
  if (!foreground && daemon(0, 0) != 0) {
    fprintf(stderr, "anomalyd: cannot daemonize: %s\n", strerror(errno));
    an_config_free(config);
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  event_set_log_callback(libevent_logged);
  /* before any thread: libcurl's global set-up is not thread-safe */
  curl_global_init(CURL_GLOBAL_DEFAULT);
  an_api_health_start();

  an_daemon_t d = {.config = config};
  shutdown_t stop = {.daemon = &d};
  struct event *sigterm = NULL, *sigint = NULL;
  an_schedule_t *schedule = NULL;
  an_mem_use_for_libevent();
  if (evthread_use_pthreads() != 0 || (d.base = new_base()) == NULL ||
      (d.metrics = an_metrics_create()) == NULL) {
    snprintf(err, sizeof(err), "cannot set up the event loop");
    goto done;
  }
  if (an_store_open(&d, &d.store, err, sizeof(err)) != 0 ||
      an_engine_open(&d, &d.engine, err, sizeof(err)) != 0 ||
      an_forests_open(&d, err, sizeof(err)) != 0)
    goto done;
  if (an_jobs_open(&d, &d.jobs, err, sizeof(err)) != 0)
    goto done;
  if (an_store_run_now(d.store, sync_channels, &d) != 0) {
    snprintf(err, sizeof(err), "cannot store the channels of the config");
    goto done;
  }
  if (an_notify_start(&d, &d.notify, err, sizeof(err)) != 0)
    goto done;
  an_store_on_commit(d.store, an_notify_committed, d.notify);
  if (an_store_start(d.store) != 0) {
    snprintf(err, sizeof(err), "cannot start the storage thread");
    goto done;
  }
  if (an_alerts_open(&d, &d.alerts) != 0) {
    snprintf(err, sizeof(err), "cannot start the alert check");
    goto done;
  }
  if (an_schedule_open(&d, &schedule) != 0) {
    snprintf(err, sizeof(err), "cannot start the training schedule");
    goto done;
  }
  if (an_server_start(&d, err, sizeof(err)) != 0)
    goto done;
  sigterm = evsignal_new(d.base, SIGTERM, on_signal, &stop);
  sigint = evsignal_new(d.base, SIGINT, on_signal, &stop);
  if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) != 0 ||
      evsignal_add(sigint, NULL) != 0) {
    snprintf(err, sizeof(err), "cannot handle signals");
    goto done;
  }
  if (config->nkeys == 0)
    syslog(LOG_WARNING, "no <ApiKey> configured: the API needs no key");
  syslog(LOG_NOTICE, "listening on %s:%d, data in %s", config->listen_host,
         config->listen_port, config->data_dir);
  event_base_dispatch(d.base);
  status = 0;
  err[0] = '\0';

done:
  if (err[0] != '\0' && status != 0) {
    syslog(LOG_ERR, "%s", err);
    if (!foreground)
      fprintf(stderr, "anomalyd: %s\n", err);
  }
  an_server_free(d.server);
  an_schedule_close(schedule);
  an_jobs_close(d.jobs);     /* a running training stops at its next series */
  an_store_stop(d.store);    /* commits what was accepted; its jobs use … */
  an_engine_close(d.engine); /* … these, so they go after: the last */
  an_alerts_close(d.alerts); /* checkpoint is written here */
  an_forests_free(d.forests);
  an_notify_stop(d.notify);
  an_store_close(d.store);
  if (stop.poll != NULL)
    event_free(stop.poll);
  if (sigterm != NULL)
    event_free(sigterm);
  if (sigint != NULL)
    event_free(sigint);
  an_metrics_destroy(d.metrics);
  if (d.base != NULL)
    event_base_free(d.base);
  an_mem_release();
  an_config_free(config);
  curl_global_cleanup();
  syslog(LOG_NOTICE, "stopped");
  closelog();
  return status;
}
