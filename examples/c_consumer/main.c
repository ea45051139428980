/* Uses fanfill's C API only: fills normals, checks their statistics, checks
 * that a bad call fails with a negative status and a message. Exit status 0
 * when all is as expected. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fanfill/fanfill.h"

#define N 1000

int main(void) {
  static float v[N];
  int rc = fanfill_fill_normal(v, FANFILL_F32, N, 0, 0.0, 1.0, 42, 7);
  if (rc != FANFILL_OK) {
    fprintf(stderr, "fanfill_fill_normal failed (%d): %s\n", rc, fanfill_last_error());
    return 1;
  }
  if (strcmp(fanfill_last_error(), "") != 0) {
    fprintf(stderr, "fanfill_last_error() is not empty after a success\n");
    return 1;
  }

  double sum = 0.0, sq = 0.0, mean, sd;
  for (int i = 0; i < N; ++i) sum += v[i];
  mean = sum / N;
  for (int i = 0; i < N; ++i) sq += (v[i] - mean) * (v[i] - mean);
  sd = sqrt(sq / (N - 1));
  printf("fanfill %s (%s): n=%d mean=%.4f std=%.4f\n", fanfill_version(), fanfill_target(), N,
         mean, sd);
  if (!isfinite(mean) || !isfinite(sd) || fabs(mean) > 0.2 || sd < 0.85 || sd > 1.15) {
    fprintf(stderr, "absurd statistics\n");
    return 1;
  }

  /* Intentional error: a null output with count > 0. */
  rc = fanfill_fill_normal(NULL, FANFILL_F32, 10, 0, 0.0, 1.0, 42, 7);
  if (rc >= 0) {
    fprintf(stderr, "a null output was accepted (status %d)\n", rc);
    return 1;
  }
  if (fanfill_last_error()[0] == '\0') {
    fprintf(stderr, "no error message after a failed call\n");
    return 1;
  }
  printf("bad call: status %d, \"%s\"\n", rc, fanfill_last_error());
  return 0;
}
