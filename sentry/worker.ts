/**
 * The sentry's threads. `runSentry` runs the notification loop on the
 * calling thread: it polls the listener, dispatches each call synchronously
 * (most take a few microseconds) and hands calls that could block (opening
 * a FIFO, which waits for its peer) to slow-path worker threads, which
 * answer them on their own, so one blocked call never stalls another
 * thread's syscall. (A worker for the main loop would cost ~80 ms of
 * startup here.)
 *
 * Worker data (`SentryConfig`) is plain JSON; fds are numbers in the
 * process's shared fd table.
 */
import { writeSync } from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { c, openat2 } from './native.js';
import { disableTaskCache, hasCaughtSignal } from './kernel/task.js';
import { SeccompPlatform } from './platform/seccomp.js';
import type { Notification, Platform } from './platform/platform.js';
import { dispatch } from './dispatch.js';
import { indexByNr, tableFor, type SandboxOption } from './syscalls/table.js';
import { setMayBlock, type Resume } from './syscalls/file.js';
import { AT_FDCWD, O_CLOEXEC, O_PATH } from './abi.js';
import { setRoot, setUnscopedForTests } from './vfs/resolve.js';
import { configureProcfs } from './vfs/procfs.js';
import { cgroupLimits, hostLimits, setSandboxLimits, type CgroupRecord } from './kernel/limits.js';
import { ProcConnector } from './kernel/cnproc.js';
import { ProcTable } from './kernel/proctable.js';
import { serveControl } from './control.js';
import { configureIdentity } from './syscalls/identity.js';
import { setUserNamespace, userNamespaceOf } from './kernel/userns.js';
import { asSentry, configureCapabilityRule } from './kernel/creds.js';

/** What the CLI hands the sentry. */
export interface SentryConfig {
  /** The seccomp listener fd (taken from init with pidfd_getfd). */
  listenerFd: number;
  /** Host pid of the sandbox's init: its /proc/<pid>/root is the sandbox root. */
  initPid: number;
  /** fd for strace lines, or -1. */
  straceFd: number;
  /** The sandbox's table settings (the same the filter was built with). */
  settings: SandboxOption[];
  /** Path of the JSON debug log, or null. */
  debugLog: string | null;
  /** Where to serve the control socket (sentry/control.ts), or none. */
  controlSocket?: string;
  /** TEST ONLY: resolve paths without scoping to the sandbox root (a deliberately vulnerable sentry). */
  testUnscopedResolve?: boolean;
  /** TEST ONLY: serve the kernel's /proc files unchanged (sentry/vfs/procfs.ts), to show the leak tests can fail. */
  testRawProc?: boolean;
  /** The sandbox's cgroup (src/cgroups.ts), whose limits /proc/meminfo, /proc/cpuinfo and sysinfo report; none: the host's. */
  cgroup?: CgroupRecord;
  /** uname(2)'s release inside (the filter traps uname only then); undefined: the host's, not trapped. */
  kernelRelease?: string;
}

/**
 * Shared state of one slow-path thread (Int32Array over a SharedArrayBuffer):
 * [0] busy (0 idle, 1 working), [1] the thread's tid, [2] the caller's tid.
 */
type Role = { role: 'slow'; cfg: SentryConfig; busy: Int32Array };
/** Interrupts a slow-path thread's blocking syscall (native/sentry.c tv_wake_setup). */
const WAKE_SIGNAL = 34 + 3; // SIGRTMIN+3
/** How often callers of busy slow-path threads are checked for pending signals, ms. */
const SIGNAL_CHECK_MS = 10;

/** Slow-path threads at most (each blocked FIFO open holds one until its peer comes or its caller goes). */
const MAX_SLOW = 128;
/** One call for a slow-path thread. */
interface Job {
  n: Notification;
  resume?: Resume;
}
/** How long the loop may keep the event loop waiting, in ms. */
const YIELD_MS = 20;
/** How often the process table takes the proc connector's queued events, in ms (when the loop yields). */
const TABLE_UPDATE_MS = 25;
/**
 * With --strace, how long the end may wait for the init's exit event (the kernel sends it after the launcher
 * could reap the init, so it can come after the listener's POLLHUP), in ms.
 */
const STRACE_SETTLE_MS = 200;

function makeLog(cfg: SentryConfig): Logger | undefined {
  if (!cfg.debugLog) return undefined;
  // Loaded only when asked for: it costs ~20 ms of startup.
  const { pino } = createRequire(import.meta.url)('pino') as typeof import('pino');
  return pino({ base: { component: 'sentry' } }, pino.destination({ dest: cfg.debugLog, sync: true, append: true }));
}

function setup(cfg: SentryConfig): void {
  c.umask(0);
  configureIdentity({ kernelRelease: cfg.kernelRelease });
  setUserNamespace(userNamespaceOf(cfg.initPid));
  configureCapabilityRule();
  setUnscopedForTests(cfg.testUnscopedResolve === true);
  setSandboxLimits(cfg.cgroup ? cgroupLimits(cfg.cgroup, cfg.initPid) : hostLimits(cfg.initPid));
  configureProcfs({ testRaw: cfg.testRawProc });
  setRoot(openat2(AT_FDCWD, `/proc/${cfg.initPid}/root`, O_PATH | O_CLOEXEC, 0, 0));
}

/**
 * The process table (sentry/kernel/proctable.ts), fed by the proc connector, or by /proc scans when the
 * connector cannot be opened (no CAP_NET_ADMIN in the initial namespaces); null when the init has gone already.
 */
function startProcTable(cfg: SentryConfig, log: Logger | undefined): ProcTable | null {
  let source: ProcConnector | null = null;
  try {
    source = ProcConnector.open();
  } catch (e) {
    log?.warn({ err: e }, 'proc connector unavailable: the process table rescans /proc');
  }
  const strace = cfg.straceFd >= 0 ? (line: string): void => void writeSync(cfg.straceFd, line + '\n') : undefined;
  try {
    return new ProcTable({ initPid: cfg.initPid, source, strace });
  } catch (e) {
    source?.close();
    log?.error({ err: e }, 'process table: the init has gone');
    return null;
  }
}

/**
 * Slow-path threads: each answers the calls it is given, blocking as long as
 * they need. The main loop never yields to its event loop, so busy flags
 * live in shared memory (Atomics) rather than in messages back to it.
 */
class SlowPool {
  private readonly workers: { w: Worker; busy: Int32Array; job?: Job }[] = [];
  private readonly queue: Job[] = [];
  constructor(private readonly cfg: SentryConfig) {}

  get pending(): number {
    return this.queue.length;
  }

  get busy(): boolean {
    return this.workers.some((s) => Atomics.load(s.busy, 0) !== 0);
  }

  /**
   * Interrupts the blocking syscall of each slow-path thread whose caller
   * got a signal it handles, or is gone (its notification no longer valid:
   * a host process reusing the tid cannot keep the thread busy).
   */
  interruptSignalled(platform: Platform): void {
    for (const s of this.workers) {
      if (Atomics.load(s.busy, 0) === 0 || !s.job) continue;
      const worker = Atomics.load(s.busy, 1);
      if (worker > 0 && (!platform.stillValid(s.job.n) || hasCaughtSignal(s.job.n.tid))) c.wakeThread(worker, WAKE_SIGNAL);
    }
  }

  submit(n: Notification, resume?: Resume): void {
    this.queue.push({ n, resume });
    this.drain();
  }

  /** Hands queued calls to idle threads, starting new ones up to MAX_SLOW. */
  drain(): void {
    while (this.queue.length > 0) {
      let slot = this.workers.find((s) => Atomics.load(s.busy, 0) === 0);
      if (!slot && this.workers.length < MAX_SLOW) {
        const busy = new Int32Array(new SharedArrayBuffer(12));
        const w = new Worker(fileURLToPath(import.meta.url), {
          workerData: { role: 'slow', cfg: this.cfg, busy } satisfies Role,
        });
        w.unref();
        slot = { w, busy };
        this.workers.push(slot);
      }
      if (!slot) return;
      const job = this.queue.shift()!;
      slot.job = job;
      Atomics.store(slot.busy, 2, job.n.tid);
      Atomics.store(slot.busy, 0, 1);
      slot.w.postMessage(job);
    }
  }
}

/**
 * Runs the notification loop on the calling thread. It blocks in poll(2) on
 * the listener and answers calls synchronously, and yields to the event
 * loop whenever the sandbox has been quiet for YIELD_MS (or busy for as
 * long), so signals and child exits are still handled. Resolves when no task
 * of the sandbox is left (POLLHUP).
 */
export function runSentry(cfg: SentryConfig): Promise<void> {
  setup(cfg);
  const platform = new SeccompPlatform(cfg.listenerFd);
  const log = makeLog(cfg);
  const pool = new SlowPool(cfg);
  const table = startProcTable(cfg, log);
  // Events are taken when the loop yields (the notification loop never waits for them), and before and after
  // every call when strace lines are printed, so that they name tasks before these are reaped (a trapped
  // caller is alive while it waits).
  const tableTimer = table ? setInterval(() => table.update(), TABLE_UPDATE_MS) : undefined;
  tableTimer?.unref();
  const eager = table && cfg.straceFd >= 0 ? table : null;
  const server =
    table && cfg.controlSocket
      ? serveControl(cfg.controlSocket, table, (e) => log?.error({ err: e }, 'control socket'))
      : undefined;
  const opts = {
    platform,
    entries: indexByNr(tableFor(new Set(cfg.settings))),
    straceFd: cfg.straceFd,
    log,
    deferBlocking: (n: Notification, resume?: Resume) => pool.submit(n, resume),
  };
  return new Promise<void>((resolve) => {
    let checked = 0;
    const pump = (): void => {
      const until = performance.now() + YIELD_MS;
      for (;;) {
        // While calls wait for (or sit in) slow-path threads, wake up now and then to look after them.
        const busy = pool.busy;
        const n = platform.receive(pool.pending > 0 || busy ? SIGNAL_CHECK_MS : YIELD_MS);
        pool.drain();
        if (busy && performance.now() - checked >= SIGNAL_CHECK_MS) {
          checked = performance.now();
          pool.interruptSignalled(platform);
        }
        if (n === 'gone') {
          asSentry();
          clearInterval(tableTimer);
          if (eager) eager.settle(STRACE_SETTLE_MS);
          table?.update();
          table?.close();
          server?.close();
          return resolve();
        }
        if (n !== null) {
          eager?.update();
          try {
            dispatch(n, opts);
          } catch (e) {
            log?.error({ err: e, nr: n.nr, tid: n.tid }, 'sentry error');
            platform.reply(n, 0, 38 /* ENOSYS */);
          }
          eager?.update();
        }
        if (n === null || performance.now() > until) {
          asSentry(); // the event loop's work (state, control socket, process table) is the sentry's own
          return void setImmediate(pump);
        }
      }
    };
    pump();
  });
}

function slowLoop(cfg: SentryConfig, busy: Int32Array): void {
  setup(cfg);
  Atomics.store(busy, 1, Number(c.wakeSetup(WAKE_SIGNAL)));
  disableTaskCache();
  setMayBlock(true);
  const platform = new SeccompPlatform(cfg.listenerFd);
  const log = makeLog(cfg);
  const entries = indexByNr(tableFor(new Set(cfg.settings)));
  parentPort!.on('message', ({ n, resume }: Job) => {
    try {
      dispatch(n, { platform, entries, straceFd: cfg.straceFd, log }, resume);
    } catch (e) {
      log?.error({ err: e, nr: n.nr, tid: n.tid }, 'sentry error (slow path)');
      platform.reply(n, 0, 38);
    }
    Atomics.store(busy, 0, 0);
  });
}

if (!isMainThread && (workerData as Role | undefined)?.role === 'slow') {
  const wd = workerData as Extract<Role, { role: 'slow' }>;
  slowLoop(wd.cfg, wd.busy);
}
