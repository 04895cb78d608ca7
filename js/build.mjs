// Bundle the booth for the page: src/booth-entry.js -> static/js/booth.js (an ES module)
// and src/worker.js -> static/js/worker.js (a worker script, classic or module), both
// minified ES2020 with every dependency inside (no import at run time, no CDN), then
// write static/js/bundle-hashes.json with the SHA-256 (hex) and the SRI (sha384, base64)
// of each bundle, for the page's integrity attributes and for reproducibility checks.
//
//   node build.mjs            (npm run build)
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const STATIC_DIR = path.resolve(here, '../src/plebiscite/server/static/js');

const common = {
  bundle: true,
  minify: true,
  target: 'es2020',
  platform: 'browser',
  legalComments: 'eof',
  charset: 'utf8',
  sourcemap: false,
  logLevel: 'warning',
  absWorkingDir: here,
  metafile: true,
};

export const BUNDLES = [
  { file: 'booth.js', entry: 'src/booth-entry.js', format: 'esm' },
  { file: 'worker.js', entry: 'src/worker.js', format: 'iife' },
];

/** Build both bundles into outDir; returns {file: {sha256, sri, bytes}}. */
export async function buildBundles(outDir) {
  mkdirSync(outDir, { recursive: true });
  const hashes = {};
  for (const b of BUNDLES) {
    const out = path.join(outDir, b.file);
    const result = await build({ ...common, entryPoints: [b.entry], outfile: out, format: b.format });
    for (const o of Object.values(result.metafile.outputs)) {
      if (o.imports.length) throw new Error(`${b.file} imports ${o.imports.map((i) => i.path).join(', ')}`);
    }
    const code = readFileSync(out);
    hashes[b.file] = {
      sha256: createHash('sha256').update(code).digest('hex'),
      sri: 'sha384-' + createHash('sha384').update(code).digest('base64'),
      bytes: code.length,
    };
  }
  writeFileSync(path.join(outDir, 'bundle-hashes.json'), JSON.stringify(hashes, null, 2) + '\n');
  return hashes;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const hashes = await buildBundles(STATIC_DIR);
  for (const [file, h] of Object.entries(hashes)) {
    console.log(`${path.relative(process.cwd(), path.join(STATIC_DIR, file))}  ${h.bytes} bytes  ${h.sri}`);
  }
}
