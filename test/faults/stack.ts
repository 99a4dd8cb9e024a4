/**
 * The real stack as separate processes for fault injection: the Temporal dev server on a SQLite file, an
 * embedded Postgres, N worker processes and M API processes, each of which can be killed and started again.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { freePorts, waitFor, type Managed } from '../../dev/process.js';
import {
  spawnService,
  startPostgres,
  startTemporal,
  type EmbeddedPg,
  type TemporalDev,
} from '../../dev/stack.js';

export interface FaultStackOptions {
  dir: string;
  workers: number;
  apis: number;
  temporalBinary: string;
  workflowBundle: string;
  taskQueue: string;
  apiKey: string;
  /** Extra environment for workers and APIs (e.g. NOTIFY_WEBHOOK_URL, small chunk sizes). */
  env?: Record<string, string>;
  log?: (line: string) => void;
}

export class FaultStack {
  readonly workers: (Managed | undefined)[] = [];
  readonly apis: (Managed | undefined)[] = [];
  readonly apiPorts: number[] = [];
  /** Workers or APIs that exited without being told to (the harness restarted them). */
  readonly unplannedExits: { name: string; code: number | null; tail: string[] }[] = [];
  private stopping = false;
  private temporal: TemporalDev | undefined;
  private postgres: EmbeddedPg | undefined;

  private constructor(
    private readonly options: FaultStackOptions,
    readonly ports: { temporal: number; postgres: number },
  ) {}

  static async start(options: FaultStackOptions): Promise<FaultStack> {
    await mkdir(options.dir, { recursive: true });
    const [temporal, postgres, ...apis] = (await freePorts(2 + options.apis)) as [
      number,
      number,
      ...number[],
    ];
    const stack = new FaultStack(options, { temporal, postgres });
    await Promise.all([stack.startTemporal(), stack.startPostgres()]);
    stack.apiPorts.push(...apis);
    for (let i = 0; i < options.workers; i++) stack.startWorker(i);
    for (let i = 0; i < options.apis; i++) stack.startApi(i);
    await stack.waitApisReady();
    return stack;
  }

  get databaseUrl(): string {
    return `postgres://postgres:postgres@127.0.0.1:${this.ports.postgres}/rides`;
  }

  get temporalAddress(): string {
    return `127.0.0.1:${this.ports.temporal}`;
  }

  apiUrl(i = 0): string {
    return `http://127.0.0.1:${this.apiPorts[i] ?? 0}`;
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      NODE_ENV: 'test',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'warn',
      DATABASE_URL: this.databaseUrl,
      TEMPORAL_ADDRESS: this.temporalAddress,
      TEMPORAL_TASK_QUEUE: this.options.taskQueue,
      WORKFLOW_BUNDLE: this.options.workflowBundle,
      API_KEY: this.options.apiKey,
      ...this.options.env,
      ...extra,
    };
  }

  async startTemporal(): Promise<void> {
    this.temporal = await startTemporal({
      binary: this.options.temporalBinary,
      port: this.ports.temporal,
      dbFile: path.join(this.options.dir, 'temporal.db'),
      onLine: (l) => this.log(`[temporal] ${l}`),
    });
  }

  async startPostgres(): Promise<void> {
    this.postgres = await startPostgres({
      dataDir: path.join(this.options.dir, 'pg'),
      port: this.ports.postgres,
      databases: ['rides'],
      onLine: (l) => this.log(`[postgres] ${l}`),
    });
  }

  /** Stops the Temporal server (SIGTERM: graceful, SIGKILL: crash) and starts it again on the same file. */
  async restartTemporal(signal: 'SIGTERM' | 'SIGKILL', downMs = 1000): Promise<void> {
    await this.kill(this.temporal, signal);
    await sleep(downMs);
    await this.startTemporal();
  }

  /** Stops Postgres with a fast shutdown (open transactions are rolled back, committed data stays). */
  async stopPostgres(): Promise<void> {
    await this.postgres?.stop();
    this.postgres = undefined;
  }

  /**
   * Starts worker `i`. Like a process manager (compose `restart: unless-stopped`), the harness restarts a worker
   * or API that exits without being told to, and records the exit with its last log lines so a scenario can
   * report it: the suite never hangs on a dead process, and a crash is never silent.
   */
  startWorker(i: number): void {
    this.supervise(this.workers, i, `worker-${i}`, 'worker', this.childEnv());
  }

  async killWorker(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const worker = this.workers[i];
    this.workers[i] = undefined;
    await this.kill(worker, signal);
  }

  startApi(i: number): void {
    const env = this.childEnv({ PORT: String(this.apiPorts[i]), HOST: '127.0.0.1' });
    this.supervise(this.apis, i, `api-${i}`, 'api', env);
  }

  private supervise(
    slots: (Managed | undefined)[],
    i: number,
    name: string,
    kind: 'worker' | 'api',
    env: NodeJS.ProcessEnv,
  ): void {
    const tail: string[] = [];
    const managed = spawnService(kind, {
      name,
      env,
      onLine: (line) => {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        this.log(`[${name}] ${line}`);
      },
    });
    slots[i] = managed;
    void managed.exited.then((code) => {
      if (this.stopping || slots[i] !== managed) return;
      this.unplannedExits.push({ name, code, tail: tail.slice(-5) });
      this.log(`[harness] ${name} exited by itself (code ${code}); restarting it`);
      setTimeout(() => {
        if (!this.stopping && slots[i] === managed) this.supervise(slots, i, name, kind, env);
      }, 500);
    });
  }

  async waitApisReady(timeoutMs = 90_000): Promise<void> {
    await Promise.all(
      this.apiPorts.map((_, i) =>
        waitFor(`API ${i} ready`, async () => (await fetch(`${this.apiUrl(i)}/ready`)).ok, timeoutMs, 250),
      ),
    );
  }

  private async kill(managed: Managed | undefined, signal: NodeJS.Signals): Promise<void> {
    if (!managed || managed.child.exitCode !== null || managed.child.signalCode !== null) return;
    managed.child.kill(signal);
    await managed.exited;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.apis, ...this.workers].map((m) => (m ? m.stop(10_000) : Promise.resolve())));
    await this.temporal?.stop();
    await this.postgres?.stop();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
