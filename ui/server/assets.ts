/**
 * What the API serves for the dashboard and the docs page, all from this repository and npm packages (no CDN):
 * files of a package's folder on an allow-list, the dashboard's static files, and its TypeScript bundled by
 * esbuild on first request (kept in memory; restart the API to pick up an edit).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

export interface Asset {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

const contentType = (file: string) => TYPES[path.extname(file)] ?? 'application/octet-stream';

/** The folder of an installed npm package (one without an `exports` map, or one that exports package.json). */
export function packageDir(name: string): string {
  return path.dirname(require.resolve(`${name}/package.json`));
}

/**
 * The dashboard's source folder: beside this file in a checkout (ui/server -> ui/src), or at the repository root
 * when this file runs compiled from dist/ui/server.
 */
function sourceDir(): string {
  const candidates = ['../src/', '../../../ui/src/'].map((rel) =>
    fileURLToPath(new URL(rel, import.meta.url)),
  );
  return candidates.find((dir) => existsSync(path.join(dir, 'main.ts'))) ?? (candidates[0] as string);
}

/** Serves `files` (names relative to `dir`) and nothing else: a name off the list is not found. */
export function fileSet(dir: string, files: readonly string[]) {
  const allowed = new Set(files);
  const cache = new Map<string, Promise<Asset>>();
  return (name: string): Promise<Asset> | undefined => {
    if (!allowed.has(name)) return undefined;
    let hit = cache.get(name);
    if (!hit) {
      hit = readFile(path.join(dir, name)).then((b) => ({
        body: new Uint8Array(b),
        contentType: contentType(name),
      }));
      hit.catch(() => cache.delete(name));
      cache.set(name, hit);
    }
    return hit;
  };
}

/** Swagger UI's files from `swagger-ui-dist`, for `/docs`. */
export const swaggerAssets = () =>
  fileSet(packageDir('swagger-ui-dist'), [
    'swagger-ui.css',
    'swagger-ui-bundle.js',
    'favicon-16x16.png',
    'favicon-32x32.png',
  ]);

/** The dashboard: its shell page, styles, uPlot's stylesheet, and `app.js` bundled from ui/src/main.ts. */
export function dashboardAssets() {
  const src = sourceDir();
  const own = fileSet(src, ['index.html', 'styles.css']);
  const uplot = fileSet(path.join(packageDir('uplot'), 'dist'), ['uPlot.min.css']);
  let bundle: Promise<Asset> | undefined;
  const build = async (): Promise<Asset> => {
    const esbuild = await import('esbuild');
    const result = await esbuild.build({
      entryPoints: [path.join(src, 'main.ts')],
      bundle: true,
      format: 'esm',
      target: 'es2022',
      minify: true,
      write: false,
      logLevel: 'silent',
    });
    const out = result.outputFiles[0];
    if (!out) throw new Error('esbuild wrote no bundle for ui/src/main.ts');
    return { body: new Uint8Array(out.contents), contentType: contentType('app.js') };
  };
  return (name: string): Promise<Asset> | undefined => {
    if (name === 'app.js') {
      bundle ??= build();
      bundle.catch(() => (bundle = undefined));
      return bundle;
    }
    if (name === 'uplot.css') return uplot('uPlot.min.css');
    return own(name);
  };
}
