/**
 * The sentry's control socket: a unix stream socket in the sandbox's state
 * directory (src/state.ts), served by the tvisor process that runs the
 * sentry, through which commands outside (`tvisor ps`, `events`) ask about
 * the running sandbox. One JSON request line in, one JSON response line
 * out, then the connection closes:
 *   {"op":"ps"}  →  {"ok":true,"tasks":[TaskInfo...]}  (sentry/kernel/proctable.ts)
 *   anything else → {"ok":false,"error":"..."}
 * Only root and the sentry's own uid may talk to it: the socket is mode 0600
 * in a 0700 directory, and each connection's peer is checked with
 * SO_PEERCRED (unix(7)); others are refused with an error line.
 */
import { chmodSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { c } from './native.js';
import type { ProcTable, TaskInfo } from './kernel/proctable.js';

/** A request on the control socket. */
export type ControlRequest = { op: 'ps' };
/** Its answer. */
export type ControlResponse = { ok: true; tasks: TaskInfo[] } | { ok: false; error: string };

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
/** Longest request line accepted, bytes. */
const MAX_REQUEST = 4096;

/** The peer's uid (SO_PEERCRED: struct ucred { pid, uid, gid }), or -1 when it cannot be read. */
function peerUid(sock: Socket): number {
  const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (fd === undefined || fd < 0) return -1;
  const cred = Buffer.alloc(12);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(12, 0);
  if (c.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, len) < 0) return -1;
  return cred.readUInt32LE(4);
}

/** The answer to one request line. */
export function answer(table: ProcTable, line: string): ControlResponse {
  let req: unknown;
  try {
    req = JSON.parse(line);
  } catch {
    return { ok: false, error: 'request is not JSON' };
  }
  const op = (req as { op?: unknown } | null)?.op;
  if (op === 'ps') return { ok: true, tasks: table.snapshot() };
  return { ok: false, error: `unknown op ${JSON.stringify(op)}` };
}

/**
 * Listens on `path` (which must not exist) and answers requests from `table`. The server does not keep the
 * process alive (unref). Throws (asynchronously, as an 'error' event logged by the caller) when `path` cannot
 * be bound.
 */
export function serveControl(path: string, table: ProcTable, onError: (e: Error) => void): Server {
  const uid = process.getuid?.() ?? 0;
  const server = createServer((sock) => {
    sock.on('error', () => {});
    const peer = peerUid(sock);
    if (peer !== 0 && peer !== uid) {
      sock.end(JSON.stringify({ ok: false, error: 'permission denied' } satisfies ControlResponse) + '\n');
      return;
    }
    let buf = '';
    sock.setEncoding('utf8');
    let answered = false;
    const reply = (res: ControlResponse): void => {
      answered = true;
      sock.removeAllListeners('data');
      sock.end(JSON.stringify(res) + '\n');
    };
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl >= 0) reply(answer(table, buf.slice(0, nl)));
      else if (buf.length > MAX_REQUEST) reply({ ok: false, error: 'request too long' });
    });
    // A request ended by the end of the stream instead of a newline is a request too.
    sock.on('end', () => {
      if (!answered && buf.length > 0) reply(answer(table, buf));
    });
  });
  server.on('error', onError);
  server.listen(path, () => {
    try {
      chmodSync(path, 0o600);
    } catch (e) {
      onError(e as Error);
    }
  });
  server.unref();
  return server;
}

/**
 * Sends one request to the control socket at `path` and resolves with the answer. Rejects with the socket's
 * error (ENOENT, ECONNREFUSED: nobody serves it any more; EACCES: not root or the owner) or when the answer is
 * not JSON.
 */
export function controlRequest(path: string, req: ControlRequest): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (chunk: string) => (buf += chunk));
    sock.on('error', reject);
    sock.on('end', () => {
      try {
        resolve(JSON.parse(buf) as ControlResponse);
      } catch {
        reject(new Error(`control socket ${path}: bad answer`));
      }
    });
  });
}
