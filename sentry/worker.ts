/**
 * The sentry's threads. `runSentry` starts the notification loop in a
 * worker_thread: it polls the listener, dispatches each call synchronously
 * (most take a few microseconds) and hands calls that could block (opening
 * a FIFO, which waits for its peer) to slow-path threads, which answer them
 * on their own, so one blocked call never stalls another thread's syscall.
 *
 * Worker data (`SentryConfig`) is plain JSON; fds are numbers in the
 * process's shared fd table.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { c, openat2 } from './native.js';
import { disableTaskCache } from './kernel/task.js';
import { SeccompPlatform } from './platform/seccomp.js';
import type { Notification } from './platform/platform.js';
import { dispatch } from './dispatch.js';
import { setMayBlock } from './syscalls/file.js';
import { AT_FDCWD, O_CLOEXEC, O_PATH, setRoot } from './vfs/resolve.js';

/** What the CLI hands the sentry. */
export interface SentryConfig {
  /** The seccomp listener fd (taken from init with pidfd_getfd). */
  listenerFd: number;
  /** Host pid of the sandbox's init: its /proc/<pid>/root is the sandbox root. */
  initPid: number;
  /** fd for strace lines, or -1. */
  straceFd: number;
  /** Path of the JSON debug log, or null. */
  debugLog: string | null;
  /** Host CPU to keep the loop on (the workload's), or -1 to let the scheduler choose. */
  cpu: number;
}

type Role = { role: 'main'; cfg: SentryConfig } | { role: 'slow'; cfg: SentryConfig; busy: Int32Array };

const MAX_SLOW = 32;

function makeLog(cfg: SentryConfig): Logger | undefined {
  if (!cfg.debugLog) return undefined;
  return pino({ base: { component: 'sentry' } }, pino.destination({ dest: cfg.debugLog, sync: true, append: true }));
}

function setup(cfg: SentryConfig): void {
  c.umask(0);
  setRoot(openat2(AT_FDCWD, `/proc/${cfg.initPid}/root`, O_PATH | O_CLOEXEC, 0, 0));
  if (cfg.cpu >= 0) {
    const mask = Buffer.alloc(128);
    mask[cfg.cpu >> 3]! |= 1 << (cfg.cpu & 7);
    c.sched_setaffinity(0, mask.length, mask);
  }
}

/**
 * Slow-path threads: each answers the calls it is given, blocking as long as
 * they need. The main loop never yields to its event loop, so busy flags
 * live in shared memory (Atomics) rather than in messages back to it.
 */
class SlowPool {
  private readonly workers: { w: Worker; busy: Int32Array }[] = [];
  private readonly queue: Notification[] = [];
  constructor(private readonly cfg: SentryConfig) {}

  get pending(): number {
    return this.queue.length;
  }

  submit(n: Notification): void {
    this.queue.push(n);
    this.drain();
  }

  /** Hands queued calls to idle threads, starting new ones up to MAX_SLOW. */
  drain(): void {
    while (this.queue.length > 0) {
      let slot = this.workers.find((s) => Atomics.load(s.busy, 0) === 0);
      if (!slot && this.workers.length < MAX_SLOW) {
        const busy = new Int32Array(new SharedArrayBuffer(4));
        const w = new Worker(fileURLToPath(import.meta.url), {
          workerData: { role: 'slow', cfg: this.cfg, busy } satisfies Role,
        });
        w.unref();
        slot = { w, busy };
        this.workers.push(slot);
      }
      if (!slot) return;
      Atomics.store(slot.busy, 0, 1);
      slot.w.postMessage(this.queue.shift());
    }
  }
}

function mainLoop(cfg: SentryConfig): void {
  setup(cfg);
  const platform = new SeccompPlatform(cfg.listenerFd);
  const log = makeLog(cfg);
  const pool = new SlowPool(cfg);
  const opts = { platform, straceFd: cfg.straceFd, log, deferBlocking: (n: Notification) => pool.submit(n) };
  for (;;) {
    // While calls wait for a free slow-path thread, wake up now and then to hand them over.
    const n = platform.receive(pool.pending > 0 ? 5 : -1);
    pool.drain();
    if (n === 'gone') break;
    if (n === null) continue;
    try {
      dispatch(n, opts);
    } catch (e) {
      log?.error({ err: e, nr: n.nr, tid: n.tid }, 'sentry error');
      platform.reply(n, 0, 38 /* ENOSYS */);
    }
  }
  parentPort?.postMessage({ type: 'gone' });
}

function slowLoop(cfg: SentryConfig, busy: Int32Array): void {
  setup(cfg);
  disableTaskCache();
  setMayBlock(true);
  const platform = new SeccompPlatform(cfg.listenerFd);
  const log = makeLog(cfg);
  parentPort!.on('message', (n: Notification) => {
    try {
      dispatch(n, { platform, straceFd: cfg.straceFd, log });
    } catch (e) {
      log?.error({ err: e, nr: n.nr, tid: n.tid }, 'sentry error (slow path)');
      platform.reply(n, 0, 38);
    }
    Atomics.store(busy, 0, 0);
  });
}

/**
 * Starts the sentry in a worker thread. Resolves when the sandbox has no
 * task left (the listener reports POLLHUP).
 */
export function runSentry(cfg: SentryConfig): { worker: Worker; done: Promise<void> } {
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { role: 'main', cfg } satisfies Role });
  const done = new Promise<void>((resolve, reject) => {
    worker.on('message', () => resolve());
    worker.on('error', reject);
    worker.on('exit', () => resolve());
  });
  return { worker, done };
}

if (!isMainThread && (workerData as Role | undefined)?.role) {
  const wd = workerData as Role;
  if (wd.role === 'main') mainLoop(wd.cfg);
  else slowLoop(wd.cfg, wd.busy);
}
