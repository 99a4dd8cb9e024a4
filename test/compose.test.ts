/**
 * No Docker engine runs here, so the production topology is checked by parsing: services, health-gated
 * start order, environment wiring, and that every command exists in package.json.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: string[];
  container_name?: string;
}

const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
const dockerfile = readFileSync('Dockerfile', 'utf8');
const services = compose.services;
const service = (name: string): Service => {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};

describe('docker-compose.yml', () => {
  it('has the production services', () => {
    expect(Object.keys(services).sort()).toEqual([
      'api',
      'migrate',
      'postgres',
      'temporal',
      'temporal-ui',
      'worker',
    ]);
  });

  it('runs only commands that package.json defines', () => {
    for (const name of ['api', 'worker', 'migrate']) {
      const command = service(name).command ?? [];
      expect(command.slice(0, 2), name).toEqual(['npm', 'run']);
      const script = command[2] ?? '';
      expect(pkg.scripts[script], `${name} runs npm run ${script}`).toBeDefined();
      expect(pkg.scripts[script]).toMatch(/^node dist\//);
    }
  });

  it('builds the app services from the Dockerfile and lets workers scale', () => {
    for (const name of ['api', 'worker', 'migrate']) expect(service(name).build, name).toBe('.');
    expect(service('worker').container_name).toBeUndefined();
    expect(service('worker').ports).toBeUndefined();
  });

  it('gates start-up on health', () => {
    expect(service('postgres').healthcheck?.test.join(' ')).toContain('pg_isready');
    expect(service('temporal').healthcheck).toBeDefined();
    expect(service('api').healthcheck?.test.join(' ')).toContain('/ready');
    expect(service('temporal').depends_on?.postgres?.condition).toBe('service_healthy');
    for (const name of ['api', 'worker']) {
      expect(service(name).depends_on?.temporal?.condition).toBe('service_healthy');
      expect(service(name).depends_on?.migrate?.condition).toBe('service_completed_successfully');
    }
  });

  it('wires the app to the postgres and temporal services', () => {
    for (const name of ['api', 'worker', 'migrate']) {
      const env = service(name).environment ?? {};
      expect(String(env.DATABASE_URL), name).toMatch(/^postgres:\/\/.+@postgres:5432\/rides$/);
      expect(env.TEMPORAL_ADDRESS, name).toBe('temporal:7233');
      expect(env.NODE_ENV, name).toBe('production');
      expect(env.WORKFLOW_BUNDLE, name).toBe('/app/dist/workflow-bundle.js');
    }
    expect(service('temporal').environment?.DB).toBe('postgres12');
    expect(service('temporal').environment?.POSTGRES_SEEDS).toBe('postgres');
    expect(service('temporal-ui').environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(service('temporal-ui').ports).toContain('8233:8080');
  });

  it('takes secrets from the environment, never from the file', () => {
    expect(String(service('api').environment?.API_KEY)).toMatch(/^\$\{API_KEY:\?/);
    expect(String(service('postgres').environment?.POSTGRES_PASSWORD)).toMatch(/^\$\{POSTGRES_PASSWORD:\?/);
  });
});

describe('Dockerfile', () => {
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const runtime = stages.at(-1) ?? '';

  it('is multi-stage with a production-only dependency install', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(runtime).toMatch(/COPY --from=prod-deps .*node_modules/);
  });

  it('runs as a non-root user with the prebuilt workflow bundle', () => {
    expect(runtime).toMatch(/^USER (?!root)\w+/m);
    expect(runtime).toMatch(/WORKFLOW_BUNDLE=\/app\/dist\/workflow-bundle\.js/);
    expect(pkg.scripts.build).toContain('workers/bundle.ts');
    expect(runtime).toMatch(/COPY --from=build .*\/app\/dist/);
  });

  it('ships every model folder and every deployment file where the config points', () => {
    expect(runtime).toMatch(/^COPY .*\bmodels \.\/models$/m);
    expect(runtime).toMatch(/^COPY .*\bdeployments \.\/deployments$/m);
    expect(runtime).toMatch(/MODEL_DIR=\/app\/models/);
    expect(runtime).toMatch(/DEPLOYMENT_DIR=\/app\/deployments/);
  });

  it('starts a command that package.json defines', () => {
    const cmd = /^CMD \[(.*)\]$/m.exec(runtime)?.[1] ?? '';
    const script = /"npm", "run", "([^"]+)"/.exec(cmd)?.[1] ?? '';
    expect(pkg.scripts[script]).toBeDefined();
  });
});
