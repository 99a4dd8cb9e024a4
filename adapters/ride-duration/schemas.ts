/** The course's /predict and /predict/batch schemas (the OpenAPI document is generated from these). */
import { z } from '@hono/zod-openapi';
import { RowError } from '../../api/schemas/predict.js';
import { parseTimestamp } from '../../scoring/timestamp.js';

/** Zone ids: TLC uses 1..265; up to 999 is accepted, as the model cards' signatures do. */
export const MAX_LOCATION_ID = 999;
/** Miles; a meter reading above this is a data error, not a ride (as in the cards). */
export const MAX_TRIP_DISTANCE = 1000;
const parsePickup = (text: string) => parseTimestamp(text, 'America/New_York');

const required = (kind: string) => ({
  error: (issue: { input: unknown }) => (issue.input === undefined ? 'is required' : `must be ${kind}`),
});

const locationId = (what: string) =>
  z
    .number(required('an integer'))
    .int('must be an integer')
    .min(1, `must be from 1 to ${MAX_LOCATION_ID}`)
    .max(MAX_LOCATION_ID, `must be from 1 to ${MAX_LOCATION_ID}`)
    .openapi({ description: `${what} NYC TLC taxi zone id (1..265)`, example: 10 });

const pickup = z
  .string(required('a string'))
  .superRefine((text, ctx) => {
    const parsed = parsePickup(text);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
  })
  .optional();

export const RideSchema = z
  .looseObject({
    PULocationID: locationId('pickup'),
    DOLocationID: locationId('dropoff'),
    trip_distance: z
      .number(required('a number'))
      .min(0, `must be from 0 to ${MAX_TRIP_DISTANCE} miles`)
      .max(MAX_TRIP_DISTANCE, `must be from 0 to ${MAX_TRIP_DISTANCE} miles`)
      .openapi({ description: 'miles', example: 40 }),
    lpep_pickup_datetime: pickup.openapi({
      description:
        'Pickup time. Naive `YYYY-MM-DDTHH:MM:SS` is New York local time; with `Z`/`±HH:MM` it is converted. ' +
        'Absent: now, in America/New_York.',
      example: '2021-02-02T09:00:30',
    }),
    pickup_datetime: pickup.openapi({ description: 'Alias of lpep_pickup_datetime' }),
  })
  .openapi('Ride');
export type RideBody = z.infer<typeof RideSchema>;

const isLocationId = (v: unknown) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_LOCATION_ID;
const isPickup = (v: unknown) =>
  v === undefined || (typeof v === 'string' && typeof parsePickup(v) !== 'string');

/**
 * The hot path's check: true only for a body RideSchema accepts as is (its output then equals its input on every
 * field it names). Anything else, false included for valid-but-unusual input, goes through RideSchema itself, which
 * stays the one source of the OpenAPI document and of the 400 naming each field.
 */
export function isPlainRide(body: unknown): body is RideBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const ride = body as Record<string, unknown>;
  const distance = ride.trip_distance;
  return (
    isLocationId(ride.PULocationID) &&
    isLocationId(ride.DOLocationID) &&
    typeof distance === 'number' &&
    distance >= 0 &&
    distance <= MAX_TRIP_DISTANCE &&
    isPickup(ride.lpep_pickup_datetime) &&
    isPickup(ride.pickup_datetime)
  );
}

export const ModelQuerySchema = z.object({
  model: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]*(@[0-9A-Za-z._-]+)?$/, 'must be <name>, <name>@<version> or <name>@<alias>')
    .optional()
    .openapi({ description: 'Model ref (default ride-duration@production)', example: 'ride-duration@1' }),
});

export const PredictionSchema = z
  .object({
    duration: z.number().openapi({ description: 'predicted ride duration, minutes', example: 43.7 }),
    model_name: z.string().openapi({ example: 'ride-duration' }),
    model_version: z.string().openapi({ example: '2' }),
  })
  .openapi('Prediction');

export const BatchBodySchema = z
  .object({
    rides: z
      .array(z.unknown())
      .min(1, 'must hold at least one ride')
      .openapi({ type: 'array', items: { $ref: '#/components/schemas/Ride' } }),
  })
  .openapi('BatchRequest');

export const BatchResponseSchema = z
  .object({
    model_name: z.string(),
    model_version: z.string(),
    scored: z.number().int(),
    rejected: z.number().int(),
    predictions: z.array(
      z.union([z.object({ duration: z.number() }), z.object({ duration: z.null(), error: RowError })]),
    ),
  })
  .openapi('BatchPrediction');
