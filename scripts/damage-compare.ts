/**
 * How many files survive the same damage in xtar, a .tar.gz, a zip and a dar archive. Packs one real
 * tree four ways, then restores each twice:
 *
 * - flipped bytes: the same bursts of random bytes (same seed, same relative positions) written into
 *   a copy of each archive;
 * - a scratched disc: each archive read through a FUSE mount (scripts/eio-mount.ts) on which the same
 *   2 KiB-aligned stretches, at the same relative positions, fail with EIO as a drive's unreadable
 *   sectors do (needs root, /dev/fuse, fuse3 and python3-fusepy).
 *
 * Restores with `xtar unpack`, `tar -xzf --ignore-zeros`, `unzip` and `dar -x`, and counts per tool
 * the files restored byte for byte, written with wrong bytes, and lost. For xtar it also computes,
 * from the catalog's offsets, the files whose blob lies wholly on undamaged bytes, and checks that
 * each of them came back (the target of issue 16) instead of assuming it.
 *
 *   npm run build && node dist/scripts/damage-compare.js [--src DIR] [--seed 1]
 *       [--bursts 8] [--burst-size 4096]          (flipped bytes)
 *       [--sectors 6] [--sector-run 8192]         (unreadable stretches; 2048-byte sectors)
 *
 * Default source: a copy of /usr/include (thousands of real files). Prints one markdown table.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blobsOnReadable, hashes, stretches, tally, type Range, type Tally } from './damage-count.js';
import { mountEio } from './eio-mount.js';
import { mulberry32 } from './prng.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const SECTOR = 2048;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback;
}

/** One way of archiving the tree: where its archive lies in the archives folder, and how it restores. */
interface Tool {
  readonly name: string;
  /** The archive file, relative to the archives folder. */
  archive: string;
  /** Restore from the archives folder `from` into the empty folder `out` (the tree lands in out/tree). */
  restore(from: string, out: string): void;
}

function tools(): Tool[] {
  return [
    {
      name: 'xtar unpack',
      archive: '',
      restore(from, out) {
        const vol = this.archive.split('/')[1] as string;
        spawnSync(process.execPath, [CLI, 'unpack', join(from, 'xtar-set', vol), '--dest', out, '--quiet'], { stdio: 'ignore' });
      },
    },
    {
      name: 'tar -xzf --ignore-zeros (.tar.gz)',
      archive: 'tree.tar.gz',
      restore(from, out) {
        spawnSync('tar', ['-xzf', join(from, 'tree.tar.gz'), '--ignore-zeros', '-C', out], { stdio: 'ignore' });
      },
    },
    {
      name: 'unzip (zip -r)',
      archive: 'tree.zip',
      restore(from, out) {
        spawnSync('unzip', ['-q', '-o', join(from, 'tree.zip'), '-d', out], { stdio: 'ignore' });
      },
    },
    {
      name: 'dar -x (dar -zgzip; --sequential-read if the catalogue fails)',
      archive: 'tree.1.dar',
      restore(from, out) {
        const r = spawnSync('dar', ['-x', join(from, 'tree'), '-R', out, '-O', '-w', '-Q', '-q'], { stdio: 'ignore' });
        // A catalogue dar cannot read (it lies at the archive's end) stops it before any file: then
        // read the archive front to back instead, as dar's own manual suggests.
        if (r.status !== 0 && !existsSync(join(out, 'tree'))) spawnSync('dar', ['-x', join(from, 'tree'), '-R', out, '-O', '-w', '-Q', '-q', '--sequential-read'], { stdio: 'ignore' });
      },
    },
  ];
}

/** Pack `tree` (work/tree) the four ways into `archives`; the xtar tool learns its volume's name. */
function packAll(work: string, archives: string, all: Tool[]): void {
  mkdirSync(archives, { recursive: true });
  execFileSync(process.execPath, [CLI, 'pack', join(work, 'tree'), '--out', join(archives, 'xtar-set'), '--quiet']);
  const vols = readdirSync(join(archives, 'xtar-set')).filter((n) => n.includes('-vol'));
  if (vols.length !== 1) throw new Error(`expected one xtar volume, found ${vols.length}: pick a smaller --src`);
  const vol = vols[0] as string;
  (all[0] as Tool).archive = `xtar-set/${vol}/${vol}.xtar`;
  execFileSync('tar', ['-czf', join(archives, 'tree.tar.gz'), '-C', work, 'tree']);
  execFileSync('zip', ['-q', '-r', '-y', join(archives, 'tree.zip'), 'tree'], { cwd: work });
  execFileSync('dar', ['-c', join(archives, 'tree'), '-R', work, '-g', 'tree', '-zgzip', '-Q', '-q'], { stdio: 'ignore' });
}

interface Row {
  readonly kind: string;
  readonly tool: string;
  readonly tally: Tally;
  readonly bytes: number;
  readonly damaged: number;
}

interface Target {
  readonly kind: string;
  readonly whole: number;
  readonly missed: string[];
  readonly wrongAmongAll: number;
}

/** Restore with `tool` from `from` into a fresh folder and count against `original`. */
function restoreAndCount(tool: Tool, from: string, out: string, original: Map<string, string>): Map<string, string> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  tool.restore(from, out);
  const got = hashes(join(out, 'tree'));
  for (const p of [...got.keys()]) if (!original.has(p)) got.delete(p);
  return got;
}

/** Which of xtar's files the damage left whole, and whether each came back. */
function checkTarget(kind: string, archives: string, xtar: Tool, bad: readonly Range[], original: Map<string, string>, got: Map<string, string>): Target {
  const vol = xtar.archive.split('/')[1] as string;
  const catalog = readFileSync(join(archives, 'xtar-set', vol, 'catalog.jsonl'), 'utf8');
  const whole = [...blobsOnReadable(catalog, bad)].map((p) => p.replace(/^tree\//, '')).filter((p) => original.has(p));
  const missed = whole.filter((p) => got.get(p) !== original.get(p));
  return { kind, whole: whole.length, missed, wrongAmongAll: tally(original, got).wrong };
}

/** The tools the comparison runs, each from its Debian package: named up front when one is missing. */
const NEEDED: [string, string][] = [['tar', 'tar'], ['gzip', 'gzip'], ['zip', 'zip'], ['unzip', 'unzip'], ['dar', 'dar'], ['fusermount3', 'fuse3']];

async function main(): Promise<void> {
  const missing = NEEDED.filter(([tool]) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0);
  if (missing.length > 0) throw new Error(`damage-compare needs ${missing.map(([t, p]) => `${t} (apt-get install ${p})`).join(', ')}`);
  const work = resolve(arg('work', '/tmp/xtar-damage-compare'));
  const seed = Number(arg('seed', '1'));
  const bursts = Number(arg('bursts', '8'));
  const burstSize = Number(arg('burst-size', '4096'));
  const sectors = Number(arg('sectors', '6'));
  const sectorRun = Number(arg('sector-run', '8192'));
  const srcArg = arg('src', '') || '/usr/include';
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  execFileSync('cp', ['-a', srcArg, join(work, 'tree')]);
  const original = hashes(join(work, 'tree'));
  const all = tools();
  const clean = join(work, 'archives');
  packAll(work, clean, all);
  const xtar = all[0] as Tool;
  const next = mulberry32(seed);
  const flipAt = Array.from({ length: bursts }, () => next());
  const eioAt = Array.from({ length: sectors }, () => next());
  const rows: Row[] = [];
  const targets: Target[] = [];

  // Flipped bytes: a copy of the archives with the same bursts written into each.
  const flipped = join(work, 'flipped');
  cpSync(clean, flipped, { recursive: true });
  const noise = mulberry32(seed + 1);
  const flipRanges = new Map<string, Range[]>();
  for (const t of all) {
    const file = join(flipped, t.archive);
    const buf = readFileSync(file);
    const ranges = stretches(buf.length, flipAt, burstSize);
    for (const [a, b] of ranges) for (let i = a; i < b; i++) buf[i] = Math.floor(noise() * 256);
    writeFileSync(file, buf);
    flipRanges.set(t.name, ranges);
  }
  for (const t of all) {
    const got = restoreAndCount(t, flipped, join(work, 'out'), original);
    const ranges = flipRanges.get(t.name) as Range[];
    rows.push({ kind: 'flipped bytes', tool: t.name, tally: tally(original, got), bytes: statSync(join(clean, t.archive)).size, damaged: ranges.reduce((n, [a, b]) => n + b - a, 0) });
    if (t === xtar) targets.push(checkTarget('flipped bytes', clean, xtar, ranges, original, got));
  }

  // A scratched disc: the clean archives through a mount that fails the same stretches with EIO.
  const bad: Record<string, Range[]> = {};
  for (const t of all) bad[t.archive] = stretches(statSync(join(clean, t.archive)).size, eioAt, sectorRun, SECTOR);
  const mnt = join(work, 'mnt');
  mkdirSync(mnt);
  const mount = await mountEio(clean, mnt, bad, join(work, 'eio.log'));
  try {
    for (const t of all) {
      const got = restoreAndCount(t, mnt, join(work, 'out'), original);
      const ranges = bad[t.archive] as Range[];
      rows.push({ kind: 'scratched disc (EIO)', tool: t.name, tally: tally(original, got), bytes: statSync(join(clean, t.archive)).size, damaged: ranges.reduce((n, [a, b]) => n + b - a, 0) });
      if (t === xtar) targets.push(checkTarget('scratched disc (EIO)', clean, xtar, ranges, original, got));
    }
  } finally {
    await mount.close();
  }

  const total = original.size;
  console.log(`${total} files (a copy of ${srcArg}), seed ${seed}.`);
  console.log(`Flipped bytes: ${bursts} bursts of ${burstSize} random bytes. Scratched disc: ${sectors} stretches of ${sectorRun} bytes (${SECTOR}-byte sectors) failing with EIO through a FUSE mount.`);
  console.log('Both at the same relative positions in every archive.\n');
  console.log('| damage | restore | restored byte for byte | written with wrong bytes | lost | archive bytes | damaged bytes |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const pct = ((100 * r.tally.identical) / total).toFixed(1);
    console.log(`| ${r.kind} | ${r.tool} | ${r.tally.identical} of ${total} (${pct}%) | ${r.tally.wrong} | ${r.tally.lost} | ${r.bytes} | ${r.damaged} |`);
  }
  console.log('');
  let met = true;
  for (const t of targets) {
    const ok = t.missed.length === 0 && t.wrongAmongAll === 0;
    met &&= ok;
    console.log(`xtar, ${t.kind}: ${t.whole} files have their blob wholly on undamaged bytes (catalog offsets); ${t.whole - t.missed.length} of them restored byte for byte, ${t.wrongAmongAll} files written wrong — target ${ok ? 'met' : 'NOT met'}${t.missed.length ? ` (missed: ${t.missed.slice(0, 5).join(', ')}${t.missed.length > 5 ? ', …' : ''})` : ''}.`);
  }
  process.exitCode = met ? 0 : 1;
}

await main();
