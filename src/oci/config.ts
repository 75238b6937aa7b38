/**
 * An OCI runtime-spec config.json as a SandboxSpec: the entry point the OCI
 * runtime commands (runc's CLI, a later issue) build on, and what the mount
 * tests use today.
 *
 * Covered: process.args/env/cwd/user/capabilities/noNewPrivileges, hostname,
 * linux.namespaces (type, path), linux.uidMappings/gidMappings (a new user
 * namespace's maps), and the file
 * system (root, mounts, linux.devices, maskedPaths, readonlyPaths) through
 * ./mounts.ts, linux.resources and linux.cgroupsPath through ./resources.ts
 * and ../cgroups.ts. Not covered yet (ignored): process.terminal, rlimits,
 * hooks, seccomp, sysctl, annotations.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CAPABILITIES, capMask, DEFAULT_CAPS } from '../caps.js';
import {
  idMapText,
  NS_FLAGS,
  type IdMapping,
  type Namespace,
  type NamespaceType,
  type Overlay,
  type SandboxSpec,
  type UserNamespaceMaps,
} from '../sandbox.js';
import { MountError, rootSetup, type OciFsConfig } from './mounts.js';
import { resourcesFromOci, type OciResources } from './resources.js';

/** The parts of runtime-spec config.md / config-linux.md that tvisor reads. */
export interface OciConfig extends OciFsConfig {
  ociVersion?: string;
  process?: {
    args?: string[];
    env?: string[];
    cwd?: string;
    user?: { uid: number; gid: number; additionalGids?: number[] };
    capabilities?: Partial<Record<'bounding' | 'effective' | 'permitted' | 'inheritable' | 'ambient', string[]>>;
    noNewPrivileges?: boolean;
  };
  hostname?: string;
  linux?: OciFsConfig['linux'] & {
    namespaces?: { type: string; path?: string }[];
    resources?: OciResources;
    cgroupsPath?: string;
    /** config-linux.md "User namespace mappings": required with a new user namespace. */
    uidMappings?: IdMapping[];
    gidMappings?: IdMapping[];
  };
}

/** Options the config does not carry. */
export interface OciSpecOptions {
  /** Bundle directory: relative root.path and bind sources are relative to it. */
  bundle: string;
  /** Writable layer over root.path (default 'memory': the rootfs is never written; 'none' is runc's behaviour). */
  overlay?: Overlay;
  /** strace fd (-1: off) and sentry log, as for `tvisor do`. */
  straceFd?: number;
  debugLog?: string | null;
}

/**
 * Builds a SandboxSpec from an OCI config.
 * Throws MountError for the file-system parts (naming the entry), Error for the rest
 * (missing process.args, unknown namespace or capability, a new user namespace without both id maps or
 * maps without one, a malformed map, a linux.resources member tvisor does not enforce).
 */
export function sandboxSpecFromOci(config: OciConfig, o: OciSpecOptions): SandboxSpec {
  const p = config.process ?? {};
  if (!Array.isArray(p.args) || p.args.length === 0) throw new Error('process.args: a command is required');
  const namespaces: Namespace[] = [];
  for (const [i, ns] of (config.linux?.namespaces ?? []).entries()) {
    if (!(ns.type in NS_FLAGS)) throw new Error(`linux.namespaces[${i}]: unknown type ${JSON.stringify(ns.type)}`);
    namespaces.push(ns.path ? { type: ns.type as NamespaceType, path: ns.path } : { type: ns.type as NamespaceType });
  }
  if (!namespaces.some((n) => n.type === 'mount')) throw new Error('linux.namespaces: a mount namespace is required');
  // A new user namespace needs both maps (runtime-spec: written by the runtime); a joined one has its own.
  let userNamespace: UserNamespaceMaps | undefined;
  const newUser = namespaces.some((n) => n.type === 'user' && !n.path);
  const { uidMappings, gidMappings } = config.linux ?? {};
  if (newUser) {
    if (!uidMappings?.length || !gidMappings?.length) throw new Error('linux.uidMappings and linux.gidMappings: required with a new user namespace');
    idMapText(uidMappings, 'linux.uidMappings');
    idMapText(gidMappings, 'linux.gidMappings');
    userNamespace = { uidMappings, gidMappings };
  } else if (uidMappings?.length || gidMappings?.length) {
    throw new Error('linux.uidMappings/gidMappings: only with a new user namespace (linux.namespaces type "user" without a path)');
  }
  const caps = (names: string[] | undefined, dflt: readonly string[]): bigint => {
    for (const n of names ?? []) if (!CAPABILITIES.includes(n as never)) throw new Error(`process.capabilities: unknown capability ${n}`);
    return capMask(names ?? dflt);
  };
  const pc = p.capabilities;
  const root = rootSetup(config, { bundle: o.bundle });
  if (!root.rootfs) throw new MountError('root.path is required');
  return {
    args: p.args,
    env: p.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    cwd: p.cwd ?? '/',
    rootfs: root.rootfs,
    overlay: o.overlay ?? 'memory',
    readonlyRoot: root.readonly,
    mounts: root.mounts,
    namespaces,
    caps: {
      bounding: caps(pc?.bounding, DEFAULT_CAPS),
      effective: caps(pc?.effective, DEFAULT_CAPS),
      permitted: caps(pc?.permitted, DEFAULT_CAPS),
      inheritable: caps(pc?.inheritable, pc ? [] : DEFAULT_CAPS),
      ambient: caps(pc?.ambient, []),
    },
    noNewPrivileges: p.noNewPrivileges ?? true,
    hostname: config.hostname,
    userNamespace,
    user: p.user ? { uid: p.user.uid, gid: p.user.gid, additionalGids: p.user.additionalGids ?? [] } : undefined,
    resources: resourcesFromOci(config.linux?.resources),
    cgroupsPath: config.linux?.cgroupsPath,
    straceFd: o.straceFd ?? -1,
    debugLog: o.debugLog ?? null,
  };
}

/** Reads BUNDLE/config.json and builds its SandboxSpec (see sandboxSpecFromOci). */
export function sandboxSpecFromBundle(configPath: string, o: Omit<OciSpecOptions, 'bundle'> = {}): SandboxSpec {
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as OciConfig;
  return sandboxSpecFromOci(config, { ...o, bundle: dirname(configPath) });
}
