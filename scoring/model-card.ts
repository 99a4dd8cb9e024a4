/**
 * The model card (`model.json`) schema: the signature a caller's record must meet, one feature rule per graph input,
 * the served outputs and the task that gives them meaning. Only what the server relies on is strict; everything
 * else the training script writes (framework, data files, parity ...) passes through untouched.
 * The format is documented in docs/models.md.
 */
import { z } from 'zod';
import { parseTimestamp } from './timestamp.js';

export const FIELD_TYPES = ['integer', 'number', 'string', 'boolean', 'timestamp'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];
export const INPUT_DTYPES = ['int64', 'int32', 'float32', 'float64', 'string', 'bool'] as const;
export const OUTPUT_DTYPES = INPUT_DTYPES;
export const TIME_PARTS = ['hour', 'fractional_hour', 'day_of_week', 'month', 'day_of_year', 'year'] as const;
export type TimePart = (typeof TIME_PARTS)[number];
export const TASKS = ['regression', 'classification', 'outputs'] as const;

const identifier = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be letters, digits or "_", starting with a letter or "_"');

const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as UTC or America/New_York');

/** Why a field's `default` cannot be one of its values (type, bounds, timestamp text), or null. */
function defaultProblem(
  type: FieldType,
  value: string | number | boolean,
  min?: number,
  max?: number,
): string | null {
  const bounds = (x: number) =>
    (min !== undefined && x < min) || (max !== undefined && x > max)
      ? `must be within the field's min/max (got ${x})`
      : null;
  switch (type) {
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value)
        ? bounds(value)
        : `must be an integer (got ${JSON.stringify(value)})`;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
        ? bounds(value)
        : `must be a finite number (got ${JSON.stringify(value)})`;
    case 'boolean':
      return typeof value === 'boolean' ? null : `must be true or false (got ${JSON.stringify(value)})`;
    case 'string':
      return typeof value === 'string' ? null : `must be a string (got ${JSON.stringify(value)})`;
    case 'timestamp':
      return typeof value === 'string' && typeof parseTimestamp(value, 'UTC') !== 'string'
        ? null
        : `must be "now" or a timestamp YYYY-MM-DDTHH:MM:SS (got ${JSON.stringify(value)})`;
  }
}

export const fieldSchema = z
  .looseObject({
    name: identifier,
    type: z.enum(FIELD_TYPES),
    description: z.string().optional(),
    nullable: z.boolean().optional(),
    default: z.union([z.number(), z.string(), z.boolean()]).optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    allowed: z
      .array(z.union([z.string(), z.number()]))
      .min(1)
      .optional(),
    max_length: z.number().int().positive().optional(),
    /** A number's unit, used in messages ("must be a finite number of miles ..."). */
    unit: z.string().optional(),
    /** Timestamps: naive text is local time here, and parts are computed here (default UTC). */
    time_zone: timeZone.optional(),
    /** Other spellings callers may use for this field (the first present wins). */
    aliases: z.array(identifier).optional(),
  })
  .superRefine((f, ctx) => {
    const numeric = f.type === 'integer' || f.type === 'number';
    const bad = (message: string, path: string) => ctx.addIssue({ code: 'custom', message, path: [path] });
    if ((f.min !== undefined || f.max !== undefined) && !numeric)
      bad(`applies to numbers, not ${f.type}`, 'min');
    if (f.min !== undefined && f.max !== undefined && f.min > f.max) bad('must not exceed max', 'min');
    if (f.max_length !== undefined && f.type !== 'string') bad('applies to strings only', 'max_length');
    if (f.allowed && f.type !== 'string' && f.type !== 'integer')
      bad('applies to strings and integers', 'allowed');
    else if (f.allowed?.some((v) => (f.type === 'string' ? typeof v !== 'string' : !Number.isSafeInteger(v))))
      bad(`values must all be ${f.type === 'string' ? 'strings' : 'integers'}, as the field is`, 'allowed');
    if (f.time_zone !== undefined && f.type !== 'timestamp') bad('applies to timestamps only', 'time_zone');
    if (f.default === 'now' && f.type !== 'timestamp') bad('"now" is a timestamp default', 'default');
    else if (f.default !== undefined) {
      const problem = defaultProblem(f.type, f.default, f.min, f.max);
      if (problem) bad(problem, 'default');
    }
  });
export type FieldSpec = z.infer<typeof fieldSchema>;

const shape = z.array(z.number().int());

export const inputSchema = z.looseObject({
  name: z.string().min(1),
  dtype: z.enum(INPUT_DTYPES),
  shape,
  /** The signature field(s) this input is computed from: one, or one per column of a `[-1, n]` input. */
  from: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  /** A timestamp part instead of a cast (timestamp fields only). */
  part: z.enum(TIME_PARTS).optional(),
  time_zone: timeZone.optional(),
  description: z.string().optional(),
});
export type InputSpec = z.infer<typeof inputSchema>;

export const outputSchema = z.looseObject({
  name: z.string().min(1),
  dtype: z.enum(OUTPUT_DTYPES),
  shape,
  description: z.string().optional(),
});
export type OutputSpec = z.infer<typeof outputSchema>;

export const modelCardSchema = z
  .looseObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be lower-case letters, digits, ".", "_" or "-"'),
    version: z.string().regex(/^[0-9A-Za-z._-]+$/, 'must be a folder-safe version string'),
    task: z.enum(TASKS),
    description: z.string().optional(),
    created: z.string().optional(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits'),
    signature: z.looseObject({ fields: z.array(fieldSchema).min(1) }),
    inputs: z.array(inputSchema).min(1),
    outputs: z.array(outputSchema).min(1),
    regression: z
      .looseObject({
        output: z.string().min(1),
        /** The prediction's name in JSON answers (default: the output's name). */
        name: identifier.optional(),
        unit: z.string().optional(),
      })
      .optional(),
    classification: z
      .looseObject({
        label: z.string().min(1),
        probabilities: z.string().min(1).optional(),
        /** Class names in probability order; read from the graph's ZipMap when absent. */
        classes: z
          .array(z.union([z.string(), z.number()]))
          .min(2)
          .optional(),
      })
      .optional(),
    metrics: z.looseObject({}).optional(),
    /** What a regression predicts; `range` [min, max] is where training kept it, reported apart by monitoring. */
    target: z
      .looseObject({
        range: z
          .tuple([z.number(), z.number()])
          .refine(([min, max]) => min < max, 'must be [min, max] with min < max')
          .optional(),
      })
      .optional(),
    /** Monitoring: the reference profile of the training data (contracts/monitoring.ts ReferenceProfile). */
    monitoring: z
      .looseObject({
        reference: z
          .looseObject({
            source: z.string(),
            rows: z.number(),
            features: z.record(z.string(), z.looseObject({ kind: z.enum(['numeric', 'categorical']) })),
            /** The version's predictions over the same rows (`name`: the regression's name, or `label`). */
            prediction: z
              .looseObject({ name: z.string(), kind: z.enum(['numeric', 'categorical']) })
              .optional(),
          })
          .optional(),
      })
      .optional(),
    /** Serving hints. `max_batch_rows` caps the rows per ONNX run (memory-bound graphs such as a dense one-hot). */
    serving: z.looseObject({ max_batch_rows: z.number().int().positive().optional() }).optional(),
  })
  .superRefine((card, ctx) => {
    if (card.task === 'regression' && !card.regression)
      ctx.addIssue({
        code: 'custom',
        path: ['regression'],
        message: 'is required when task is "regression"',
      });
    if (card.task === 'classification' && !card.classification)
      ctx.addIssue({
        code: 'custom',
        path: ['classification'],
        message: 'is required when task is "classification"',
      });
  });

export type ModelCard = z.infer<typeof modelCardSchema>;

/** The issues of a card as `path: message`, one per problem. */
export function cardProblems(json: unknown): string[] {
  const parsed = modelCardSchema.safeParse(json);
  if (parsed.success) return [];
  return parsed.error.issues.map((i) => `${i.path.join('.') || '(card)'}: ${i.message}`);
}

/** Parses a card, returning a one-line reason naming each bad field on failure. */
export function parseModelCard(json: unknown): { ok: true; card: ModelCard } | { ok: false; reason: string } {
  const parsed = modelCardSchema.safeParse(json);
  if (parsed.success) return { ok: true, card: parsed.data };
  return { ok: false, reason: `invalid model.json (${cardProblems(json).join('; ')})` };
}

/** The fields an input reads, as a list. */
export const sourcesOf = (input: InputSpec): string[] =>
  typeof input.from === 'string' ? [input.from] : input.from;
