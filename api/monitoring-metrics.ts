/**
 * Monitoring figures on /metrics, read from their tables when Prometheus scrapes (never on a request's path): the
 * latest window's PSI per deployment, mode, version and field, its performance (MAE/RMSE or accuracy over its
 * labelled predictions, as stored with the window), and the alerts raised per deployment and kind. A failed read leaves
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
    help: 'PSI of a field (or of the prediction, feature="(prediction)") against the card\'s reference, in the latest window of each deployment, mode and version',
    labelNames: ['deployment', 'mode', 'version', 'feature'],
    registers,
    async collect() {
      this.reset();
      try {
        // Every field of the latest window of each deployment, mode and version.
        const latest = await pool.query<{
          deployment: string;
          mode: string;
          version: string;
          feature: string;
          psi: number;
        }>(
          `WITH last AS (SELECT DISTINCT ON (deployment, mode, version) deployment, mode, version, result
                           FROM drift_windows ORDER BY deployment, mode, version, window_from DESC)
           SELECT deployment, mode, version, f ->> 'field' AS feature, (f ->> 'psi')::float8 AS psi
             FROM last, jsonb_array_elements(last.result -> 'features') AS f`,
        );
        for (const r of latest.rows)
          this.set({ deployment: r.deployment, mode: r.mode, version: r.version, feature: r.feature }, r.psi);
      } catch (err) {
        logger?.warn({ err: (err as Error).message }, 'model_drift_psi: drift windows could not be read');
      }
    },
  });
  new Gauge({
    name: 'model_performance',
    help: 'MAE and RMSE (regression) or accuracy (classification) over the labelled predictions of the latest window with labels, per deployment, mode and version; labelled: their count',
    labelNames: ['deployment', 'mode', 'version', 'metric'],
    registers,
    async collect() {
      this.reset();
      try {
        const { rows } = await pool.query<{
          deployment: string;
          mode: string;
          version: string;
          perf: Record<string, unknown>;
        }>(
          `SELECT DISTINCT ON (deployment, mode, version) deployment, mode, version, result -> 'performance' AS perf
             FROM drift_windows WHERE jsonb_typeof(result -> 'performance') = 'object'
            ORDER BY deployment, mode, version, window_from DESC`,
        );
        for (const r of rows)
          for (const metric of ['mae', 'rmse', 'accuracy', 'labelled'])
            if (typeof r.perf[metric] === 'number')
              this.set(
                { deployment: r.deployment, mode: r.mode, version: r.version, metric },
                r.perf[metric],
              );
      } catch (err) {
        logger?.warn({ err: (err as Error).message }, 'model_performance: drift windows could not be read');
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
