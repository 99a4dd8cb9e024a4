/**
 * The model card (`model.json`) schema. Only the fields the server relies on are strict; everything else the
 * training script writes (framework, parity, data files ...) passes through untouched.
 */
import { z } from 'zod';

export const INPUT_DTYPES = ['int64', 'float32'] as const;
export const OUTPUT_DTYPES = ['float32', 'float64'] as const;

const shape = z
  .array(z.number().int())
  .refine(
    (s) => s.length === 2 && s[0] === -1 && s[1] === 1,
    'only shape [-1, 1] (one column per input) is supported',
  );

const metricSet = z.looseObject({ rmse: z.number().nonnegative(), mae: z.number().nonnegative() });

export const modelCardSchema = z.looseObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be lower-case letters, digits, ".", "_" or "-"'),
  version: z.string().regex(/^[0-9A-Za-z._-]+$/, 'must be a folder-safe version string'),
  kind: z.string().optional(),
  description: z.string().optional(),
  created: z.string().optional(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits'),
  inputs: z
    .array(
      z.looseObject({
        name: z.string().min(1),
        dtype: z.enum(INPUT_DTYPES),
        shape,
        description: z.string().optional(),
      }),
    )
    .min(1),
  outputs: z
    .array(
      z.looseObject({
        name: z.string().min(1),
        dtype: z.enum(OUTPUT_DTYPES),
        shape,
        description: z.string().optional(),
      }),
    )
    .min(1),
  metrics: z
    .looseObject({
      validation: metricSet.optional(),
      golden: metricSet.extend({ rows: z.number().int().positive() }).optional(),
    })
    .optional(),
  /** Serving hints. `max_batch_rows` caps the rows per ONNX run (memory-bound graphs such as a dense one-hot). */
  serving: z.looseObject({ max_batch_rows: z.number().int().positive().optional() }).optional(),
});

export type ModelCard = z.infer<typeof modelCardSchema>;

/** Parses a card, returning a one-line reason naming each bad field on failure. */
export function parseModelCard(json: unknown): { ok: true; card: ModelCard } | { ok: false; reason: string } {
  const parsed = modelCardSchema.safeParse(json);
  if (parsed.success) return { ok: true, card: parsed.data };
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(card)'}: ${i.message}`);
  return { ok: false, reason: `invalid model.json (${issues.join('; ')})` };
}
