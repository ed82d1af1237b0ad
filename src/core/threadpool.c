#include "core/threadpool.h"

#include "core/common.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ER_CPU_RELAX() _mm_pause()
#else
#define ER_CPU_RELAX() ((void)0)
#endif

/* Workers spin (a pause is about 25 ns on Zen 5, so about 0.5 ms) before sleeping: ops follow
 * each other within microseconds, and a futex wake-up per op would cost more than many small
 * kernels take. MobileNetV2 at 2 threads ran 2.50–2.71 ms with a 50 µs spin, 2.37–2.43 ms
 * with this one (longer spins gained nothing more): single-threaded stretches between
 * parallel ops outlast 50 µs and put the worker to sleep. The cost is CPU time when the
 * machine has more runnable threads than cores. */
#define ER_SPIN_ITERS 20000
/* A caller whose chunks are all claimed spins this long for the others before it yields its
 * core: the thread it waits for may be preempted and need that core. */
#define ER_WAIT_SPINS 100
/* Chunks per thread: a thread that starts late or shares its core with another process then
 * delays the join by one small chunk, not by a whole share of the work. */
#define ER_CHUNKS_PER_THREAD 4

/* The posted job as one word, so claiming a chunk is one compare-and-swap that also proves
 * the job is still current: [generation:32][next chunk:16][chunk count:16]. */
#define JOB_WORD(gen, next, count) (((uint64_t)(gen) << 32) | ((uint64_t)(next) << 16) | (uint64_t)(count))
#define JOB_GEN(w) ((uint32_t)((w) >> 32))
#define JOB_NEXT(w) ((int)(((w) >> 16) & 0xffffu))
#define JOB_COUNT(w) ((int)((w) & 0xffffu))
#define ER_MAX_CHUNKS 0xffff

struct er_threadpool {
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    atomic_int sleepers;
    atomic_int stop;
    /* The job word and the completion count are written by every thread: each on its own
     * cache line, away from the read-mostly job description. */
    _Alignas(64) _Atomic uint64_t job;
    _Alignas(64) atomic_int done;
    /* current job, written by the caller before it publishes the job word */
    _Alignas(64) er_range_fn fn;
    void *ctx;
    int64_t n;
};

typedef struct {
    er_threadpool *pool;
    int tid;
} worker_arg;

static bool job_open(uint64_t w) { return JOB_NEXT(w) < JOB_COUNT(w); }

/* Claims the next chunk of the current job; false when none is left. After a successful
 * claim the caller of that job waits for this chunk, so the job description stays valid
 * until the chunk is reported done. */
static bool claim(er_threadpool *p, int *chunk, int *count)
{
    uint64_t w = atomic_load_explicit(&p->job, memory_order_acquire);
    while (job_open(w)) {
        if (atomic_compare_exchange_weak_explicit(&p->job, &w, w + ((uint64_t)1 << 16), memory_order_acq_rel,
                                                  memory_order_acquire)) {
            *chunk = JOB_NEXT(w);
            *count = JOB_COUNT(w);
            return true;
        }
    }
    return false;
}

/* Runs chunks of the current job until none is left. */
static void run_chunks(er_threadpool *p, int tid)
{
    int c, count;
    while (claim(p, &c, &count)) {
        int64_t begin = p->n * c / count, end = p->n * (c + 1) / count;
        if (begin < end) p->fn(p->ctx, begin, end, tid);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
    }
}

/* Returns when a job has unclaimed chunks or the pool stops: spinning first, then asleep.
 * Sleepers announce themselves before their last look at the job word, and a poster looks
 * at the sleeper count after publishing the job (both sequentially consistent), so a post
 * cannot slip between that look and the wait. */
static void wait_for_job(er_threadpool *p)
{
    for (int spins = 0; spins < ER_SPIN_ITERS; spins++) {
        if (job_open(atomic_load_explicit(&p->job, memory_order_relaxed)) || atomic_load_explicit(&p->stop, memory_order_relaxed))
            return;
        ER_CPU_RELAX();
    }
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->sleepers, 1);
    while (!job_open(atomic_load(&p->job)) && !atomic_load(&p->stop)) pthread_cond_wait(&p->wake, &p->mu);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->mu);
}

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    er_threadpool *p = wa->pool;
    int tid = wa->tid;
    free(wa);
    for (;;) {
        wait_for_job(p);
        if (atomic_load(&p->stop)) return NULL;
        run_chunks(p, tid);
    }
}

int er_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

er_threadpool *er_threadpool_create(int n_threads)
{
    if (n_threads <= 0) n_threads = er_cpu_count();
    /* aligned_alloc: the job word's cache line alignment needs more than malloc's 16 bytes */
    size_t size = (sizeof(er_threadpool) + 63) / 64 * 64;
    er_threadpool *p = aligned_alloc(64, size);
    if (!p) return NULL;
    memset(p, 0, size);
    atomic_init(&p->job, JOB_WORD(0, 0, 0));
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (n_threads > 1) {
        p->threads = calloc((size_t)n_threads - 1, sizeof *p->threads);
        if (!p->threads) { er_threadpool_free(p); return NULL; }
        for (int i = 1; i < n_threads; i++) {
            worker_arg *wa = malloc(sizeof *wa);
            if (!wa) { p->n_threads = i; er_threadpool_free(p); return NULL; }
            wa->pool = p;
            wa->tid = i;
            if (pthread_create(&p->threads[i - 1], NULL, worker_main, wa) != 0) {
                free(wa);
                p->n_threads = i;
                er_threadpool_free(p);
                return NULL;
            }
        }
    }
    return p;
}

void er_threadpool_free(er_threadpool *p)
{
    if (!p) return;
    if (p->threads) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->stop, 1);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
        for (int i = 1; i < p->n_threads; i++) pthread_join(p->threads[i - 1], NULL);
        free(p->threads);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    free(p);
}

int er_threadpool_size(const er_threadpool *p) { return p ? p->n_threads : 1; }

/* Waits until every claimed chunk is done; the caller has run out of chunks to claim. */
static void wait_done(er_threadpool *p, int count)
{
    int spins = 0;
    while (atomic_load_explicit(&p->done, memory_order_acquire) < count) {
        if (++spins < ER_WAIT_SPINS) {
            ER_CPU_RELAX();
        } else {
            spins = 0;
            sched_yield();
        }
    }
}

void er_parallel_for(er_threadpool *p, int64_t n, int64_t grain, er_range_fn fn, void *ctx)
{
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int64_t chunks = n / grain;
    if (!p || p->n_threads == 1 || chunks <= 1) {
        fn(ctx, 0, n, 0);
        return;
    }
    chunks = ER_MIN(chunks, ER_MIN((int64_t)p->n_threads * ER_CHUNKS_PER_THREAD, ER_MAX_CHUNKS));
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    uint32_t gen = JOB_GEN(atomic_load_explicit(&p->job, memory_order_relaxed)) + 1;
    atomic_store(&p->job, JOB_WORD(gen, 0, chunks));
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
    run_chunks(p, 0);
    wait_done(p, (int)chunks);
}
