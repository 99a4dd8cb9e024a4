/**
 * The benches' twin challenger: every repository model plus a copy of ride-duration 2 as version `2-twin`, so a
 * champion-and-challenger figure shows what the routing costs, not a cheaper or dearer model.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TWIN = '2-twin';
const MODELS = fileURLToPath(new URL('../models/', import.meta.url));

/** Writes the model folder with the twin into `into`; answers its path. */
export async function twinModels(into: string): Promise<string> {
  const dir = path.join(into, 'models-twin');
  await cp(MODELS, dir, { recursive: true });
  const twin = path.join(dir, 'ride-duration', TWIN);
  await cp(path.join(dir, 'ride-duration', '2'), twin, { recursive: true });
  const cardFile = path.join(twin, 'model.json');
  const card = JSON.parse(await readFile(cardFile, 'utf8')) as Record<string, unknown>;
  await writeFile(cardFile, JSON.stringify({ ...card, version: TWIN }, null, 2));
  return dir;
}
