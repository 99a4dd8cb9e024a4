/**
 * CPU seconds spent by a process tree, from /proc (Linux): the root's own time, the time of its live descendants,
 * and the time of the children it has reaped (cutime/cstime: Postgres backends that ended, a Python reference that
 * exited). Differences of two readings tell what one bench side cost each tree. Elsewhere than Linux: NaN.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS = 100; // USER_HZ: 100 on every Linux build Node supports

interface Stat {
  ppid: number;
  own: number;
  reaped: number;
}

/** `/proc/<pid>/stat`, or with `tid` that thread's `/proc/<pid>/task/<tid>/stat`. */
function readStat(pid: number, tid?: number): Stat | undefined {
  try {
    const text = readFileSync(
      tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`,
      'utf8',
    );
    // Fields after the command (which may hold spaces) start after the last ')'.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const n = (i: number) => Number(f[i - 3]);
    return { ppid: n(4), own: n(14) + n(15), reaped: n(16) + n(17) };
  } catch {
    return undefined; // gone between the listing and the read
  }
}

/** CPU seconds of `root` and everything under it, reaped children included, but not the subtree of `skip`. */
export function treeCpuSeconds(root: number, skip?: number): number {
  let all: Map<number, Stat>;
  try {
    all = new Map();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const s = readStat(Number(name));
      if (s) all.set(Number(name), s);
    }
  } catch {
    return NaN;
  }
  const top = all.get(root);
  if (!top) return NaN;
  const children = new Map<number, number[]>();
  for (const [pid, s] of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  let ticks = top.reaped;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop() ?? 0;
    if (pid === skip) continue;
    ticks += all.get(pid)?.own ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return ticks / TICKS;
}

/**
 * CPU seconds of a process's main thread alone (Linux numbers it with the process's pid): for a Node process, the
 * one JavaScript thread that answers HTTP, apart from its worker threads, GC helpers and ONNX Runtime's threads.
 */
export function mainThreadCpuSeconds(pid: number | undefined): number {
  return pid === undefined ? NaN : (readStat(pid, pid)?.own ?? NaN) / TICKS;
}

/** CPU seconds (user + system) a process has used over all its threads, children not included. */
export function processCpuSeconds(pid: number | undefined): number {
  return pid === undefined ? NaN : (readStat(pid)?.own ?? NaN) / TICKS;
}

/**
 * CPU seconds the whole machine spent busy (every core: user, nice, system, irq, softirq; not idle, I/O wait or
 * time the hypervisor took, which is `steal`), from the first line of /proc/stat. Elsewhere than Linux: NaN.
 */
export function machineCpuSeconds(): { busy: number; steal: number } {
  try {
    const f =
      readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
    const [user = NaN, nice = NaN, system = NaN, , , irq = NaN, softirq = NaN, steal = NaN] = f;
    return { busy: (user + nice + system + irq + softirq) / TICKS, steal: steal / TICKS };
  } catch {
    return { busy: NaN, steal: NaN };
  }
}

/** The postmaster's pid from its data folder (first line of postmaster.pid). */
export function postmasterPid(dataDir: string): number {
  return Number(readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
}

/** One reading, in CPU seconds. */
export interface CpuUse {
  postgres: number;
  /** This process: the in-process worker, its scorer and ORT threads, the COPY floor's client. */
  bench: number;
  /** Children this process reaped: the Python references, once exited. */
  python: number;
  /** The rest of this process's tree: the Temporal dev server. */
  temporal: number;
}

export function cpuUse(postgresPid: number): CpuUse {
  const self = readStat(process.pid);
  const postgres = treeCpuSeconds(postgresPid);
  const bench = (self?.own ?? NaN) / TICKS;
  const python = (self?.reaped ?? NaN) / TICKS;
  return { postgres, bench, python, temporal: treeCpuSeconds(process.pid, postgresPid) - bench - python };
}

export function cpuDelta(a: CpuUse, b: CpuUse): CpuUse {
  return {
    postgres: b.postgres - a.postgres,
    bench: b.bench - a.bench,
    python: b.python - a.python,
    temporal: b.temporal - a.temporal,
  };
}

export const formatCpu = (c: CpuUse) =>
  `Postgres ${c.postgres.toFixed(2)}, this process ${c.bench.toFixed(2)}, Python ${c.python.toFixed(2)}, ` +
  `Temporal ${c.temporal.toFixed(2)}`;

/** CPU seconds of each live process under `root` (and `root` itself), keyed by pid, with its command line. */
export function processCpu(root: number): Map<number, { cmd: string; seconds: number }> {
  const out = new Map<number, { cmd: string; seconds: number }>();
  const all = new Map<number, Stat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (st) all.set(Number(name), st);
  }
  const under = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
      if (p === root) return true;
      p = all.get(p)?.ppid ?? 0;
    }
    return false;
  };
  for (const [pid, st] of all) {
    if (!under(pid)) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      continue;
    }
    out.set(pid, { cmd, seconds: (st.own + (pid === root ? st.reaped : 0)) / TICKS });
  }
  return out;
}

/** The processes that used CPU between two `processCpu` readings, most first (new processes count from 0). */
export function processCpuDelta(
  a: ReturnType<typeof processCpu>,
  b: ReturnType<typeof processCpu>,
): { cmd: string; seconds: number }[] {
  return [...b]
    .map(([pid, p]) => ({ cmd: p.cmd, seconds: p.seconds - (a.get(pid)?.seconds ?? 0) }))
    .filter((p) => p.seconds >= 0.05)
    .sort((x, y) => y.seconds - x.seconds);
}
