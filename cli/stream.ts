/**
 * `npm run stream -- <command>`: replays real rides into a stream and controls it from the terminal.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { Client } from '@temporalio/client';
import { loadConfig, cliDatabaseUrl, temporalAddress, type Config } from '../config.js';
import {
  drainStream,
  getStreamState,
  pauseStream,
  replayDeadLetter,
  resumeStream,
  sendEvents,
  streamPredictions,
} from '../control/streams.js';
import { createPool } from '../db/pool.js';
import { runMain } from '../platform/run-main.js';
import { connectClient } from '../platform/temporal.js';
import { readEventBatches } from './stream-file.js';

export const STREAM_USAGE = `Usage:
  npm run stream -- send --stream <id> --file <rides.parquet|events.jsonl> [--rate N] [--limit N] [--model REF]
  npm run stream -- state --stream <id>                 the workflow's state query, as JSON
  npm run stream -- pause|resume|drain --stream <id>
  npm run stream -- replay --stream <id> --event <eventId>
  npm run stream -- tail --stream <id> [--after <id>]   predictions as JSON lines (table, then NOTIFY); needs DATABASE_URL`;

export interface SendSummary {
  accepted: number;
  duplicates: number;
  rejected: number;
  seconds: number;
  eventsPerSecond: number;
}

/** Sends a file's events in order, at `rate` events/s when given (else as fast as signals go). */
export async function sendFile(
  client: Client,
  config: Pick<Config, 'temporal' | 'stream'>,
  options: { stream: string; file: string; rate?: number; limit?: number; model?: string },
  progress: (line: string) => void = () => {},
): Promise<SendSummary> {
  const chunk = options.rate ? Math.max(1, Math.ceil(options.rate / 20)) : 500;
  const started = performance.now();
  const total = { accepted: 0, duplicates: 0, rejected: 0 };
  let lastReport = started;
  const limit = options.limit;
  for await (const batch of readEventBatches(options.file, {
    batchSize: chunk,
    ...(limit ? { limit } : {}),
  })) {
    const sent = await sendEvents(
      client,
      config,
      options.stream,
      batch,
      options.model ? { model: options.model } : {},
    );
    total.accepted += sent.accepted;
    total.duplicates += sent.duplicates;
    total.rejected += sent.rejected.length;
    const done = total.accepted + total.duplicates + total.rejected;
    if (options.rate) {
      const due = started + (done / options.rate) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    if (performance.now() - lastReport > 1000) {
      lastReport = performance.now();
      progress(`sent ${done} events (${((done * 1000) / (lastReport - started)).toFixed(0)}/s)`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    ...total,
    seconds: Math.round(seconds * 100) / 100,
    eventsPerSecond: Math.round(total.accepted / seconds),
  };
}

function positive(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number (got ${value})`);
  return n;
}

export async function main(
  argv: string[],
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      stream: { type: 'string' },
      file: { type: 'string' },
      rate: { type: 'string' },
      limit: { type: 'string' },
      model: { type: 'string' },
      event: { type: 'string' },
      after: { type: 'string' },
    },
  });
  const command = positionals[0];
  const stream = values.stream;
  if (!command || !stream) {
    err(STREAM_USAGE);
    return 2;
  }
  const config = loadConfig();
  const client = await connectClient(temporalAddress(config), config.temporal.namespace);
  try {
    switch (command) {
      case 'send': {
        if (!values.file) throw new Error('send needs --file <rides.parquet|events.jsonl>');
        const rate = positive('rate', values.rate);
        const limit = positive('limit', values.limit);
        const summary = await sendFile(
          client,
          config,
          {
            stream,
            file: values.file,
            ...(rate ? { rate } : {}),
            ...(limit ? { limit } : {}),
            ...(values.model ? { model: values.model } : {}),
          },
          err,
        );
        out(JSON.stringify({ stream, ...summary }));
        return 0;
      }
      case 'state':
        out(JSON.stringify(await getStreamState(client, stream), null, 2));
        return 0;
      case 'pause':
      case 'resume':
      case 'drain':
        await { pause: pauseStream, resume: resumeStream, drain: drainStream }[command](client, stream);
        out(`${command} sent to stream ${stream}`);
        return 0;
      case 'replay': {
        if (!values.event) throw new Error('replay needs --event <eventId>');
        out(JSON.stringify(await replayDeadLetter(client, stream, values.event)));
        return 0;
      }
      case 'tail': {
        const pool = createPool(cliDatabaseUrl(config), { max: 1, application: 'stream-tail' });
        const abort = new AbortController();
        process.once('SIGINT', () => abort.abort());
        try {
          for await (const p of streamPredictions(pool, stream, {
            afterId: values.after ?? '0',
            signal: abort.signal,
          }))
            out(JSON.stringify({ id: p.id, event_id: p.eventId, ...p.data }));
        } finally {
          await pool.end();
        }
        return 0;
      }
      default:
        err(STREAM_USAGE);
        return 2;
    }
  } finally {
    await client.connection.close();
  }
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  runMain(async () => {
    process.exitCode = await main(
      process.argv.slice(2),
      (line) => process.stdout.write(`${line}\n`),
      (line) => process.stderr.write(`${line}\n`),
    );
  });
}
