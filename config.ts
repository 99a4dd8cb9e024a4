/**
 * The one place that reads the environment. `loadConfig(env)` validates every variable with zod and reports all
 * bad fields at once, so a typo fails loudly at start-up instead of deep inside a request. The schema below is the
 * only list of variables: each default is written there once and the `Config` type is inferred from it.
 */
import { z } from 'zod';
import { STREAM_OPTION_DEFAULTS } from './contracts/stream.js';

const number = () => z.coerce.number({ error: 'must be a number' }).int('must be a whole number');

const port = (fallback: number) =>
  number().min(1, 'must be between 1 and 65535').max(65535, 'must be between 1 and 65535').default(fallback);

const positiveInt = (fallback: number) => number().positive('must be > 0').default(fallback);

const msUpTo = (max: number, fallback: number) =>
  number().min(0, `must be between 0 and ${max}`).max(max, `must be between 0 and ${max}`).default(fallback);

const onOff = (fallback: boolean) =>
  z
    .enum(['on', 'off', 'true', 'false', '1', '0'], { error: 'must be one of on|off|true|false|1|0' })
    .transform((v) => v === 'on' || v === 'true' || v === '1')
    .default(fallback);

const emptyToUndefined = (v: unknown) => (v === '' ? undefined : v);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(emptyToUndefined, schema.optional());

/**
 * How a bad value may appear in an error: `hidden` never, `url` with its password and query string masked.
 * Everything else is echoed, since seeing the typo is what makes the message useful.
 */
type SecretKind = 'hidden' | 'url';
const secret = <T extends z.ZodType>(kind: SecretKind, schema: T): T => schema.meta({ secret: kind });

/** Per-model dynamic batching limits, keyed by `name` or `name@version`. */
const batchLimits = z.strictObject({
  maxSize: z.number({ error: 'must be a number' }).int('must be a whole number').positive('must be > 0'),
  maxDelayUs: z.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must be >= 0'),
});
export type BatchLimits = z.output<typeof batchLimits>;

const OVERRIDES_EXAMPLE = '{"ride-duration@2": {"maxSize": 128, "maxDelayUs": 1000}}';
const batchOverrides = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .default('{}')
    .transform((text, ctx): unknown => {
      try {
        return JSON.parse(text);
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be JSON, e.g. ${OVERRIDES_EXAMPLE}` });
        return z.NEVER;
      }
    })
    .pipe(z.record(z.string(), batchLimits.partial())),
);

const variables = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: optional(z.enum(['pretty', 'json'])),

  DATABASE_URL: secret(
    'url',
    optional(z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')),
  ),
  DATABASE_POOL_SIZE: positiveInt(10),
  EMBEDDED_PG_PORT: port(54329),

  TEMPORAL_ADDRESS: optional(
    z.string().regex(/^[^\s:/]+:\d{1,5}$/, 'must be host:port, e.g. localhost:7233'),
  ),
  TEMPORAL_PORT: port(7233),
  TEMPORAL_UI_PORT: port(8233),
  TEMPORAL_UI_URL: optional(z.url('must be a URL')),
  TEMPORAL_NAMESPACE: z.string().min(1, 'must not be empty').default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1, 'must not be empty').default('ride-duration'),
  WORKFLOW_BUNDLE: optional(z.string()),

  HOST: z.string().min(1, 'must not be empty').default('0.0.0.0'),
  PORT: port(3000),
  PUBLIC_URL: optional(z.url('must be a URL')),
  API_KEY: secret('hidden', optional(z.string().min(16, 'must be at least 16 characters'))),

  MODEL_DIR: z.string().min(1, 'must not be empty').default('models'),
  DEPLOYMENT_DIR: z.string().min(1, 'must not be empty').default('deployments'),
  ORT_INTRA_OP_THREADS: positiveInt(1),
  PREDICTION_LOG: onOff(false),

  // Online service (api/): dynamic batching, limits, auth of /predict, SSE bound, request timeout.
  DYNAMIC_BATCHING: onOff(true),
  DYNAMIC_BATCH_MAX_SIZE: positiveInt(64),
  // 0, measured (bench/README.md, Online): never hold a request on purpose; requests queued behind a run coalesce.
  DYNAMIC_BATCH_MAX_DELAY_US: number().min(0, 'must be >= 0').default(0),
  DYNAMIC_BATCH_MAX_QUEUE: positiveInt(20_000),
  DYNAMIC_BATCH_MODEL_OVERRIDES: batchOverrides,
  BODY_LIMIT_BYTES: positiveInt(8 * 1024 * 1024),
  PREDICT_MAX_BATCH: positiveInt(10_000),
  REQUIRE_API_KEY_FOR_PREDICT: onOff(false),
  // Where a deployment's challenger (canary, shadow) scores: `auto`, on the main thread beside the champion while its
  // runs, measured in the scoring thread, take at most CHALLENGER_INLINE_MAX_US, and in the scoring thread otherwise;
  // `on`, always in the scoring thread; `off`, always on the main thread (docs/rollouts.md, api/placement.ts).
  CHALLENGER_THREAD: z
    .enum(['auto', 'on', 'off', 'true', 'false', '1', '0'], {
      error: 'must be one of auto|on|off|true|false|1|0',
    })
    .transform((v) => (v === 'true' || v === '1' ? 'on' : v === 'false' || v === '0' ? 'off' : v))
    .default('auto'),
  // CHALLENGER_THREAD=auto: the longest run (µs) of a challenger that may score on the main thread, which a champion
  // answer could wait behind. 0: never on the main thread.
  CHALLENGER_INLINE_MAX_US: number()
    .min(0, 'must be >= 0')
    .max(1_000_000, 'must be <= 1000000')
    .default(1000),
  // Under load a canary call waits up to this long for others of its version, to be scored with them (measured in
  // bench/README.md, Rollouts); a call with none in the last CANARY_HOLD_MS goes at the end of its turn. 0: never held.
  CANARY_HOLD_MS: number().min(0, 'must be >= 0').max(1000, 'must be <= 1000').default(2),
  // Shadow calls (nobody waits on them) are held up to this long and scored together, at most half of the shadow
  // calls one API process keeps in flight at once (bench/README.md, Rollouts). 0: each goes alone.
  SHADOW_HOLD_MS: number().min(0, 'must be >= 0').max(1000, 'must be <= 1000').default(20),
  // How an online call without a sticky key is drawn for the canary share: `turn`, one draw for the calls to a
  // deployment routed in one event-loop turn (one batch under load); `call`, a draw of its own, as with
  // DYNAMIC_BATCHING=off. The shadow share is drawn per call either way (docs/rollouts.md, bench/README.md Rollouts).
  ROUTING_DRAW: z.enum(['turn', 'call']).default('turn'),
  SSE_MAX_CONNECTIONS: positiveInt(100),
  REQUEST_TIMEOUT_MS: positiveInt(30_000),
  // Webhook URLs often carry their token in the path (Slack, Teams), so none of it is echoed.
  NOTIFY_WEBHOOK_URL: secret('hidden', optional(z.url('must be a URL'))),
  // Batch mode (workflows/batch-scoring.ts): the daily schedule and the chunking of a run.
  BATCH_SCHEDULE_CRON: z
    .string()
    .regex(/^\S+( \S+){4}$/, 'must be a 5-field cron expression, e.g. "0 3 * * *"')
    .default('0 3 * * *'),
  BATCH_SCHEDULE_TZ: z.string().min(1, 'must not be empty').default('UTC'),
  BATCH_CATCHUP_WINDOW: z
    .string()
    .regex(/^\d+(ms|s|m|h|d)$/, 'must be a duration such as 30m, 6h or 2d')
    .default('1d'),
  BATCH_CHUNK_SIZE: positiveInt(50_000),
  BATCH_MAX_PARALLEL_CHUNKS: positiveInt(2),
  // A batch page's ONNX runs go to a worker thread of the worker, off the thread that decodes and writes pages.
  BATCH_SCORING_THREAD: onOff(true),
  // Streaming mode (workflows/stream-scoring.ts): continue-as-new threshold, dedup window, events per activity.
  // Defaults from STREAM_OPTION_DEFAULTS, which a stream started by hand (no options in its input) also uses.
  STREAM_CAN_AFTER_EVENTS: positiveInt(STREAM_OPTION_DEFAULTS.canAfterEvents),
  STREAM_DEDUP_WINDOW: positiveInt(STREAM_OPTION_DEFAULTS.dedupWindow),
  STREAM_MAX_RUN: positiveInt(STREAM_OPTION_DEFAULTS.maxRun),
  STREAM_LOCAL_ACTIVITIES: onOff(STREAM_OPTION_DEFAULTS.localActivities),
  STREAM_MAX_ATTEMPTS: positiveInt(STREAM_OPTION_DEFAULTS.maxAttempts),
  STREAM_ROLLOVER_GRACE_MS: msUpTo(10_000, STREAM_OPTION_DEFAULTS.rolloverGraceMs),

  DATA_DIR: z.string().min(1, 'must not be empty').default('.data'),
  TOOLS_DIR: z.string().min(1, 'must not be empty').default('.tools'),
});

export type Env = z.output<typeof variables>;
type Variable = keyof Env;
/** Every variable `loadConfig` reads (without the deprecated names), in the order .env.example lists them. */
export const VARIABLE_NAMES = Object.keys(variables.shape) as Variable[];

/**
 * Old names still read, each with one warning naming its replacement. The online coalescing is "dynamic
 * batching"; plain BATCH_* belongs to the batch mode.
 */
export const RENAMED_VARIABLES = {
  BATCH_MAX_SIZE: 'DYNAMIC_BATCH_MAX_SIZE',
  BATCH_MAX_DELAY_US: 'DYNAMIC_BATCH_MAX_DELAY_US',
  BATCH_MAX_QUEUE: 'DYNAMIC_BATCH_MAX_QUEUE',
  BATCH_MODEL_OVERRIDES: 'DYNAMIC_BATCH_MODEL_OVERRIDES',
} as const satisfies Record<string, Variable>;

/** The environment as parsed, turned into the settings the processes use. */
const schema = variables.transform((e) => ({
  env: e.NODE_ENV,
  log: { level: e.LOG_LEVEL, format: e.LOG_FORMAT ?? (e.NODE_ENV === 'development' ? 'pretty' : 'json') },
  database: { url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE, embeddedPort: e.EMBEDDED_PG_PORT },
  temporal: {
    address: e.TEMPORAL_ADDRESS,
    port: e.TEMPORAL_PORT,
    uiPort: e.TEMPORAL_UI_PORT,
    uiUrl: e.TEMPORAL_UI_URL ?? `http://localhost:${e.TEMPORAL_UI_PORT}`,
    namespace: e.TEMPORAL_NAMESPACE,
    taskQueue: e.TEMPORAL_TASK_QUEUE,
    workflowBundle: e.WORKFLOW_BUNDLE,
  },
  api: {
    host: e.HOST,
    port: e.PORT,
    publicUrl: e.PUBLIC_URL ?? `http://localhost:${e.PORT}`,
    apiKey: e.API_KEY,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    maxBatchRecords: e.PREDICT_MAX_BATCH,
    requireKeyForPredict: e.REQUIRE_API_KEY_FOR_PREDICT,
    challengerThread: e.CHALLENGER_THREAD,
    challengerInlineMaxUs: e.CHALLENGER_INLINE_MAX_US,
    canaryHoldMs: e.CANARY_HOLD_MS,
    shadowHoldMs: e.SHADOW_HOLD_MS,
    routingDraw: e.ROUTING_DRAW,
    sseMaxConnections: e.SSE_MAX_CONNECTIONS,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
  },
  /** Dynamic batching of online requests; `perModel` overrides by `name` or `name@version`. */
  batching: {
    enabled: e.DYNAMIC_BATCHING,
    maxSize: e.DYNAMIC_BATCH_MAX_SIZE,
    maxDelayUs: e.DYNAMIC_BATCH_MAX_DELAY_US,
    maxQueue: e.DYNAMIC_BATCH_MAX_QUEUE,
    perModel: e.DYNAMIC_BATCH_MODEL_OVERRIDES,
  },
  deployments: { dir: e.DEPLOYMENT_DIR },
  models: { dir: e.MODEL_DIR, intraOpThreads: e.ORT_INTRA_OP_THREADS, predictionLog: e.PREDICTION_LOG },
  notify: { webhookUrl: e.NOTIFY_WEBHOOK_URL },
  /** Batch scoring: the daily schedule's spec and the default chunking of a run. */
  batch: {
    cron: e.BATCH_SCHEDULE_CRON,
    timeZone: e.BATCH_SCHEDULE_TZ,
    catchupWindow: e.BATCH_CATCHUP_WINDOW,
    chunkSize: e.BATCH_CHUNK_SIZE,
    maxParallelChunks: e.BATCH_MAX_PARALLEL_CHUNKS,
    scoringThread: e.BATCH_SCORING_THREAD,
  },
  /** Streaming scoring: options every new stream workflow starts with (see docs/streaming.md). */
  stream: {
    canAfterEvents: e.STREAM_CAN_AFTER_EVENTS,
    dedupWindow: e.STREAM_DEDUP_WINDOW,
    maxRun: e.STREAM_MAX_RUN,
    localActivities: e.STREAM_LOCAL_ACTIVITIES,
    maxAttempts: e.STREAM_MAX_ATTEMPTS,
    rolloverGraceMs: e.STREAM_ROLLOVER_GRACE_MS,
  },
  paths: { data: e.DATA_DIR, tools: e.TOOLS_DIR },
}));

/** Derived, ready-to-use settings, plus `warnings` (deprecated names in use) for the entry point to log. */
export type Config = z.output<typeof schema> & { warnings: string[] };
export type BatchingConfig = Config['batching'];

/** A configuration error that lists every bad variable (secret values are never part of the message). */
export class ConfigError extends Error {
  constructor(readonly issues: { variable: string; message: string }[]) {
    super(
      `Invalid environment:\n${issues.map((i) => `  - ${i.variable}: ${i.message}`).join('\n')}\n` +
        'See .env.example for every variable and its default.',
    );
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const { effective, setAs, warnings } = applyRenames(env);
  const parsed = schema.safeParse(effective);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const [key, ...rest] = issue.path.map(String);
        const name = key ?? '(environment)';
        const where = rest.length ? `${rest.join('.')}: ` : '';
        return {
          variable: setAs.get(name) ?? name,
          message: `${where}${issue.message}${shownValue(name, effective[name])}`,
        };
      }),
    );
  }
  return { ...parsed.data, warnings };
}

/** Copies each old name's value to its new name (the new name wins) and says so once per old name. */
function applyRenames(env: Record<string, string | undefined>) {
  const effective: Record<string, string | undefined> = { ...env };
  const setAs = new Map<string, string>();
  const warnings: string[] = [];
  for (const [old, current] of Object.entries(RENAMED_VARIABLES)) {
    if (env[old] === undefined) continue;
    if (env[current] !== undefined) {
      warnings.push(`${old} is ignored because ${current} is set; remove ${old}`);
    } else {
      effective[current] = env[old];
      setAs.set(current, old);
      warnings.push(`${old} is deprecated; rename it to ${current} (same meaning)`);
    }
    delete effective[old];
  }
  return { effective, setAs, warnings };
}

function shownValue(variable: string, value: string | undefined): string {
  if (value === undefined) return '';
  const kind = (variables.shape as Record<string, z.ZodType | undefined>)[variable]?.meta()?.secret;
  if (kind === 'hidden') return ' (value not shown: secret)';
  if (kind === 'url') {
    const masked = maskUrl(value);
    return masked ? ` (got ${JSON.stringify(masked)})` : ' (value not shown: secret)';
  }
  return ` (got ${JSON.stringify(value)})`;
}

/** `scheme://user:***@host/db`, the query string dropped (libpq accepts `?password=`); undefined if not a URL. */
export function maskUrl(value: string): string | undefined {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    const masked = url.search ? `${url.href.slice(0, -url.search.length)}?***` : url.href;
    return masked.includes('://') ? masked : undefined;
  } catch {
    return undefined;
  }
}

/** The address of the Temporal frontend, defaulting to the local dev server's port. */
export function temporalAddress(config: Config): string {
  return config.temporal.address ?? `localhost:${config.temporal.port}`;
}

/** The embedded development database that `npm start` runs (loopback only; production sets DATABASE_URL). */
export const EMBEDDED_DATABASE = { user: 'postgres', password: 'postgres', database: 'rides' } as const;

/**
 * For the command-line tools (ingest, generate, models, stream, migrate): DATABASE_URL when set, else the embedded
 * database of a running `npm start`, so the documented commands work next to it with nothing exported.
 */
export function cliDatabaseUrl(config: Config): string {
  const { user, password, database } = EMBEDDED_DATABASE;
  return (
    config.database.url ??
    `postgres://${user}:${password}@127.0.0.1:${config.database.embeddedPort}/${database}`
  );
}

/** Production entry points connect to given servers only; they never start embedded ones. */
export function requireDatabaseUrl(config: Config): string {
  if (!config.database.url) {
    throw new ConfigError([
      { variable: 'DATABASE_URL', message: 'is required for this process (no embedded Postgres)' },
    ]);
  }
  return config.database.url;
}
