/**
 * Runs a deployment's training command as an activity: spawned without a shell, heartbeating with its last output
 * line every second, killed when the activity is cancelled (or its worker shuts down) or runs past its time.
 */
import { spawn } from 'node:child_process';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';

export interface CommandOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines the command wrote (stdout and stderr, in order). */
  tail: string[];
}

const TAIL_LINES = 12;
const KILL_GRACE_MS = 3000;

/** Runs `argv` in `cwd`; resolves with how it ended. Throws a non-retryable TrainingFailed when it cannot start. */
export function runCommand(
  argv: readonly string[],
  options: { cwd: string; timeoutMs: number },
): Promise<CommandOutcome> {
  const ctx = Context.current();
  const [program = '', ...args] = argv;
  return new Promise((resolve, reject) => {
    const tail: string[] = [];
    let last = '';
    const child = spawn(program, args, {
      cwd: options.cwd,
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const take = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split(/\r?\n/)) {
        const text = line.trim();
        if (text === '') continue;
        last = text.slice(0, 500);
        tail.push(last);
        if (tail.length > TAIL_LINES) tail.shift();
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const stop = (why: string) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      tail.push(why);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS).unref();
    };
    const beat = setInterval(() => ctx.heartbeat({ pid: child.pid, last }), 1000);
    ctx.heartbeat({ pid: child.pid, last: `started ${program}` });
    const timer = setTimeout(
      () => stop(`killed: ran longer than ${Math.round(options.timeoutMs / 1000)} s`),
      options.timeoutMs,
    );
    const onCancel = () => stop('killed: the activity was cancelled');
    ctx.cancellationSignal.addEventListener('abort', onCancel);
    const done = () => {
      clearInterval(beat);
      clearTimeout(timer);
      ctx.cancellationSignal.removeEventListener('abort', onCancel);
    };
    child.once('error', (err) => {
      done();
      reject(
        ApplicationFailure.create({
          type: 'TrainingFailed',
          message: `cannot start ${program}: ${err.message}`,
          nonRetryable: true,
        }),
      );
    });
    child.once('close', (code, signal) => {
      done();
      resolve({ code, signal, tail });
    });
  });
}
