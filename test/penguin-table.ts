/**
 * The penguin-species fixture of the batch tests: its golden records, and the `penguins` table a loader would make
 * of them (numeric, float, real, int and text columns; the key 1..n in golden order).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Pool } from '../db/pool.js';

export interface PenguinGolden {
  island: string;
  bill_length_mm: number | null;
  bill_depth_mm: number | null;
  flipper_length_mm: number | null;
  body_mass_g: number | null;
  sex: string | null;
  year: number;
  species: string;
  sklearn_label: string;
  sklearn_probabilities: Record<string, number>;
}

const GOLDEN = fileURLToPath(new URL('../models/penguin-species/1/golden.jsonl', import.meta.url));

export async function readPenguinGolden(): Promise<PenguinGolden[]> {
  return (await readFile(GOLDEN, 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as PenguinGolden);
}

/** Creates `penguins` and fills it with `rows` (penguin_id = position + 1). */
export async function loadPenguinTable(pool: Pool, rows: readonly PenguinGolden[]): Promise<void> {
  await pool.query(`CREATE TABLE penguins (
    penguin_id integer PRIMARY KEY, island text NOT NULL, bill_length_mm numeric, bill_depth_mm double precision,
    flipper_length_mm real, body_mass_g integer, sex text, year smallint NOT NULL, species text)`);
  await pool.query(
    `INSERT INTO penguins SELECT * FROM unnest($1::int[], $2::text[], $3::numeric[], $4::float8[], $5::real[],
       $6::int[], $7::text[], $8::smallint[], $9::text[])`,
    [
      rows.map((_, i) => i + 1),
      rows.map((r) => r.island),
      rows.map((r) => r.bill_length_mm),
      rows.map((r) => r.bill_depth_mm),
      rows.map((r) => r.flipper_length_mm),
      rows.map((r) => r.body_mass_g),
      rows.map((r) => r.sex),
      rows.map((r) => r.year),
      rows.map((r) => r.species),
    ],
  );
}
