/**
 * The control block of a kernel's thread pool: Int32 words in the graph's shared memory, read and written
 * only with Atomics by the main thread (runtime/threads.ts) and the workers (runtime/worker-source.ts).
 */
export const SEQ = 0;
export const JOB = 1;
export const DONE = 2;
export const READY = 3;
export const STOP = 4;
/** 1 + the index of the first worker that failed (0: none). */
export const FAULT = 5;
/**
 * Test hooks: 1 + t, worker t throws inside its next job; −(1 + t), it makes garbage (tens of MB) in its
 * next job, so that a test can see its GC events counted.
 */
export const INJECT = 6;
/** Never written: the pool's warm-up waits on it once. */
export const WARM = 7;
/** Length of the first failure's message, then its UTF-16 code units, two per word. */
export const MESSAGE = 8;
export const MESSAGE_UNITS = 512;
/**
 * The slices of the current job not yet claimed: (SEQ & 0xffff) << 16 | count. Whoever moves it from
 * count to count − 1 (compareExchange, tag unchanged) runs slice count − 1. A job has more slices than
 * threads, claimed as the threads come free, so a worker that is descheduled on a busy machine holds up
 * one small slice, not a thread's whole share. The tag makes a claim for an old job fail.
 */
export const NEXT = MESSAGE + 1 + MESSAGE_UNITS / 2;
export const MAX_THREADS = 256;
/** Slices run by the workers so far (the main thread runs the others). */
export const WORKER_SLICES = NEXT + 1;
/**
 * GC_EVENTS + t: the GC events worker t has observed since it started (written when it serves a REPORT
 * job; -1 where the environment cannot observe them, e.g. a browser's Web Worker).
 */
export const GC_EVENTS = WORKER_SLICES + 1;
export const CONTROL_WORDS = GC_EVENTS + MAX_THREADS;
/** The job number (JOB) of a report: not a step's job; each worker writes its GC_EVENTS word. */
export const REPORT_JOB = -1;
