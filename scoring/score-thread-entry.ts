/**
 * The scoring thread's side (see score-thread.ts): loads each version asked for once, coalesces the requests that
 * arrive while a run is in flight (the main batcher's lanes), and answers each request with copies of its columns,
 * so a reply never carries another request's rows; the first request a run answers also gets how long it took.
 */
import { workerData } from 'node:worker_threads';
import type { OutputColumn, ResolvedModel, ScoreOutput } from '../contracts/scoring.js';
import { createBatcher } from './batcher.js';
import type { LoadedModel } from './load-model.js';
import type { ThreadAnswer, ThreadRequest, ThreadSettings } from './score-thread.js';
import { scoreRows } from './scorer.js';
import { serveThread, threadModels } from './thread-serve.js';

const settings = workerData as ThreadSettings;
const modelFor = threadModels(settings.intraOpThreads);

const loaded = new Map<string, LoadedModel>();
/** How long each version's last run took (µs): taken by the first request it answers, so each run is told once. */
const lastRunUs = new Map<string, number>();
const batcher = createBatcher(
  {
    async score(ref, rows) {
      const { name, version } = ref as ResolvedModel;
      const model = loaded.get(`${name}@${version}`);
      if (!model) throw new Error(`${name}@${version} is not loaded in the scoring thread`);
      const started = performance.now();
      const out = await scoreRows(model, rows);
      lastRunUs.set(model.ref, (performance.now() - started) * 1000);
      return out;
    },
  },
  {
    enabled: true,
    maxQueue: Number.MAX_SAFE_INTEGER,
    limits: () => ({ maxSize: settings.maxBatchSize, maxDelayUs: 0 }),
  },
);

const copyColumn = (c: OutputColumn): OutputColumn => ({ ...c, data: c.data.slice() });

function own(out: ScoreOutput): ScoreOutput {
  const outputs: Record<string, OutputColumn> = {};
  for (const [name, column] of Object.entries(out.outputs)) outputs[name] = copyColumn(column);
  return { ...out, scored: out.scored.slice(), outputs };
}

serveThread<ThreadRequest & { id: number }>(async (request) => {
  const model = await modelFor(request);
  loaded.set(model.ref, model);
  const output = own(await batcher.score({ name: model.name, version: model.version }, request.records));
  const runUs = lastRunUs.get(model.ref);
  lastRunUs.delete(model.ref);
  const answer: ThreadAnswer = runUs === undefined ? { output } : { output, runUs };
  return { out: answer };
});
