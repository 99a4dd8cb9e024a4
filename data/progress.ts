/**
 * Progress for long CLI runs: a cli-progress bar on a TTY, plain periodic lines otherwise (CI logs, pipes),
 * so a redirected run does not fill a log with carriage returns.
 */
import cliProgress from 'cli-progress';

export interface ProgressReporter {
  update(done: number): void;
  stop(): void;
}

export function createProgress(
  label: string,
  total: number,
  options: { stream?: NodeJS.WriteStream; intervalMs?: number } = {},
): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} [{bar}] {percentage}% | {value}/{total} rows | {rate} rows/s | eta {eta}s`,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    const started = performance.now();
    bar.start(total, 0, { rate: 0 });
    return {
      update: (done) => bar.update(done, { rate: rate(done, started) }),
      stop: () => bar.stop(),
    };
  }
  const intervalMs = options.intervalMs ?? 2000;
  const started = performance.now();
  let last = started;
  return {
    update(done) {
      const now = performance.now();
      if (now - last < intervalMs && done < total) return;
      last = now;
      stream.write(`${label}: ${done}/${total} rows (${rate(done, started)} rows/s)\n`);
    },
    stop: () => undefined,
  };
}

function rate(done: number, started: number): number {
  const seconds = (performance.now() - started) / 1000;
  return seconds > 0 ? Math.round(done / seconds) : 0;
}
