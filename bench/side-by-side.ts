/**
 * `npm run bench:online -- --side-by-side <req/s>`: every variant's /predict driven at the same moment, each at the
 * same fixed rate (one it cannot reach, e.g. 20000, saturates them all at once), for --side-rounds rounds of
 * --side-seconds. The cells of a saturation run follow one another, and on this machine two cells a few seconds
 * apart differ by up to half (an A/A pair shows it), far more than a 5 % target; here whatever the hypervisor or the
 * other tenants take at a moment, every variant loses alike. Per variant and round: req/s, the API main thread's CPU
 * per request (at saturation that thread bounds /predict's req/s: it is busy 0.95-0.99 of a core), the whole API
 * process's, and the answers' p99. Reported: each variant's medians and, paired per round against the first
 * variant, its req/s ratio and its main thread's CPU per request over the first's.
 */
import autocannon from 'autocannon';
import { formatSpread, spread } from './batch-stats.js';
import { mainThreadCpuSeconds, processCpuSeconds } from './proc-cpu.js';

export interface SideBySideServer {
  mode: string;
  url: string;
  pid: number | undefined;
}

export interface SideBySideCell {
  round: number;
  mode: string;
  rate: number;
  reqPerSec: number;
  mainUsPerReq: number;
  processUsPerReq: number;
  p99: number;
  non2xx: number;
  errors: number;
}

export async function sideBySide(o: {
  servers: SideBySideServer[];
  rate: number;
  seconds: number;
  rounds: number;
  path: string;
  options: Pick<autocannon.Options, 'method' | 'headers' | 'body'>;
}): Promise<SideBySideCell[]> {
  const cells: SideBySideCell[] = [];
  for (let round = 1; round <= o.rounds; round++) {
    const before = o.servers.map((s) => ({
      main: mainThreadCpuSeconds(s.pid),
      all: processCpuSeconds(s.pid),
    }));
    const results = await Promise.all(
      o.servers.map((s) =>
        autocannon({
          url: s.url + o.path,
          ...o.options,
          connections: 32,
          overallRate: o.rate,
          duration: o.seconds,
        }),
      ),
    );
    o.servers.forEach((s, i) => {
      const r = results[i];
      const b = before[i];
      if (!r || !b) return;
      const n = r.requests.total;
      const us = (seconds: number) => (n > 0 ? Math.round((seconds / n) * 1e7) / 10 : NaN);
      const cell: SideBySideCell = {
        round,
        mode: s.mode,
        rate: o.rate,
        reqPerSec: Math.round(r.requests.average),
        mainUsPerReq: us(mainThreadCpuSeconds(s.pid) - b.main),
        processUsPerReq: us(processCpuSeconds(s.pid) - b.all),
        p99: r.latency.p99,
        non2xx: r.non2xx,
        errors: r.errors,
      };
      cells.push(cell);
      console.log(
        `side by side round ${round} ${s.mode.padEnd(16)} ${cell.reqPerSec} req/s  main ${cell.mainUsPerReq} us/req` +
          `  process ${cell.processUsPerReq} us/req  p99 ${cell.p99} ms` +
          (cell.non2xx || cell.errors ? `  non2xx ${cell.non2xx} errors ${cell.errors}` : ''),
      );
    });
  }
  report(o.servers, cells);
  return cells;
}

function report(servers: SideBySideServer[], cells: SideBySideCell[]): void {
  const first = servers[0]?.mode;
  for (const { mode } of servers) {
    const mine = cells.filter((c) => c.mode === mode);
    const main = spread(mine.map((c) => c.mainUsPerReq));
    const all = spread(mine.map((c) => c.processUsPerReq));
    let line = `side by side ${mode.padEnd(16)} main ${formatSpread(main, 1)} us/req, process ${formatSpread(all, 1)} us/req`;
    if (mode !== first) {
      const paired = (of: (c: SideBySideCell) => number) =>
        spread(
          mine.flatMap((c) => {
            const base = cells.find((b) => b.mode === first && b.round === c.round);
            return base ? [of(c) / of(base)] : [];
          }),
        );
      line +=
        `; paired against ${first}: req/s x ${formatSpread(
          paired((c) => c.reqPerSec),
          3,
        )}, ` +
        `main thread per request x ${formatSpread(
          paired((c) => c.mainUsPerReq),
          3,
        )}`;
    }
    console.log(line);
  }
}
