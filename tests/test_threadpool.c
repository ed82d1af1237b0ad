/* Thread pool: every index of a parallel loop runs exactly once, on a thread id below the
 * pool size, chunks respect the grain, and back-to-back loops (the way a session runs ops)
 * neither lose nor repeat work. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "core/threadpool.h"

typedef struct {
    atomic_int *hits;       /* per index */
    atomic_int calls;
    atomic_int bad_tid;
    atomic_int bad_grain;
    int64_t n, grain;
    int threads;
} count_job;

static void count_range(void *ctx, int64_t begin, int64_t end, int tid)
{
    count_job *j = ctx;
    atomic_fetch_add(&j->calls, 1);
    if (tid < 0 || tid >= j->threads) atomic_fetch_add(&j->bad_tid, 1);
    /* every chunk but a remainder-free split holds at least grain items */
    if (end - begin < j->grain && j->n >= j->grain) atomic_fetch_add(&j->bad_grain, 1);
    for (int64_t i = begin; i < end; i++) atomic_fetch_add(&j->hits[i], 1);
}

/* Runs one loop of n items and checks each ran once; returns the number of chunk calls. */
static int check_loop(er_threadpool *pool, int64_t n, int64_t grain)
{
    count_job j = { .n = n, .grain = grain, .threads = er_threadpool_size(pool) };
    j.hits = calloc((size_t)(n > 0 ? n : 1), sizeof *j.hits);
    CHECK(j.hits != NULL, "out of memory");
    if (!j.hits) return 0;
    er_parallel_for(pool, n, grain, count_range, &j);
    int wrong = 0;
    for (int64_t i = 0; i < n; i++) wrong += atomic_load(&j.hits[i]) != 1;
    CHECK(wrong == 0, "threads %d n %lld grain %lld: %d indices not run exactly once", j.threads, (long long)n,
          (long long)grain, wrong);
    CHECK(atomic_load(&j.bad_tid) == 0, "threads %d n %lld: tid out of range", j.threads, (long long)n);
    CHECK(atomic_load(&j.bad_grain) == 0, "threads %d n %lld grain %lld: chunk below grain", j.threads, (long long)n,
          (long long)grain);
    int calls = atomic_load(&j.calls);
    free(j.hits);
    return calls;
}

static void loops(er_threadpool *pool)
{
    int T = er_threadpool_size(pool);
    CHECK(check_loop(pool, 0, 1) == 0, "empty loop ran");
    CHECK(check_loop(pool, 1, 1) == 1, "one item: one call");
    /* fewer items than grain: one inline call */
    CHECK(check_loop(pool, 5, 8) == 1, "below grain: one call");
    /* at most four chunks per thread, never more than the items */
    int c = check_loop(pool, 3, 1);
    CHECK(c >= 1 && c <= 3, "3 items: %d calls", c);
    c = check_loop(pool, 1000, 1);
    CHECK(c >= 1 && c <= 4 * T, "1000 items on %d threads: %d calls", T, c);
    /* grain caps the chunk count: ceil(n / T) gives one chunk per thread */
    c = check_loop(pool, 1001, (1001 + T - 1) / T);
    CHECK(c >= 1 && c <= T, "grain n/T on %d threads: %d calls", T, c);
    c = check_loop(pool, 97, 10);
    CHECK(c >= 1 && c <= 9, "97 items grain 10: %d calls", c);
    check_loop(pool, 100003, 7);
}

typedef struct {
    atomic_llong sum;
} sum_job;

static void add_range(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    sum_job *j = ctx;
    long long s = 0;
    for (int64_t i = begin; i < end; i++) s += i;
    atomic_fetch_add(&j->sum, s);
}

/* Many short loops back to back, with sizes that change from one to the next: a worker that
 * finishes late must never run a chunk of a loop that has already returned. */
static void back_to_back(er_threadpool *pool)
{
    int bad = 0;
    for (int r = 0; r < 20000; r++) {
        int64_t n = 1 + (r * 7919) % 257;
        sum_job j;
        atomic_init(&j.sum, 0);
        er_parallel_for(pool, n, 1, add_range, &j);
        bad += atomic_load(&j.sum) != n * (n - 1) / 2;
    }
    CHECK(bad == 0, "%d of 20000 loops summed wrong", bad);
}

int main(void)
{
    loops(NULL);
    for (int t = 1; t <= 4; t++) {
        er_threadpool *pool = er_threadpool_create(t);
        CHECK(pool != NULL, "pool of %d threads", t);
        if (!pool) continue;
        CHECK(er_threadpool_size(pool) == t, "size %d", er_threadpool_size(pool));
        loops(pool);
        back_to_back(pool);
        er_threadpool_free(pool);
    }
    /* a pool freed before any loop: workers asleep or still starting */
    er_threadpool_free(er_threadpool_create(3));
    er_threadpool_free(NULL);
    printf("threadpool: %d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
