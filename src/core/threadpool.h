/* Persistent worker pool. A parallel loop is cut into a few contiguous chunks per thread,
 * which the caller and the workers claim as they arrive: a worker that wakes late or shares
 * its core with another process costs the join one chunk, never a fixed share of the loop,
 * and nothing is allocated. */
#ifndef ER_CORE_THREADPOOL_H
#define ER_CORE_THREADPOOL_H

#include <stdint.h>

typedef struct er_threadpool er_threadpool;

/* fn runs [begin, end) of the range on thread tid (0 is the caller). */
typedef void (*er_range_fn)(void *ctx, int64_t begin, int64_t end, int tid);

/* n_threads counts the calling thread; 1 makes a pool that runs everything inline. */
er_threadpool *er_threadpool_create(int n_threads);
void er_threadpool_free(er_threadpool *pool);
int er_threadpool_size(const er_threadpool *pool);

/* Splits [0, n) into at most 4·size() contiguous chunks of at least `grain` items each, runs
 * them on whichever threads claim them (the caller included, tid 0) and waits for all of
 * them. One thread may run several chunks, one after the other, with the same tid; a caller
 * that needs one chunk per thread passes grain = ceil(n / size()). A NULL pool runs inline.
 * Not reentrant: call it from one thread at a time. */
void er_parallel_for(er_threadpool *pool, int64_t n, int64_t grain, er_range_fn fn, void *ctx);

/* Number of online CPUs. */
int er_cpu_count(void);

#endif
