/** Prometheus text format, as `/metrics` writes it: samples, and figures derived from the request counters. */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m?.[1] || m[3] === undefined) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL))
      if (l[1] !== undefined && l[2] !== undefined) labels[l[1]] = l[2].replace(/\\(.)/g, '$1');
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The online scoring routes (the course's, the generic predict route, V2 inference). */
export const isScoringRoute = (route: string) => /\/predict(\/batch)?$|\/infer$/.test(route);

export interface RouteFigures {
  key: string;
  method: string;
  route: string;
  requests: number;
  errors: number;
  /** Sum of latencies, seconds. */
  seconds: number;
}

/** Requests per method + route (all statuses added up), errors being 5xx. */
export function routeFigures(samples: Sample[]): RouteFigures[] {
  const byKey = new Map<string, RouteFigures>();
  const entry = (s: Sample) => {
    const method = s.labels.method ?? '';
    const route = s.labels.route ?? '';
    const key = `${method} ${route}`;
    let e = byKey.get(key);
    if (!e) byKey.set(key, (e = { key, method, route, requests: 0, errors: 0, seconds: 0 }));
    return e;
  };
  for (const s of samples) {
    if (s.name === 'http_requests_total') {
      const e = entry(s);
      e.requests += s.value;
      if ((s.labels.status ?? '').startsWith('5')) e.errors += s.value;
    } else if (s.name === 'http_request_duration_seconds_sum') entry(s).seconds += s.value;
  }
  return [...byKey.values()].sort((a, b) => b.requests - a.requests);
}

export interface Histogram {
  /** Upper bounds in seconds, ascending; the last is +Inf. */
  bounds: number[];
  /** Requests per bucket (not cumulative). */
  counts: number[];
}

/** The latency histogram of the routes `include` accepts (cumulative buckets turned into per-bucket counts). */
export function latencyHistogram(samples: Sample[], include: (route: string) => boolean): Histogram {
  const cumulative = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== 'http_request_duration_seconds_bucket' || !include(s.labels.route ?? '')) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    cumulative.set(le, (cumulative.get(le) ?? 0) + s.value);
  }
  const bounds = [...cumulative.keys()].sort((a, b) => a - b);
  let previous = 0;
  const counts = bounds.map((b) => {
    const c = cumulative.get(b) ?? 0;
    const n = c - previous;
    previous = c;
    return n;
  });
  return { bounds, counts };
}

/** The q-quantile of a histogram, as the upper bound of the bucket it falls in (seconds), or null when empty. */
export function quantileBound(h: Histogram, q: number): number | null {
  const total = h.counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    seen += h.counts[i] ?? 0;
    if (seen >= q * total) return h.bounds[i] ?? null;
  }
  return h.bounds.at(-1) ?? null;
}

export const bucketLabel = (le: number) =>
  le === Infinity ? '> 10 s' : le < 1 ? `≤ ${+(le * 1000).toPrecision(3)} ms` : `≤ ${le} s`;
