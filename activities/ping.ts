/** Activities of the ping workflow: the end-to-end check that a worker can reach Postgres. */
import type { PingInput, PingResult } from '../contracts/temporal.js';
import type { Pool } from '../db/pool.js';

export function createPingActivities(deps: { pool: Pool }) {
  return {
    /** Stores one ping row (idempotent by id, so a retried activity writes it once). */
    async storePing(input: PingInput): Promise<PingResult> {
      const { rows } = await deps.pool.query<{ id: string; message: string; created_at: Date }>(
        `INSERT INTO pings (id, message) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET message = EXCLUDED.message
         RETURNING id, message, created_at`,
        [input.id, input.message],
      );
      const row = rows[0];
      if (!row) throw new Error(`ping ${input.id} was not stored`);
      return { id: row.id, message: row.message, storedAt: row.created_at.toISOString() };
    },
  };
}
