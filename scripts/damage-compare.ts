/**
 * How many files survive the same damage in xtar, a .tar.gz and a zip: packs one real tree three
 * ways, writes the same bursts (same seed, same relative positions) into each archive, restores with
 * `xtar unpack`, `tar -xzf --ignore-zeros` and `unzip`, and counts the files that come back byte
 * for byte.
 *
 *   npm run build && node dist/scripts/damage-compare.js [--src DIR] [--bursts 8] [--burst-size 4096] [--seed 1]
 *
 * Default source: a copy of /usr/include (thousands of real files).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, lstatSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from './prng.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback;
}

const rng = mulberry32;

/** sha256 of every regular file below `root`, by relative path. */
function hashes(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir)) {
      const abs = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(abs);
      if (st.isDirectory()) walk(abs, r);
      else if (st.isFile()) out.set(r, createHash('sha256').update(readFileSync(abs)).digest('hex'));
    }
  };
  if (existsSync(root)) walk(root, '');
  return out;
}

/** Overwrite `count` bursts of `size` random bytes at the same relative positions for every archive. */
function damage(file: string, positions: number[], size: number, seed: number): void {
  const buf = readFileSync(file);
  const next = rng(seed);
  for (const p of positions) {
    const at = Math.floor(p * Math.max(0, buf.length - size));
    for (let i = at; i < at + size && i < buf.length; i++) buf[i] = Math.floor(next() * 256);
  }
  writeFileSync(file, buf);
}

function count(original: Map<string, string>, restoredRoot: string): number {
  const got = hashes(restoredRoot);
  let n = 0;
  for (const [p, h] of original) if (got.get(p) === h) n++;
  return n;
}

function main(): void {
  const work = resolve(arg('work', '/tmp/xtar-damage-compare'));
  const bursts = Number(arg('bursts', '8'));
  const burstSize = Number(arg('burst-size', '4096'));
  const seed = Number(arg('seed', '1'));
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const srcArg = arg('src', '');
  const src = join(work, 'tree');
  execFileSync('cp', ['-a', srcArg || '/usr/include', src]);
  const original = hashes(src);
  const next = rng(seed);
  const positions = Array.from({ length: bursts }, () => next());

  // xtar
  execFileSync(process.execPath, [CLI, 'pack', src, '--out', join(work, 'xtar-set'), '--quiet']);
  const vol = readdirSync(join(work, 'xtar-set')).find((n) => n.includes('-vol')) as string;
  const xtarArchive = join(work, 'xtar-set', vol, `${vol}.xtar`);
  // tar.gz and zip of the same tree
  execFileSync('tar', ['-czf', join(work, 'tree.tar.gz'), '-C', work, 'tree']);
  execFileSync('zip', ['-q', '-r', '-y', join(work, 'tree.zip'), 'tree'], { cwd: work });

  for (const f of [xtarArchive, join(work, 'tree.tar.gz'), join(work, 'tree.zip')]) damage(f, positions, burstSize, seed + 1);

  const outX = join(work, 'out-xtar');
  spawnSync(process.execPath, [CLI, 'unpack', join(work, 'xtar-set', vol), '--dest', outX, '--quiet'], { stdio: 'ignore' });
  const outT = join(work, 'out-tar');
  mkdirSync(outT);
  spawnSync('tar', ['-xzf', join(work, 'tree.tar.gz'), '--ignore-zeros', '-C', outT], { stdio: 'ignore' });
  const outZ = join(work, 'out-zip');
  mkdirSync(outZ);
  spawnSync('unzip', ['-q', '-o', join(work, 'tree.zip'), '-d', outZ], { stdio: 'ignore' });

  const total = original.size;
  const rows: [string, number, number][] = [
    ['xtar unpack', count(original, join(outX, 'tree')), statSync(xtarArchive).size],
    ['tar -xzf --ignore-zeros (.tar.gz)', count(original, join(outT, 'tree')), statSync(join(work, 'tree.tar.gz')).size],
    ['unzip (zip -r)', count(original, join(outZ, 'tree')), statSync(join(work, 'tree.zip')).size],
  ];
  console.log(`${total} files (${srcArg || '/usr/include'}), ${bursts} bursts of ${burstSize} bytes at the same relative positions, seed ${seed}\n`);
  console.log('| restore | files recovered byte for byte | share | archive bytes |');
  console.log('|---|---|---|---|');
  for (const [name, n, size] of rows) console.log(`| ${name} | ${n} of ${total} | ${((100 * n) / total).toFixed(1)}% | ${size} |`);
}

main();
