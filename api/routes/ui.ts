/** The dashboard at `/ui`: its pages and assets, served from the repository and npm packages (no CDN). */
import type { AppDeps } from '../deps.js';
import { routeGroup } from '../env.js';

export function uiRoutes(_deps: AppDeps) {
  return routeGroup();
}
