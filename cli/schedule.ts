/**
 * `npm run schedule -- list | describe | ensure | trigger | pause [--note] | unpause [--note] | backfill --from --to`:
 * operates the daily batch-scoring schedule on the Temporal server named by TEMPORAL_ADDRESS (default localhost).
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { Client } from '@temporalio/client';
import { loadConfig, temporalAddress, type Config } from '../config.js';
import { DAILY_SCHEDULE_ID } from '../contracts/batch.js';
import {
  backfillSchedule,
  describeSchedule,
  ensureDailySchedule,
  listSchedules,
  pauseSchedule,
  triggerSchedule,
  unpauseSchedule,
} from '../control/schedules.js';
import { runMain } from '../platform/run-main.js';
import { connectClient } from '../platform/temporal.js';

export const SCHEDULE_USAGE = `Usage:
  npm run schedule -- list                                   every schedule on the namespace
  npm run schedule -- describe                               spec, policies, state, recent and next runs
  npm run schedule -- ensure                                 create or update it from BATCH_SCHEDULE_* (keeps paused)
  npm run schedule -- trigger                                run now (scores yesterday)
  npm run schedule -- pause [--note "why"]                   stop taking actions
  npm run schedule -- unpause [--note "why"]
  npm run schedule -- backfill --from 2021-02-01 --to 2021-02-08   one run per day partition in [from, to)
Options: --id <schedule id> (default ${DAILY_SCHEDULE_ID})`;

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

/** Runs one command; returns the exit code. */
export async function runScheduleCli(
  argv: string[],
  client: Client,
  config: Config,
  io: CliIo,
): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      note: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      id: { type: 'string' },
    },
  });
  const id = values.id ?? DAILY_SCHEDULE_ID;
  const json = (v: unknown) => io.out(JSON.stringify(v, null, 2));
  switch (positionals[0]) {
    case 'list':
      for (const s of await listSchedules(client))
        io.out(`${s.scheduleId}\t${s.state.paused ? 'paused' : 'active'}\t${s.state.note ?? ''}`);
      return 0;
    case 'describe': {
      const d = await describeSchedule(client, id);
      json({
        scheduleId: d.scheduleId,
        spec: d.spec,
        policies: d.policies,
        state: d.state,
        memo: d.memo,
        recentActions: d.info.recentActions.map((a) => ({
          scheduledAt: a.scheduledAt,
          workflowId: a.action.workflow.workflowId,
        })),
        nextActionTimes: d.info.nextActionTimes,
      });
      return 0;
    }
    case 'ensure':
      io.out(`${id}: ${await ensureDailySchedule(client, config, { scheduleId: id })}`);
      return 0;
    case 'trigger':
      await triggerSchedule(client, id);
      io.out(`${id}: triggered (scores yesterday in ${config.batch.timeZone})`);
      return 0;
    case 'pause':
      await pauseSchedule(client, values.note, id);
      io.out(`${id}: paused`);
      return 0;
    case 'unpause':
      await unpauseSchedule(client, values.note, id);
      io.out(`${id}: active`);
      return 0;
    case 'backfill': {
      if (!values.from || !values.to) {
        io.err('backfill needs --from and --to (dates, to exclusive)');
        return 2;
      }
      const r = await backfillSchedule(client, config, { from: values.from, to: values.to }, id);
      io.out(
        `${id}: backfill of ${r.partitions} partition(s) [${values.from}, ${values.to}) requested ` +
          `(schedule times ${r.start.toISOString()} .. ${r.end.toISOString()}, overlap BUFFER_ALL)`,
      );
      return 0;
    }
    default:
      io.err(SCHEDULE_USAGE);
      return 2;
  }
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  runMain(async () => {
    const config = loadConfig();
    const client = await connectClient(temporalAddress(config), config.temporal.namespace);
    try {
      const io = {
        out: (l: string) => process.stdout.write(`${l}\n`),
        err: (l: string) => process.stderr.write(`${l}\n`),
      };
      process.exitCode = await runScheduleCli(process.argv.slice(2), client, config, io);
    } finally {
      await client.connection.close();
    }
  });
}
