/**
 * strace(1)-style lines for trapped calls:
 *   [pid 12] openat(AT_FDCWD, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3
 *   [pid 12] execve("/bin/ls", ...) = ? <continued>
 *   [pid 12] ptrace(0x0, ...) = -1 EPERM (Operation not permitted) <denied>
 * Arguments are decoded from the signatures below; paths are the copies the
 * handler read (what it acted on), not a second read.
 */
import { constants } from 'node:os';
import { signalName } from './events.js';

type Kind = 'fd' | 'path' | 'oflags' | 'mode' | 'int' | 'hex' | 'atflags' | 'uid' | 'clone' | 'ptr' | 'str' | 'signal' | 'waitopts' | 'idtype' | 'pid';

const SIG: Record<string, Kind[]> = {
  open: ['path', 'oflags', 'mode'],
  openat: ['fd', 'path', 'oflags', 'mode'],
  openat2: ['fd', 'path', 'ptr', 'int'],
  creat: ['path', 'mode'],
  mkdir: ['path', 'mode'],
  mkdirat: ['fd', 'path', 'mode'],
  mknod: ['path', 'mode', 'hex'],
  mknodat: ['fd', 'path', 'mode', 'hex'],
  rmdir: ['path'],
  unlink: ['path'],
  unlinkat: ['fd', 'path', 'atflags'],
  rename: ['path', 'path'],
  renameat: ['fd', 'path', 'fd', 'path'],
  renameat2: ['fd', 'path', 'fd', 'path', 'hex'],
  link: ['path', 'path'],
  linkat: ['fd', 'path', 'fd', 'path', 'atflags'],
  symlink: ['path', 'path'],
  symlinkat: ['path', 'fd', 'path'],
  chmod: ['path', 'mode'],
  fchmodat: ['fd', 'path', 'mode'],
  fchmodat2: ['fd', 'path', 'mode', 'atflags'],
  chown: ['path', 'uid', 'uid'],
  lchown: ['path', 'uid', 'uid'],
  fchownat: ['fd', 'path', 'uid', 'uid', 'atflags'],
  utime: ['path', 'ptr'],
  utimes: ['path', 'ptr'],
  futimesat: ['fd', 'path', 'ptr'],
  utimensat: ['fd', 'path', 'ptr', 'atflags'],
  truncate: ['path', 'int'],
  setxattr: ['path', 'str', 'ptr', 'int', 'hex'],
  lsetxattr: ['path', 'str', 'ptr', 'int', 'hex'],
  removexattr: ['path', 'str'],
  lremovexattr: ['path', 'str'],
  execve: ['path', 'ptr', 'ptr'],
  execveat: ['fd', 'path', 'ptr', 'ptr', 'atflags'],
  chdir: ['path'],
  fchdir: ['fd'],
  clone: ['clone', 'ptr', 'ptr', 'ptr', 'hex'],
  fork: [],
  vfork: [],
  setuid: ['uid'],
  setgid: ['uid'],
  setreuid: ['uid', 'uid'],
  setregid: ['uid', 'uid'],
  setresuid: ['uid', 'uid', 'uid'],
  setresgid: ['uid', 'uid', 'uid'],
  setfsuid: ['uid'],
  setfsgid: ['uid'],
  umask: ['mode'],
  sysinfo: ['ptr'],
  ioctl: ['fd', 'hex', 'hex'],
  kill: ['pid', 'signal'],
  tkill: ['pid', 'signal'],
  tgkill: ['pid', 'pid', 'signal'],
  rt_sigqueueinfo: ['pid', 'signal', 'ptr'],
  rt_tgsigqueueinfo: ['pid', 'pid', 'signal', 'ptr'],
  pidfd_send_signal: ['fd', 'signal', 'ptr', 'hex'],
  pidfd_open: ['pid', 'hex'],
  pidfd_getfd: ['fd', 'int', 'hex'],
  wait4: ['pid', 'ptr', 'waitopts', 'ptr'],
  waitid: ['idtype', 'pid', 'ptr', 'waitopts', 'ptr'],
  unshare: ['clone'],
  setns: ['fd', 'clone'],
  personality: ['hex'],
  prctl: ['int', 'hex', 'hex', 'hex', 'hex'],
};

const OFLAGS: [number, string][] = [
  [0o100, 'O_CREAT'], [0o200, 'O_EXCL'], [0o400, 'O_NOCTTY'], [0o1000, 'O_TRUNC'], [0o2000, 'O_APPEND'],
  [0o4000, 'O_NONBLOCK'], [0o10000, 'O_DSYNC'], [0o40000, 'O_DIRECT'], [0o200000, 'O_DIRECTORY'],
  [0o400000, 'O_NOFOLLOW'], [0o1000000, 'O_NOATIME'], [0o2000000, 'O_CLOEXEC'], [0o10000000, 'O_PATH'],
  [0o20000000, 'O_TMPFILE_DIR'],
];
const ATFLAGS: [number, string][] = [
  [0x100, 'AT_SYMLINK_NOFOLLOW'], [0x200, 'AT_REMOVEDIR'], [0x400, 'AT_SYMLINK_FOLLOW'], [0x800, 'AT_NO_AUTOMOUNT'],
  [0x1000, 'AT_EMPTY_PATH'],
];
const CLONE: [number, string][] = [
  [0x100, 'CLONE_VM'], [0x200, 'CLONE_FS'], [0x400, 'CLONE_FILES'], [0x800, 'CLONE_SIGHAND'], [0x1000, 'CLONE_PIDFD'],
  [0x4000, 'CLONE_VFORK'], [0x8000, 'CLONE_PARENT'], [0x10000, 'CLONE_THREAD'], [0x20000, 'CLONE_NEWNS'],
  [0x40000, 'CLONE_SYSVSEM'], [0x80000, 'CLONE_SETTLS'], [0x100000, 'CLONE_PARENT_SETTID'],
  [0x200000, 'CLONE_CHILD_CLEARTID'], [0x1000000, 'CLONE_CHILD_SETTID'], [0x2000000, 'CLONE_NEWCGROUP'],
  [0x4000000, 'CLONE_NEWUTS'], [0x8000000, 'CLONE_NEWIPC'], [0x10000000, 'CLONE_NEWUSER'], [0x20000000, 'CLONE_NEWPID'],
  [0x40000000, 'CLONE_NEWNET'],
];

const WAITOPTS: [number, string][] = [
  [1, 'WNOHANG'], [2, 'WUNTRACED'], [4, 'WEXITED'], [8, 'WCONTINUED'], [0x01000000, 'WNOWAIT'],
  [0x20000000, '__WNOTHREAD'], [0x40000000, '__WALL'], [0x80000000, '__WCLONE'],
];
const IDTYPES = ['P_ALL', 'P_PID', 'P_PGID', 'P_PIDFD'];

const CLONE_UNSHARE: [number, string][] = [[0x80, 'CLONE_NEWTIME'], ...CLONE];

function flagsText(v: number, table: [number, string][], base = ''): string {
  const out: string[] = base ? [base] : [];
  let rest = v;
  for (const [bit, name] of table) if ((v & bit) >>> 0 === bit >>> 0) { out.push(name); rest = (rest & ~bit) >>> 0; }
  if (rest) out.push('0x' + rest.toString(16));
  return out.length ? out.join('|') : '0';
}

const ERRNO_NAME = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v, k]));

/** The errno(3) name of `e` (e.g. 13 → "EACCES"). */
export function errnoName(e: number): string {
  return ERRNO_NAME.get(e) ?? `E${e}`;
}

const ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\t': '\\t', '\r': '\\r' };
/**
 * A string argument as strace(1) prints it: double-quoted, printable ASCII as is, \n \t \r \" \\ escaped, every
 * other byte in octal (\233); `s` is latin1 (one char per byte); at most 256 bytes, then "...".
 */
function quote(s: string): string {
  let out = '"';
  for (const ch of s.length > 256 ? s.slice(0, 256) : s) {
    const b = ch.charCodeAt(0);
    out += ESCAPES[ch] ?? (b >= 0x20 && b < 0x7f ? ch : `\\${b.toString(8)}`);
  }
  return out + '"' + (s.length > 256 ? '...' : '');
}

/**
 * Formats one call. `strings` maps argument addresses to the strings the
 * handler read; `result` is the text after " = ".
 */
export function formatCall(
  spid: number | string,
  name: string,
  args: readonly bigint[],
  strings: ReadonlyMap<bigint, string>,
  result: string,
): string {
  const sig = SIG[name];
  const parts: string[] = [];
  let kinds = sig ?? (['hex', 'hex', 'hex'] as Kind[]);
  // Like strace: open's mode is shown only when the flags create a file (O_CREAT, O_TMPFILE).
  const oflagsAt = kinds.indexOf('oflags');
  if (oflagsAt >= 0 && (Number(args[oflagsAt] ?? 0n) & 0o20200100) === 0) kinds = kinds.slice(0, oflagsAt + 1);
  kinds.forEach((k, i) => {
    const a = args[i] ?? 0n;
    const n = Number(BigInt.asIntN(32, a));
    switch (k) {
      case 'fd': parts.push(n === -100 ? 'AT_FDCWD' : String(n)); break;
      case 'path': case 'str': {
        const s = strings.get(a);
        parts.push(a === 0n ? 'NULL' : s !== undefined ? quote(s) : '0x' + a.toString(16));
        break;
      }
      case 'oflags': {
        const acc = ['O_RDONLY', 'O_WRONLY', 'O_RDWR', 'O_ACCMODE'][n & 3]!;
        parts.push(flagsText(n & ~3, OFLAGS, acc));
        break;
      }
      case 'mode': parts.push('0' + (n >>> 0).toString(8)); break;
      case 'atflags': parts.push(flagsText(n, ATFLAGS)); break;
      case 'clone': {
        // clone(2)'s low byte is the exit signal; unshare(2) and setns(2) have no signal there (0x80 is CLONE_NEWTIME).
        const low = name === 'clone' ? Number(a & 0xffn) : 0;
        const text = flagsText(Number(a & (name === 'clone' ? 0xffffff00n : 0xffffffffn)), name === 'clone' ? CLONE : CLONE_UNSHARE);
        parts.push(low ? (text === '0' ? signalName(low) : `${text}|${signalName(low)}`) : text);
        break;
      }
      case 'signal': parts.push(signalName(n)); break;
      case 'waitopts': parts.push(flagsText(n >>> 0, WAITOPTS)); break;
      case 'idtype': parts.push(IDTYPES[n] ?? String(n)); break;
      case 'uid': case 'pid': parts.push(String(n)); break;
      case 'int': parts.push(BigInt.asIntN(64, a).toString()); break;
      default: parts.push(a === 0n ? (k === 'ptr' ? 'NULL' : '0') : '0x' + a.toString(16));
    }
  });
  return `[pid ${spid}] ${name}(${parts.join(', ')}) = ${result}`;
}
