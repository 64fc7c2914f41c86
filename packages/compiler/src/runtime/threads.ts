/**
 * The thread pool of one kernel: N − 1 workers that run their share of the step's parallel jobs on the
 * graph's own shared memory. Everything the step needs to hand work over lives in a few Int32 words of
 * that memory (the control block below), so a step posts no message and allocates nothing:
 *
 *   main thread (par.fork(j))                 worker t (waits on SEQ)
 *     JOB = j, DONE = 0, NEXT = tag | S,        wakes; while NEXT has slices: claims one (s), runs
 *     SEQ += 1, notify                          jobs(j, s) (a slice of the wasm matmul and of its
 *   par.join(): claims and runs slices too,     epilogue loop), DONE += 1, notify
 *     then waits until DONE = S
 *
 * A job has S slices, more than threads (slicesPerThread each), claimed as threads come free: a worker
 * that is asleep or descheduled on a busy machine delays at most the slice it holds, and the main thread
 * runs the rest.
 *
 * Slices are cut along output rows or columns, never through a reduction, so every value is computed by
 * the same instructions in the same order as with one thread: results are bit-identical.
 *
 * Nothing waits forever: every wait is cut into short timed slices, between which the fault word (set by
 * a worker that threw or exited) and the exit events seen by the host are checked, with an overall limit.
 * A failure breaks the pool for good: that run() and every later one throw, naming the worker and its
 * error. Until every worker has started (whenReady()), the main thread runs their slices itself, so
 * no step ever blocks on a worker that is still starting or failed to. dispose() ends the workers;
 * they are unref'd, so they never keep a process alive.
 */
import type { WasmMemory } from "../wasm/js-api";
import {
  CONTROL_WORDS,
  DONE,
  FAULT,
  GC_EVENTS,
  INJECT,
  JOB,
  MESSAGE,
  MESSAGE_UNITS,
  NEXT,
  READY,
  REPORT_JOB,
  SEQ,
  STOP,
  WARM,
  WORKER_SLICES,
} from "./control-block";
import type { WorkerHandle, WorkerHost, WorkerStart } from "./worker-host";

/** Busy polls before sleeping in Atomics.wait: a wake-up through the kernel costs tens of microseconds. */
const SPINS = 4000;
/** Calls of the slow wait path at construction: see the constructor. */
const WARM_UP_CALLS = 16;
/** Length of one timed wait (ms); between them, faults and exits are checked. */
const WAIT_SLICE_MS = 50;

export interface ThreadPoolOptions {
  memory: WasmMemory;
  /** Byte offset of CONTROL_WORDS Int32 words in the memory, 4-byte aligned, zeroed. */
  controlOffset: number;
  threads: number;
  /** Body of `new Function("F", "wasm", jobsSource)`, returning `function jobs(j, t)`. */
  jobsSource: string;
  /** Per worker (thread 1..N−1), the compiled wasm modules of its slices, by export name. */
  modules: Array<Array<[string, object]>>;
  /** The number of slices of each job. */
  jobSlices: number[];
  /** Runs slice s of job j here, on the main thread. */
  runLocal: (job: number, slice: number) => void;
  host: WorkerHost;
  /** Give up on a job (or on the workers' start) after this long without completion (ms). */
  timeoutMs?: number;
}

export class ThreadPool {
  readonly threads: number;
  private readonly control: Int32Array;
  private readonly workers: WorkerHandle[] = [];
  private readonly exited: Array<string | undefined>;
  private readonly runLocal: (job: number, slice: number) => void;
  private readonly jobSlices: number[];
  /** Slices of the jobs handed to the workers so far. */
  private slicesForked = 0;
  private readonly canBlock: boolean;
  private readonly timeoutMs: number;
  private started = false;
  private forkedLocally = -1;
  /** The job and sequence number of the last fork. */
  private job = 0;
  private seq = 0;
  /** REPORT jobs sent (they move SEQ too, but are not a step's). */
  private reports = 0;
  /**
   * Whether join() runs the slices no worker has claimed yet (default). Tests turn it off to make sure
   * the workers compute every slice but the main thread's.
   */
  steal = true;
  /** Set by the host's exit event of any worker (checked at the next fork). */
  private workerExited = false;
  private broken: Error | undefined;
  private disposed = false;

  constructor(options: ThreadPoolOptions) {
    this.threads = options.threads;
    this.control = new Int32Array(options.memory.buffer, options.controlOffset, CONTROL_WORDS);
    this.control.fill(0);
    this.runLocal = options.runLocal;
    this.jobSlices = options.jobSlices;
    this.canBlock = options.host.canBlock;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    // Starting a worker takes tens of milliseconds; if one never starts, whenReady() says why.
    this.exited = new Array(options.threads).fill(undefined);
    for (let t = 1; t < options.threads; t++) {
      const start: WorkerStart = {
        memory: options.memory,
        controlOffset: options.controlOffset,
        thread: t,
        jobsSource: options.jobsSource,
        modules: options.modules[t - 1] ?? [],
      };
      this.workers.push(
        options.host.start(start, (reason) => {
          this.exited[t] = reason;
          this.workerExited = true;
        }),
      );
    }
    // Run the wait loop's slow path (timed waits on an unused word) often enough for V8 to record type
    // feedback for it (a function gets its feedback vector only after several calls). Without feedback,
    // the first real wait of a step on a busy machine deoptimizes the whole step (which inlines join),
    // again and again, and the recompiled code shows up as heap growth.
    for (let i = 0; i < WARM_UP_CALLS; i++) this.waitFor(WARM, 1, "warm up", 1 + (i & 1));
  }

  /** The workers' share of job j starts; the caller then runs slice 0 and calls join(). */
  fork(job: number): void {
    if (this.broken) throw this.broken;
    if (!this.started) {
      this.check("start");
      if (!this.ready) {
        // The workers are still starting: this thread runs their slices itself in join(), with the same
        // results, only slower. (Blocking until they have started could wait on a worker that failed to
        // start: its error event cannot arrive while this thread is blocked.)
        this.forkedLocally = job;
        return;
      }
      this.started = true;
    }
    if (this.workerExited) this.check("take a job");
    const c = this.control;
    const slices = this.jobSlices[job];
    this.job = job;
    this.seq = Atomics.load(c, SEQ) + 1;
    this.slicesForked += slices;
    Atomics.store(c, JOB, job);
    Atomics.store(c, DONE, 0);
    Atomics.store(c, NEXT, ((this.seq & 0xffff) << 16) | slices);
    Atomics.store(c, SEQ, this.seq);
    Atomics.notify(c, SEQ);
  }

  /** Returns when every slice of the job fork() started is done. */
  join(): void {
    const local = this.forkedLocally;
    if (local >= 0) {
      this.forkedLocally = -1;
      for (let s = 0; s < this.jobSlices[local]; s++) this.runLocal(local, s);
      return;
    }
    const c = this.control;
    if (this.steal) {
      for (let s = this.claim(); s >= 0; s = this.claim()) {
        this.runLocal(this.job, s);
        Atomics.add(c, DONE, 1);
      }
    }
    const what = "finish its share of a step";
    if (!this.waitFor(DONE, this.jobSlices[this.job], what, this.timeoutMs)) this.timeOut(what);
    if (Atomics.load(c, FAULT) !== 0) this.fail();
  }

  /** Claims a slice of the current job (see NEXT): its index, or −1 when none is left. */
  private claim(): number {
    const c = this.control;
    const tag = this.seq & 0xffff;
    for (;;) {
      const w = Atomics.load(c, NEXT);
      if (w >>> 16 !== tag || (w & 0xffff) === 0) return -1;
      if (Atomics.compareExchange(c, NEXT, w, w - 1) === w) return (w & 0xffff) - 1;
    }
  }

  /** Slices of the jobs handed to the workers so far (run by them or by the main thread). */
  get forkedSlices(): number {
    return this.slicesForked;
  }

  /** Jobs handed to the workers so far (not counting those run here while they were starting). */
  get forks(): number {
    return Atomics.load(this.control, SEQ) - this.reports;
  }

  /** Slices the workers have run so far (the main thread ran the others). */
  get workerSlices(): number {
    return Atomics.load(this.control, WORKER_SLICES);
  }

  /** Whether every worker has started (instantiated its kernels and is waiting for jobs). */
  get ready(): boolean {
    return Atomics.load(this.control, READY) === this.threads - 1;
  }

  /** Resolves once every worker has started: until then, steps run the workers' slices themselves. */
  async whenReady(): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    while (!this.ready) {
      this.check("start");
      if (Date.now() > deadline) this.timeOut("start");
      await new Promise((r) => setTimeout(r, 2));
    }
    this.started = true;
  }

  /** Ends the workers; resolves when they have exited. Later runs throw. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.broken ??= new Error("threads: this kernel was disposed");
    Atomics.store(this.control, STOP, 1);
    Atomics.add(this.control, SEQ, 1);
    Atomics.notify(this.control, SEQ);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /**
   * The GC events the workers have had since they started, summed (null where a worker cannot observe
   * them: a browser). Asks each worker through a REPORT job, outside any step: it returns to its event
   * loop, where its GC observer's entries arrive, and writes its count. Not to be called during run().
   */
  async workerGcEvents(): Promise<number | null> {
    await this.whenReady();
    if (this.broken) throw this.broken;
    const c = this.control;
    const seq = Atomics.load(c, SEQ) + 1;
    Atomics.store(c, JOB, REPORT_JOB);
    Atomics.store(c, DONE, 0);
    // One slice per worker: each claims one and leaves to report (see worker-source.ts).
    Atomics.store(c, NEXT, ((seq & 0xffff) << 16) | (this.threads - 1));
    this.reports++;
    Atomics.store(c, SEQ, seq);
    Atomics.notify(c, SEQ);
    const deadline = Date.now() + this.timeoutMs;
    while (Atomics.load(c, DONE) !== this.threads - 1) {
      this.check("report its GC events");
      if (Date.now() > deadline) this.timeOut("report their GC events");
      await new Promise((r) => setTimeout(r, 2));
    }
    let total = 0;
    for (let t = 1; t < this.threads; t++) {
      const n = Atomics.load(c, GC_EVENTS + t);
      if (n < 0) return null;
      total += n;
    }
    return total;
  }

  /** Test hook: worker t makes garbage (tens of MB) in its next job, so that it has GC events. */
  injectGarbage(thread: number): void {
    Atomics.store(this.control, INJECT, -(thread + 1));
  }

  /** Test hook: worker t throws inside its next job. */
  injectFault(thread: number): void {
    Atomics.store(this.control, INJECT, thread + 1);
  }

  /** Test hook: the worker of thread t is killed from outside, as a crash would. */
  killWorker(thread: number): Promise<void> {
    return this.workers[thread - 1].terminate();
  }

  /**
   * Waits until control[word] reaches `target`, in timed slices, checking for faults and exits between
   * them; false after `limitMs` of waiting.
   */
  private waitFor(word: number, target: number, what: string, limitMs: number): boolean {
    const c = this.control;
    for (let spin = 0; spin < SPINS; spin++) if (Atomics.load(c, word) === target) return true;
    const slice = Math.min(WAIT_SLICE_MS, limitMs);
    let waited = 0;
    for (;;) {
      const seen = Atomics.load(c, word);
      if (seen === target) return true;
      if (this.canBlock) {
        if (Atomics.wait(c, word, seen, slice) === "timed-out") waited += slice;
      } else {
        const until = performance.now() + slice;
        while (Atomics.load(c, word) === seen && performance.now() < until) {}
        if (Atomics.load(c, word) === seen) waited += slice;
      }
      this.check(what);
      if (waited >= limitMs) return false;
    }
  }

  /** Throws if a worker failed (fault word) or was seen to exit. */
  private check(what: string): void {
    if (this.broken) throw this.broken;
    if (Atomics.load(this.control, FAULT) !== 0) this.fail();
    for (let t = 1; t < this.threads; t++) {
      const reason = this.exited[t];
      if (reason !== undefined) {
        this.broken = new Error(
          `threads: worker ${t} of ${this.threads - 1} ${reason} before it could ${what}; ` +
            "this kernel cannot run any more (dispose it and compile again)",
        );
        throw this.broken;
      }
    }
  }

  private fail(): never {
    const c = this.control;
    const t = Atomics.load(c, FAULT) - 1;
    const length = Math.max(0, Math.min(Atomics.load(c, MESSAGE), MESSAGE_UNITS));
    let text = "";
    for (let i = 0; i < length; i++) {
      const word = Atomics.load(c, MESSAGE + 1 + (i >> 1));
      text += String.fromCharCode(i & 1 ? word >>> 16 : word & 0xffff);
    }
    this.broken = new Error(
      `threads: worker ${t} of ${this.threads - 1} failed: ${text || "(no message)"}; ` +
        "this kernel cannot run any more (dispose it and compile again)",
    );
    throw this.broken;
  }

  private timeOut(what: string): never {
    const c = this.control;
    const words = `SEQ ${c[SEQ]}, JOB ${c[JOB]}, DONE ${c[DONE]}, READY ${c[READY]}`;
    this.broken = new Error(
      `threads: the workers did not ${what} within ${this.timeoutMs / 1000} s (${words}); ` +
        "this kernel cannot run any more (dispose it and compile again)",
    );
    throw this.broken;
  }
}
