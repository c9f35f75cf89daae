/** Linux process tree helpers (from /proc) for tests that check no process is left behind. */
import { readdirSync, readFileSync } from 'node:fs';

/**
 * How long tests wait for a process to start, get ready or end: generous, because the suite shares two cores
 * with other work and a Node.js process can take many seconds to load then. A wait, never a measurement.
 */
export const PROCESS_WAIT_MS = 120_000;
/** Test timeout for tests that start and stop several such processes one after another. */
export const PROCESS_TEST_TIMEOUT_MS = 4 * PROCESS_WAIT_MS;

interface ProcInfo {
  pid: number;
  ppid: number;
  state: string;
  session: number;
}

function readStat(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid …; comm may hold spaces and parentheses, so split after the last ')'.
    const [state = '', ppid = '0', , session = '0'] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(ppid), state, session: Number(session) };
  } catch {
    return undefined;
  }
}

/** True while `pid` exists and has not exited (a zombie nobody reaped counts as exited). */
export function isRunning(pid: number): boolean {
  const info = readStat(pid);
  return info !== undefined && info.state !== 'Z' && info.state !== 'X';
}

function running(): ProcInfo[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => readStat(Number(d)))
    .filter((p): p is ProcInfo => p !== undefined && p.state !== 'Z' && p.state !== 'X');
}

/** Every running process of session `sid` (a process spawned with `detached: true` leads its own session). */
export function inSession(sid: number): number[] {
  return running()
    .filter((p) => p.session === sid)
    .map((p) => p.pid);
}

/** Every running process below `pid` (children, grandchildren, …). */
export function descendants(pid: number): number[] {
  const all = running();
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const p of all) {
      if (p.ppid === parent) {
        found.push(p.pid);
        walk(p.pid);
      }
    }
  };
  walk(pid);
  return found;
}

/** The command line of `pid`, arguments joined by spaces ('' once it is gone). */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** Waits until none of `pids` runs; returns those still running after `timeoutMs`. */
export async function waitUntilGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = pids.filter(isRunning);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
