/*
 * The one-line result the probes print per call, "NAME RESULT": "ok" or
 * the errno name (strerrorname_np), flushed at once so a crash loses
 * nothing. Shared by badcalls.c and proccalls.c.
 */
#ifndef TVISOR_TEST_REPORT_H
#define TVISOR_TEST_REPORT_H
#include <errno.h>
#include <stdio.h>
#include <string.h>

static void report(const char *name, long r) {
  if (r >= 0) {
    printf("%s ok\n", name);
  } else {
    const char *e = strerrorname_np(errno);
    printf("%s %s\n", name, e ? e : "?");
  }
  fflush(stdout);
}
#endif
