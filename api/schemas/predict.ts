/** Schemas shared by the route groups: the problem+json error body and the model ref query. */
import { z } from '@hono/zod-openapi';

export const RowError = z.object({ field: z.string(), message: z.string() });

export const ProblemSchema = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(RowError).optional(),
  })
  .openapi('Problem');

/** Response entries for the error statuses a route can answer. */
export function problems(...statuses: number[]) {
  const out: Record<
    number,
    { description: string; content: { 'application/problem+json': { schema: typeof ProblemSchema } } }
  > = {};
  for (const status of statuses) {
    out[status] = {
      description: DESCRIPTIONS[status] ?? `HTTP ${status}`,
      content: { 'application/problem+json': { schema: ProblemSchema } },
    };
  }
  return out;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request: names each field and the reason',
  401: 'Missing or wrong Authorization: Bearer <API_KEY>',
  404: 'Unknown model, version, alias or resource',
  409: 'Conflict with the current state',
  413: 'Body or batch larger than the limit',
  415: 'Content-Type is not application/json',
  503: 'Unavailable (queue full, disabled, shutting down); see Retry-After',
};
