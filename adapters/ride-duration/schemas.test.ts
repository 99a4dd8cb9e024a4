import { describe, expect, it } from 'vitest';
import { isPlainRide, RideSchema } from './schemas.js';

const ride = { PULocationID: 10, DOLocationID: 50, trip_distance: 40 };

describe('isPlainRide (the /predict fast path)', () => {
  it('accepts the common valid bodies, which RideSchema accepts unchanged', () => {
    const bodies = [
      ride,
      { ...ride, lpep_pickup_datetime: '2021-02-02T09:00:30' },
      { ...ride, pickup_datetime: '2021-02-02T09:00:30-05:00', extra: 'kept' },
      { PULocationID: 999, DOLocationID: 1, trip_distance: 0 },
      { PULocationID: 1, DOLocationID: 1, trip_distance: 1000 },
    ];
    for (const body of bodies) {
      expect(isPlainRide(body)).toBe(true);
      expect(RideSchema.parse(body)).toEqual(body);
    }
  });

  it('refuses everything RideSchema refuses, so zod still names the field', () => {
    const bodies: unknown[] = [
      null,
      'ride',
      [ride],
      {},
      { ...ride, PULocationID: 0 },
      { ...ride, DOLocationID: 1000 },
      { ...ride, PULocationID: 1.5 },
      { ...ride, PULocationID: '10' },
      { ...ride, trip_distance: -1 },
      { ...ride, trip_distance: 1000.5 },
      { ...ride, trip_distance: 'far' },
      { ...ride, trip_distance: null },
      { ...ride, lpep_pickup_datetime: null },
      { ...ride, lpep_pickup_datetime: '2021-02-30T10:00:00' },
      { ...ride, pickup_datetime: 'yesterday' },
      { ...ride, pickup_datetime: 5 },
    ];
    for (const body of bodies) {
      expect(isPlainRide(body), JSON.stringify(body)).toBe(false);
      expect(RideSchema.safeParse(body).success, JSON.stringify(body)).toBe(false);
    }
  });
});
