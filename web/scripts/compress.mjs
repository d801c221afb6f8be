// After `vite build`: writes name.gz beside every compressible file in dist/ (vigild serves it to
// browsers that accept gzip) and enforces the bundle budget: the initial load (index.html and
// what it references) must stay within 250 KB gzipped. Prints the sizes.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url).pathname;
const budget = 250 * 1024;

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const sizes = new Map();
for (const file of walk(dist)) {
  if (!/\.(html|js|css|svg|json|txt|map)$/.test(file)) continue;
  const gz = gzipSync(readFileSync(file), { level: 9 });
  writeFileSync(`${file}.gz`, gz);
  sizes.set('/' + relative(dist, file), gz.length);
}

// The initial load: index.html and every asset it names.
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const initial = ['/index.html', ...[...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1])];
let total = 0;
for (const f of initial) {
  const n = sizes.get(f) ?? 0;
  total += n;
  console.log(`bundle: ${f} ${(n / 1024).toFixed(1)} KB gzipped`);
}
console.log(`bundle: initial load ${(total / 1024).toFixed(1)} KB gzipped (budget ${budget / 1024} KB)`);
if (total > budget) {
  console.error('bundle: over budget');
  process.exit(1);
}
