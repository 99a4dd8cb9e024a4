/**
 * The one place that reads the environment. `loadConfig(env)` validates every variable with zod and reports all
 * bad fields at once, so a typo fails loudly at start-up instead of deep inside a request.
 */
import { z } from 'zod';

const port = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be between 1 and 65535')
    .max(65535, 'must be between 1 and 65535')
    .default(fallback);

const positiveInt = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .positive('must be > 0')
    .default(fallback);

const msUpTo = (max: number, fallback: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(0, `must be between 0 and ${max}`)
    .max(max, `must be between 0 and ${max}`)
    .default(fallback);

const onOff = (fallback: boolean) =>
  z
    .enum(['on', 'off', 'true', 'false', '1', '0'], { error: 'must be one of on|off|true|false|1|0' })
    .transform((v) => v === 'on' || v === 'true' || v === '1')
    .default(fallback);

const emptyToUndefined = (v: unknown) => (v === '' ? undefined : v);

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.preprocess(emptyToUndefined, z.enum(['pretty', 'json']).optional()),

  DATABASE_URL: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  DATABASE_POOL_SIZE: positiveInt(10),
  EMBEDDED_PG_PORT: port(54329),

  TEMPORAL_ADDRESS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^[^\s:/]+:\d{1,5}$/, 'must be host:port, e.g. localhost:7233')
      .optional(),
  ),
  TEMPORAL_PORT: port(7233),
  TEMPORAL_UI_PORT: port(8233),
  TEMPORAL_UI_URL: z.preprocess(emptyToUndefined, z.url('must be a URL').optional()),
  TEMPORAL_NAMESPACE: z.string().min(1, 'must not be empty').default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1, 'must not be empty').default('ride-duration'),
  WORKFLOW_BUNDLE: z.preprocess(emptyToUndefined, z.string().optional()),

  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: port(3000),
  PUBLIC_URL: z.preprocess(emptyToUndefined, z.url('must be a URL').optional()),
  API_KEY: z.preprocess(emptyToUndefined, z.string().min(16, 'must be at least 16 characters').optional()),

  MODEL_DIR: z.string().min(1, 'must not be empty').default('models'),
  ORT_INTRA_OP_THREADS: positiveInt(1),
  PREDICTION_LOG: onOff(false),

  // Online service (api/): dynamic batching, limits, auth of /predict, SSE bound, request timeout.
  DYNAMIC_BATCHING: onOff(true),
  BATCH_MAX_SIZE: positiveInt(64),
  // 0, measured (bench/README.md, Online): never hold a request on purpose; requests queued behind a run coalesce.
  BATCH_MAX_DELAY_US: z.coerce.number({ error: 'must be a number' }).int().min(0, 'must be >= 0').default(0),
  BATCH_MAX_QUEUE: positiveInt(20_000),
  BATCH_MODEL_OVERRIDES: z.preprocess(emptyToUndefined, z.string().optional()),
  BODY_LIMIT_BYTES: positiveInt(8 * 1024 * 1024),
  PREDICT_MAX_BATCH: positiveInt(10_000),
  REQUIRE_API_KEY_FOR_PREDICT: onOff(false),
  SSE_MAX_CONNECTIONS: positiveInt(100),
  REQUEST_TIMEOUT_MS: positiveInt(30_000),
  NOTIFY_WEBHOOK_URL: z.preprocess(emptyToUndefined, z.url('must be a URL').optional()),
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
  // Streaming mode (workflows/stream-scoring.ts): continue-as-new threshold, dedup window, events per activity.
  STREAM_CAN_AFTER_EVENTS: positiveInt(5_000),
  STREAM_DEDUP_WINDOW: positiveInt(10_000),
  STREAM_MAX_RUN: positiveInt(200),
  STREAM_LOCAL_ACTIVITIES: onOff(true),
  STREAM_MAX_ATTEMPTS: positiveInt(5),
  STREAM_ROLLOVER_GRACE_MS: msUpTo(10_000, 50),

  DATA_DIR: z.string().min(1).default('.data'),
  TOOLS_DIR: z.string().min(1).default('.tools'),
});

export type Env = z.infer<typeof schema>;

/** Derived, ready-to-use settings. */
export interface Config {
  env: Env['NODE_ENV'];
  log: { level: Env['LOG_LEVEL']; format: 'pretty' | 'json' };
  database: { url: string | undefined; poolSize: number; embeddedPort: number };
  temporal: {
    address: string | undefined;
    port: number;
    uiPort: number;
    uiUrl: string;
    namespace: string;
    taskQueue: string;
    workflowBundle: string | undefined;
  };
  api: {
    host: string;
    port: number;
    publicUrl: string;
    apiKey: string | undefined;
    bodyLimitBytes: number;
    maxBatchRides: number;
    requireKeyForPredict: boolean;
    sseMaxConnections: number;
    requestTimeoutMs: number;
  };
  /** Dynamic batching of online requests; `perModel` overrides by `name` or `name@version`. */
  batching: BatchingConfig;
  models: { dir: string; intraOpThreads: number; predictionLog: boolean };
  notify: { webhookUrl: string | undefined };
  /** Batch scoring: the daily schedule's spec and the default chunking of a run. */
  batch: {
    cron: string;
    timeZone: string;
    catchupWindow: string;
    chunkSize: number;
    maxParallelChunks: number;
  };
  /** Streaming scoring: options every new stream workflow starts with (see docs/streaming.md). */
  stream: {
    canAfterEvents: number;
    dedupWindow: number;
    maxRun: number;
    localActivities: boolean;
    maxAttempts: number;
    rolloverGraceMs: number;
  };
  paths: { data: string; tools: string };
}

export interface BatchLimits {
  maxSize: number;
  maxDelayUs: number;
}
export interface BatchingConfig extends BatchLimits {
  enabled: boolean;
  maxQueue: number;
  perModel: Record<string, Partial<BatchLimits>>;
}

const batchOverrides = z.record(
  z.string(),
  z.strictObject({
    maxSize: z.number().int().positive().optional(),
    maxDelayUs: z.number().int().min(0).optional(),
  }),
);

function parseOverrides(text: string | undefined): Record<string, Partial<BatchLimits>> | string {
  if (!text) return {};
  try {
    const parsed = batchOverrides.safeParse(JSON.parse(text));
    return parsed.success
      ? parsed.data
      : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  } catch {
    return 'must be JSON, e.g. {"ride-duration@2": {"maxSize": 128, "maxDelayUs": 1000}}';
  }
}

/** A configuration error that lists every bad variable. */
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
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '(environment)'),
        message: `${issue.message} (got ${JSON.stringify(env[String(issue.path[0])] ?? null)})`,
      })),
    );
  }
  const e = parsed.data;
  const perModel = parseOverrides(e.BATCH_MODEL_OVERRIDES);
  if (typeof perModel === 'string') {
    throw new ConfigError([{ variable: 'BATCH_MODEL_OVERRIDES', message: perModel }]);
  }
  return {
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
      maxBatchRides: e.PREDICT_MAX_BATCH,
      requireKeyForPredict: e.REQUIRE_API_KEY_FOR_PREDICT,
      sseMaxConnections: e.SSE_MAX_CONNECTIONS,
      requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    },
    batching: {
      enabled: e.DYNAMIC_BATCHING,
      maxSize: e.BATCH_MAX_SIZE,
      maxDelayUs: e.BATCH_MAX_DELAY_US,
      maxQueue: e.BATCH_MAX_QUEUE,
      perModel,
    },
    models: { dir: e.MODEL_DIR, intraOpThreads: e.ORT_INTRA_OP_THREADS, predictionLog: e.PREDICTION_LOG },
    notify: { webhookUrl: e.NOTIFY_WEBHOOK_URL },
    batch: {
      cron: e.BATCH_SCHEDULE_CRON,
      timeZone: e.BATCH_SCHEDULE_TZ,
      catchupWindow: e.BATCH_CATCHUP_WINDOW,
      chunkSize: e.BATCH_CHUNK_SIZE,
      maxParallelChunks: e.BATCH_MAX_PARALLEL_CHUNKS,
    },
    stream: {
      canAfterEvents: e.STREAM_CAN_AFTER_EVENTS,
      dedupWindow: e.STREAM_DEDUP_WINDOW,
      maxRun: e.STREAM_MAX_RUN,
      localActivities: e.STREAM_LOCAL_ACTIVITIES,
      maxAttempts: e.STREAM_MAX_ATTEMPTS,
      rolloverGraceMs: e.STREAM_ROLLOVER_GRACE_MS,
    },
    paths: { data: e.DATA_DIR, tools: e.TOOLS_DIR },
  };
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
