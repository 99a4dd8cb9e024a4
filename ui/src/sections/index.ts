/**
 * The dashboard's sections, in navigation order: one module per domain. A new domain adds its module here and its
 * id to UI_SECTIONS in api/routes/ui.ts (which serves the page at /ui/<id>).
 */
import { batch } from './batch.js';
import { deployments } from './deployments.js';
import { monitoring } from './monitoring.js';
import { online } from './online.js';
import { overview } from './overview.js';
import { rollouts } from './rollouts.js';
import { streams } from './streams.js';
import type { Section } from './types.js';

export const SECTIONS: readonly Section[] = [
  overview,
  deployments,
  batch,
  streams,
  online,
  rollouts,
  monitoring,
];
