/**
 * Monitoring figures on /metrics, read from their tables when Prometheus scrapes (never on a request's path): the
 * latest PSI per deployment, version and field, and the alerts raised per deployment and kind. A failed read leaves
 * the gauges empty for that scrape (the log says why) rather than failing the scrape.
 */
import { Gauge } from 'prom-client';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logger.js';
import type { ApiMetrics } from './metrics.js';

export function registerMonitoringGauges(metrics: ApiMetrics, pool: Pool, logger?: Logger): void {
  const registers = [metrics.registry];
  new Gauge({
    name: 'model_drift_psi',
    help: "PSI of a field against the card's reference, in the latest drift window of each deployment and version",
    labelNames: ['deployment', 'version', 'feature'],
    registers,
    async collect() {
      this.reset();
      try {
        // Every field of the latest window of each deployment and version.
        const latest = await pool.query<{
          deployment: string;
          version: string;
          feature: string;
          psi: number;
        }>(
          `WITH last AS (SELECT DISTINCT ON (deployment, version) deployment, version, result FROM drift_windows
                          ORDER BY deployment, version, window_from DESC)
           SELECT deployment, version, f ->> 'field' AS feature, (f ->> 'psi')::float8 AS psi
             FROM last, jsonb_array_elements(last.result -> 'features') AS f`,
        );
        for (const r of latest.rows)
          this.set({ deployment: r.deployment, version: r.version, feature: r.feature }, r.psi);
      } catch (err) {
        logger?.warn({ err: (err as Error).message }, 'model_drift_psi: drift windows could not be read');
      }
    },
  });
  new Gauge({
    name: 'monitoring_alerts',
    help: 'Alerts raised so far, per deployment and kind (one per drifted window)',
    labelNames: ['deployment', 'kind'],
    registers,
    async collect() {
      this.reset();
      try {
        const { rows } = await pool.query<{ deployment: string; kind: string; n: string }>(
          'SELECT deployment, kind, count(*) AS n FROM monitoring_alerts GROUP BY 1, 2',
        );
        for (const r of rows) this.set({ deployment: r.deployment, kind: r.kind }, Number(r.n));
      } catch (err) {
        logger?.warn({ err: (err as Error).message }, 'monitoring_alerts: alerts could not be read');
      }
    },
  });
}
