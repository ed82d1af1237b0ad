#include "core/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

/* Workers spin briefly before sleeping: ops follow each other within microseconds, and a
 * futex wake-up per op would cost more than many small kernels take. */
#define ER_SPIN_ITERS 20000

struct er_threadpool {
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_cond_t done_cv;
    atomic_uint generation;
    atomic_int remaining;
    atomic_int stop;
    /* current job */
    er_range_fn fn;
    void *ctx;
    int64_t n;
    int n_slices;
};

typedef struct {
    er_threadpool *pool;
    int tid;
} worker_arg;

static void run_slice(er_threadpool *p, int tid)
{
    if (tid >= p->n_slices) return;
    int64_t begin = p->n * tid / p->n_slices;
    int64_t end = p->n * (tid + 1) / p->n_slices;
    if (begin < end) p->fn(p->ctx, begin, end, tid);
}

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    er_threadpool *p = wa->pool;
    int tid = wa->tid;
    free(wa);
    /* The pool starts at generation 0; reading it here instead could skip a job posted
     * before this thread got scheduled. */
    unsigned seen = 0;
    for (;;) {
        int spins = 0;
        while (atomic_load_explicit(&p->generation, memory_order_acquire) == seen &&
               !atomic_load(&p->stop)) {
            if (++spins > ER_SPIN_ITERS) {
                pthread_mutex_lock(&p->mu);
                while (atomic_load(&p->generation) == seen && !atomic_load(&p->stop))
                    pthread_cond_wait(&p->wake, &p->mu);
                pthread_mutex_unlock(&p->mu);
                break;
            }
        }
        if (atomic_load(&p->stop)) return NULL;
        seen = atomic_load(&p->generation);
        run_slice(p, tid);
        if (atomic_fetch_sub_explicit(&p->remaining, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
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
    er_threadpool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done_cv, NULL);
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
    pthread_cond_destroy(&p->done_cv);
    free(p);
}

int er_threadpool_size(const er_threadpool *p) { return p ? p->n_threads : 1; }

void er_parallel_for(er_threadpool *p, int64_t n, int64_t grain, er_range_fn fn, void *ctx)
{
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int64_t slices = n / grain;
    if (slices < 1) slices = 1;
    if (!p || p->n_threads == 1 || slices == 1) {
        fn(ctx, 0, n, 0);
        return;
    }
    if (slices > p->n_threads) slices = p->n_threads;
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->n_slices = (int)slices;
    atomic_store(&p->remaining, p->n_threads - 1);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_slice(p, 0);
    int spins = 0;
    while (atomic_load_explicit(&p->remaining, memory_order_acquire) > 0) {
        if (++spins > ER_SPIN_ITERS) {
            pthread_mutex_lock(&p->mu);
            while (atomic_load(&p->remaining) > 0) pthread_cond_wait(&p->done_cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
            break;
        }
    }
}
