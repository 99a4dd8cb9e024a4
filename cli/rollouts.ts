/**
 * `npm run rollouts -- <command>`: a deployment's routing and rollouts through the API at PUBLIC_URL with API_KEY
 * (the same checks and answers as HTTP; every change is recorded as made by `cli:<user>` with the key's
 * fingerprint). Prints the API's JSON; a refusal prints its problem and exits 1.
 */
import { userInfo } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { runMain } from '../platform/run-main.js';

export const ROLLOUTS_USAGE = `Usage: npm run rollouts -- <command> [--deployment ride-duration]
  routing                                          champion, challenger, shares, running rollout
  route --challenger 1 [--canary 10] [--shadow 10] [--sticky-field f | --sticky-header h | --no-sticky] [--reason ".."]
  route --champion 2                               promote directly (production follows)
  route --clear                                    back to the champion alone (no challenger, shares 0, no sticky key)
  start --version 1 [--steps 5,25,50,100] [--step-seconds 300] [--shadow 10] [--approval manual|auto]
        [--max-error-rate 0.01] [--max-p99-ms 50] [--max-mean-diff 3] [--max-label-error 6] [--min-samples 20] [--id v1] [--reason ".."]
  list | show <id>                                 rollouts, newest first | one rollout's steps and figures
  approve | reject | pause | resume | abort <id> [--reason ".."]
  history [--at 2026-12-01T12:00:00Z]              every routing change, or the one in force at a time
  batch-shadow [--version 1] [--from 2021-02-01T00:00:00 --to 2021-02-02T00:00:00]
  comparisons                                      batch shadow comparisons`;

export interface RolloutsIo {
  out(line: string): void;
  err(line: string): void;
  fetch(url: string, init: RequestInit): Promise<Response>;
}

const numberOf = (v: string | undefined) => (v === undefined ? undefined : Number(v));

/** Runs one command against `baseUrl`; returns the exit code. */
export async function runRolloutsCli(
  argv: string[],
  baseUrl: string,
  apiKey: string | undefined,
  io: RolloutsIo,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        deployment: { type: 'string', default: 'ride-duration' },
        challenger: { type: 'string' },
        champion: { type: 'string' },
        canary: { type: 'string' },
        shadow: { type: 'string' },
        'sticky-field': { type: 'string' },
        'sticky-header': { type: 'string' },
        'no-sticky': { type: 'boolean' },
        clear: { type: 'boolean' },
        reason: { type: 'string' },
        version: { type: 'string' },
        steps: { type: 'string' },
        'step-seconds': { type: 'string' },
        approval: { type: 'string' },
        'max-error-rate': { type: 'string' },
        'max-p99-ms': { type: 'string' },
        'max-mean-diff': { type: 'string' },
        'max-label-error': { type: 'string' },
        'min-samples': { type: 'string' },
        id: { type: 'string' },
        at: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
      },
    });
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${ROLLOUTS_USAGE}`);
    return 2;
  }
  const { positionals, values } = parsed;
  if (values.help) {
    io.out(ROLLOUTS_USAGE);
    return 0;
  }
  if (!apiKey) {
    io.err('API_KEY is not set: the routing and rollout routes need it');
    return 2;
  }
  const base = `${baseUrl.replace(/\/$/, '')}/deployments/${encodeURIComponent(values.deployment)}`;
  const call = async (method: string, path: string, body?: unknown): Promise<number> => {
    const res = await io.fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        'x-actor': `cli:${userInfo().username}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let shown = text;
    try {
      shown = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // not JSON: shown as it came
    }
    if (res.ok) io.out(shown);
    else io.err(`HTTP ${res.status}: ${shown}`);
    return res.ok ? 0 : 1;
  };
  const defined = <T extends Record<string, unknown>>(o: T) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const [command, id] = positionals;
  switch (command) {
    case 'routing':
      return call('GET', '/routing');
    case 'route': {
      const sticky = values['sticky-field']
        ? { field: values['sticky-field'] }
        : values['sticky-header']
          ? { header: values['sticky-header'] }
          : values['no-sticky']
            ? null
            : undefined;
      const body = values.clear
        ? { challenger: null, sticky: null, ...defined({ reason: values.reason }) }
        : defined({
            champion: values.champion,
            challenger: values.challenger,
            canary: numberOf(values.canary),
            shadow: numberOf(values.shadow),
            sticky,
            reason: values.reason,
          });
      return call('POST', '/routing', body);
    }
    case 'start':
      return call(
        'POST',
        '/rollouts',
        defined({
          id: values.id,
          version: values.version,
          steps: values.steps?.split(',').map(Number),
          step_seconds: numberOf(values['step-seconds']),
          shadow: numberOf(values.shadow),
          approval: values.approval,
          reason: values.reason,
          gates: defined({
            max_error_rate: numberOf(values['max-error-rate']),
            max_p99_ms: numberOf(values['max-p99-ms']),
            max_mean_diff: numberOf(values['max-mean-diff']),
            max_label_error: numberOf(values['max-label-error']),
            min_samples: numberOf(values['min-samples']),
          }),
        }),
      );
    case 'list':
      return call('GET', '/rollouts');
    case 'show':
      if (!id) break;
      return call('GET', `/rollouts/${encodeURIComponent(id)}`);
    case 'approve':
    case 'reject':
    case 'pause':
    case 'resume':
    case 'abort':
      if (!id) break;
      return call(
        'POST',
        `/rollouts/${encodeURIComponent(id)}/${command}`,
        defined({ reason: values.reason }),
      );
    case 'history':
      return call('GET', `/history${values.at ? `?at=${encodeURIComponent(values.at)}` : ''}`);
    case 'batch-shadow':
      return call(
        'POST',
        '/batch-shadow',
        defined({ version: values.version, from: values.from, to: values.to }),
      );
    case 'comparisons':
      return call('GET', '/batch-comparisons');
    default:
      break;
  }
  io.err(ROLLOUTS_USAGE);
  return 2;
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  runMain(async () => {
    const config = loadConfig();
    process.exitCode = await runRolloutsCli(process.argv.slice(2), config.api.publicUrl, config.api.apiKey, {
      out: (l) => process.stdout.write(`${l}\n`),
      err: (l) => process.stderr.write(`${l}\n`),
      fetch: (url, init) => fetch(url, init),
    });
  });
}
