/**
 * Draws one plausible green ride at a time into column arrays: zone pairs (mostly within a borough or to a
 * nearby id, some airport trips), a distance consistent with the pair, a pickup time with a daily profile,
 * a duration from distance and time-of-day speed (slower at rush hour) plus noise, and meter-like fares.
 */
import { cumulative, type Prng } from './prng.js';
import type { RideBatch } from './ride-batch.js';
import { AIRPORTS, ZONES, zoneDistance, type Zone } from './zones.js';
import type { GeneratedExtraColumn } from './generated-batch.js';

type Target = RideBatch & Record<GeneratedExtraColumn, Float64Array>;

// Relative pickups per hour of day (weekday: two rush peaks; weekend: late nights and a flat afternoon).
const WEEKDAY_HOURS = [1.6, 1, 0.7, 0.5, 0.5, 0.8, 1.8, 3.6, 4.6, 4.2, 3.8, 3.9, 4.1, 4.3, 4.8, 5.4, 5.8, 6, 5.6, 4.6, 3.6, 3, 2.6, 2.1]; // prettier-ignore
const WEEKEND_HOURS = [3, 2.4, 1.8, 1.2, 0.8, 0.7, 0.9, 1.3, 2, 2.8, 3.5, 4, 4.3, 4.4, 4.4, 4.5, 4.5, 4.4, 4.2, 3.8, 3.4, 3.1, 2.9, 2.6]; // prettier-ignore
// Median speed (mph) per hour: ~9 at rush hour, ~12 midday, up to ~19 at night.
const WEEKDAY_MPH = [18, 19, 19, 19, 19, 17, 14, 10, 9, 10, 12, 12, 12, 12, 11, 10, 9, 9, 10, 12, 14, 15, 16, 17]; // prettier-ignore
const WEEKEND_MPH = [17, 18, 18, 19, 19, 19, 18, 17, 16, 14, 13, 13, 12, 12, 12, 12, 12, 12, 13, 13, 14, 15, 15, 16]; // prettier-ignore
const PASSENGERS = cumulative([0, 0.82, 0.09, 0.02, 0.01, 0.04, 0.02]);
const PAYMENT = cumulative([0, 0.55, 0.43, 0.01, 0.01]);

const round2 = (v: number) => Math.round(v * 100) / 100;

export class RideSampler {
  private readonly pickupTable: Float64Array;
  private readonly anyTable: Float64Array;
  private readonly boroughLists = new Map<string, { ids: number[]; table: Float64Array }>();
  private readonly rankInBorough = new Map<number, number>();
  /** Cumulative pickup weight of every hour of the month (daily profile, weekday or weekend). */
  private readonly monthHours: Float64Array;
  private readonly weekendDay: Uint8Array;
  /** Position of the previous pickup in the month's time distribution (0..1); pickups come out sorted. */
  private previous = 0;
  private drawn = 0;

  constructor(
    private readonly prng: Prng,
    private readonly monthStartUs: number,
    monthEndUs: number,
    private readonly rows: number,
  ) {
    const canStart = (z: Zone) => z.borough !== 'U' && z.borough !== 'E';
    this.pickupTable = cumulative(ZONES.map((z) => (canStart(z) ? z.weight : 0)));
    this.anyTable = cumulative(ZONES.map((z) => (z.borough === 'U' ? 0.02 : z.weight)));
    for (const b of ['M', 'X', 'K', 'Q', 'S', 'E', 'U']) {
      const zones = ZONES.filter((z) => z.borough === b);
      zones.forEach((z, rank) => this.rankInBorough.set(z.id, rank));
      this.boroughLists.set(b, {
        ids: zones.map((z) => z.id),
        table: cumulative(zones.map((z) => z.weight)),
      });
    }
    const days = Math.round((monthEndUs - monthStartUs) / 86_400e6);
    const firstDow = new Date(monthStartUs / 1000).getUTCDay();
    this.weekendDay = Uint8Array.from({ length: days }, (_, d) =>
      (firstDow + d) % 7 === 0 || (firstDow + d) % 7 === 6 ? 1 : 0,
    );
    this.monthHours = cumulative(
      Array.from(
        { length: days * 24 },
        (_, h) => (this.weekendDay[Math.floor(h / 24)] ? WEEKEND_HOURS : WEEKDAY_HOURS)[h % 24] ?? 1,
      ),
    );
  }

  /**
   * Next pickup, in ascending order: the k-th of n sorted uniforms is drawn from the previous one
   * (1 - v' = (1 - v) * U^(1/(n-k))), then mapped through the month's hourly profile. Sorted pickups make the
   * file look like a TLC export and keep index inserts sequential (about half the Postgres CPU of random order).
   */
  private nextPickup(): { hourOfMonth: number; us: number } {
    const remaining = Math.max(1, this.rows - this.drawn);
    this.drawn++;
    this.previous = 1 - (1 - this.previous) * Math.pow(1 - this.prng.next(), 1 / remaining);
    const table = this.monthHours;
    const x = this.previous * (table[table.length - 1] ?? 0);
    let lo = 0;
    let hi = table.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((table[mid] ?? 0) > x) hi = mid;
      else lo = mid + 1;
    }
    const before = lo > 0 ? (table[lo - 1] ?? 0) : 0;
    const within = Math.min(3599, Math.floor(((x - before) / ((table[lo] ?? 1) - before)) * 3600));
    return { hourOfMonth: lo, us: this.monthStartUs + (lo * 3600 + within) * 1e6 };
  }

  private dropoffZone(pu: number): number {
    const p = this.prng;
    const r = p.next();
    if (r < 0.05) return pu;
    const borough = ZONES[pu - 1]?.borough ?? 'U';
    const list = this.boroughLists.get(borough);
    if (list && r < 0.6) {
      const step = 1 + Math.floor(-Math.log(1 - p.next()) * 3);
      const rank = (this.rankInBorough.get(pu) ?? 0) + (p.next() < 0.5 ? -step : step);
      return list.ids[Math.min(list.ids.length - 1, Math.max(0, rank))] ?? pu;
    }
    if (list && r < 0.85) return list.ids[p.pick(list.table)] ?? pu;
    if (r < 0.98) return p.pick(this.anyTable) + 1;
    const a = p.next();
    return a < 0.45 ? AIRPORTS.JFK : a < 0.9 ? AIRPORTS.LGA : AIRPORTS.EWR;
  }

  /** Writes one clean ride into row i of the batch. */
  fill(b: Target, i: number): void {
    const p = this.prng;
    const pu = p.pick(this.pickupTable) + 1;
    const dof = this.dropoffZone(pu);
    const distance =
      pu === dof ? 0.3 + p.logNormal(-0.6, 0.6) : zoneDistance(pu, dof) * 1.3 * p.logNormal(0, 0.2) + 0.2;
    const miles = Math.max(0.1, round2(distance));

    const { hourOfMonth, us: pickupUs } = this.nextPickup();
    const hour = hourOfMonth % 24;
    const weekend = this.weekendDay[Math.floor(hourOfMonth / 24)] ?? 0;
    const baseMph = (weekend ? WEEKEND_MPH : WEEKDAY_MPH)[hour] ?? 12;
    // Longer trips use faster roads: x1 at 1 mile, x1.2 at 2.6 (the median), x1.7 at 15 miles.
    const roads = 0.75 + 0.35 * Math.log1p(miles);
    const mph = Math.min(35, Math.max(4, baseMph * roads * p.logNormal(0, 0.2)));
    const minutes = (miles / mph) * 60 + p.uniform(0.5, 2.5);
    const dropoffUs = pickupUs + Math.round(minutes * 60) * 1e6;

    const toEwr = dof === AIRPORTS.EWR;
    const fare = toEwr
      ? 20 + Math.round(2.5 * miles * 2) / 2
      : Math.round((3 + 2.75 * miles + 0.4 * minutes) * 2) / 2;
    const extra = (hour >= 20 || hour < 6 ? 0.5 : 0) + (!weekend && hour >= 16 && hour < 20 ? 1 : 0);
    const payment = p.pick(PAYMENT);
    const tip = payment === 1 && p.next() < 0.9 ? round2(fare * p.uniform(0.1, 0.25)) : 0;
    const crossesBorough = ZONES[pu - 1]?.borough !== ZONES[dof - 1]?.borough;
    const tolls = (crossesBorough && p.next() < 0.3) || toEwr ? 6.55 : 0;
    const congestion = ZONES[dof - 1]?.borough === 'M' && p.next() < 0.3 ? 2.75 : 0;

    b.vendorId[i] = p.next() < 0.8 ? 2 : 1;
    b.pickup[i] = pickupUs;
    b.dropoff[i] = dropoffUs;
    b.puLocationId[i] = pu;
    b.doLocationId[i] = dof;
    b.passengerCount[i] = p.pick(PASSENGERS);
    b.tripDistance[i] = miles;
    b.fareAmount[i] = fare;
    b.ratecodeId[i] = toEwr ? 3 : 1;
    b.extra[i] = extra;
    b.mtaTax[i] = 0.5;
    b.tipAmount[i] = tip;
    b.tollsAmount[i] = tolls;
    b.improvementSurcharge[i] = 0.3;
    b.paymentType[i] = payment;
    b.tripType[i] = p.next() < 0.98 ? 1 : 2;
    b.congestionSurcharge[i] = congestion;
    b.totalAmount[i] = round2(fare + extra + 0.5 + tip + tolls + 0.3 + congestion);
  }
}
