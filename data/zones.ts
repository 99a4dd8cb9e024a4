/**
 * A synthetic map of the 265 TLC taxi zones for the generator: each zone's borough (from the TLC zone lookup),
 * a made-up but stable position in miles (zones with nearby ids in a borough sit near each other), and how
 * popular it is as a green-taxi pickup. Good enough for plausible distances, not a geographic truth.
 */

/** Borough letter of zone id i+1: E=EWR, M=Manhattan, X=Bronx, K=Brooklyn, Q=Queens, S=Staten Island, U=unknown. */
const BOROUGHS =
  'EQXMSSQQQQKMMKQQKXQXKKSMKKQQKQXXKKKKKQKKMMMSMXXMKMXKQKKQQXXXKKKQKKKMXQKKQMMKKXMKXQQSKQMMKMKQQXQQKQSMQQMMMKMKSSKKMMSMQSXMQQKQMXMMQQQQKQQXMQQMMMMMQQXMKKMMMKKSQMXQMMMMKMXXXMQSQXQSKKQQKXXXXMSKKKQQQMKQQQXXQMQSQSQXMKMXXSQQKQQXSKQMKQKKMMMMMMXMMMMXXXMMSMXXMXSQQXKKKQXQMMMUU';

export const ZONE_COUNT = 265;
export const AIRPORTS = { EWR: 1, JFK: 132, LGA: 138 } as const;

/** Borough letter of a zone id (1..265). */
export function boroughOf(zone: number): string {
  return BOROUGHS[zone - 1] ?? 'U';
}

// Borough boxes in miles: [west, south, east, north].
const BOXES: Record<string, [number, number, number, number]> = {
  M: [-1.2, -6, 1.2, 7],
  X: [1, 7, 7, 12],
  K: [-3, -13, 5, -4],
  Q: [2, -7, 13, 5],
  S: [-13, -16, -6, -9],
  E: [-14, -6, -12, -4],
  U: [0, 0, 0, 0],
};

// The best-known green-taxi pickup areas (East/Central Harlem, Astoria, Elmhurst, Washington Heights, ...).
const HOTSPOTS: Record<number, number> = {
  74: 30, 75: 25, 41: 25, 42: 15, 166: 15, 7: 12, 82: 12, 95: 12, 244: 10, 97: 8, 65: 8, 129: 8, 255: 8,
  181: 6, 43: 6, 116: 6, 152: 5, 260: 6, 223: 5, 17: 5, 61: 5, 25: 5, 33: 4, 66: 4, 92: 4, 226: 4,
}; // prettier-ignore

// The airports sit where trips to them are long: JFK far south-east, LaGuardia north Queens.
const FIXED_POSITIONS: Record<number, [number, number]> = { 132: [11, -6.5], 138: [5, 3.5] };

export interface Zone {
  id: number;
  borough: string;
  x: number;
  y: number;
  /** Relative pickup popularity. */
  weight: number;
}

function buildZones(): Zone[] {
  const byBorough = new Map<string, number[]>();
  for (let id = 1; id <= ZONE_COUNT; id++) {
    const b = boroughOf(id);
    byBorough.set(b, [...(byBorough.get(b) ?? []), id]);
  }
  const zones: Zone[] = [];
  for (const [borough, ids] of byBorough) {
    const [w, s, e, n] = BOXES[borough] ?? [0, 0, 0, 0];
    const cols = Math.max(1, Math.round(Math.sqrt(ids.length * ((e - w) / Math.max(0.1, n - s)))));
    const rows = Math.ceil(ids.length / cols);
    ids.forEach((id, rank) => {
      // Serpentine order: consecutive ids are neighbours on the grid.
      const row = Math.floor(rank / cols);
      const col = row % 2 === 0 ? rank % cols : cols - 1 - (rank % cols);
      const x = w + ((col + 0.5) / cols) * (e - w);
      const y = s + ((row + 0.5) / Math.max(1, rows)) * (n - s);
      const base = borough === 'M' ? 2 : borough === 'S' || borough === 'E' || borough === 'U' ? 0.2 : 1;
      const fixed = FIXED_POSITIONS[id];
      zones.push({ id, borough, x: fixed?.[0] ?? x, y: fixed?.[1] ?? y, weight: base * (HOTSPOTS[id] ?? 1) });
    });
  }
  return zones.sort((a, b) => a.id - b.id);
}

/** Zones 1..265, index = id - 1. */
export const ZONES: readonly Zone[] = buildZones();

/** Zone ids of a borough in id order. */
export function zonesIn(borough: string): number[] {
  return ZONES.filter((z) => z.borough === borough).map((z) => z.id);
}

/** Straight-line miles between two zones on the synthetic map. */
export function zoneDistance(a: number, b: number): number {
  const za = ZONES[a - 1];
  const zb = ZONES[b - 1];
  if (!za || !zb) return 0;
  return Math.hypot(za.x - zb.x, za.y - zb.y);
}
