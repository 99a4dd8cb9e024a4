/**
 * Child-process helpers for the dev supervisor and the test harness: prefixed log lines, free ports,
 * readiness polling, and a stop that escalates from SIGTERM to SIGKILL.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import readline from 'node:readline';

export interface Managed {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  stop(timeoutMs?: number): Promise<void>;
}

const SETPRIV =
  process.platform === 'linux' && existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : undefined;

const COLORS = [36, 35, 33, 32, 34, 31];
let colorIndex = 0;

/** A line sink that prefixes every line with `[name]`. */
export function prefixer(name: string, out: NodeJS.WritableStream = process.stdout): (line: string) => void {
  const color = COLORS[colorIndex++ % COLORS.length] ?? 36;
  const tag = out === process.stdout && process.stdout.isTTY ? `\x1b[${color}m[${name}]\x1b[0m` : `[${name}]`;
  return (line) => out.write(`${tag} ${line}\n`);
}

export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: SpawnOptions & {
    onLine?: (line: string) => void;
    ipc?: boolean;
    stopSignal?: NodeJS.Signals;
  } = {},
): Managed {
  // With an IPC channel the child notices when its supervisor dies (the channel disconnects) and stops itself.
  // Detached: a terminal's Ctrl-C reaches only the supervisor, which then stops children in dependency order.
  // Where util-linux's setpriv exists, the kernel also sends the child its stop signal if the supervisor dies
  // without stopping it (SIGKILL, a test runner's timeout): no orphaned servers either way.
  const stopSignal = options.stopSignal ?? 'SIGTERM';
  const [file, argv] = SETPRIV
    ? [SETPRIV, ['--pdeathsig', stopSignal.replace(/^SIG/, ''), '--', command, ...args]]
    : [command, args];
  const child = spawn(file, argv, {
    ...options,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe', ...(options.ipc ? ['ipc' as const] : [])],
  });
  const onLine = options.onLine ?? prefixer(name);
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) readline.createInterface({ input: stream }).on('line', onLine);
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)));
    child.once('error', (err) => {
      onLine(`failed to start: ${err.message}`);
      resolve(127);
    });
  });
  return {
    name,
    child,
    exited,
    async stop(timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(stopSignal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Asks the OS for a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}

/**
 * `count` free TCP ports on loopback, all different: each is held until all are known (ports asked for one after
 * another can come back equal, once the first is released).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => net.createServer());
  try {
    return await Promise.all(
      servers.map(
        (server) =>
          new Promise<number>((resolve, reject) => {
            server.once('error', reject);
            server.listen(0, '127.0.0.1', () => {
              const address = server.address();
              resolve(typeof address === 'object' && address ? address.port : 0);
            });
          }),
      ),
    );
  } finally {
    await Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())),
      ),
    );
  }
}

/** True when something accepts TCP connections at host:port. */
export async function isPortOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Polls `check` until it returns true, or throws after `timeoutMs` naming `what`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
  everyMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
