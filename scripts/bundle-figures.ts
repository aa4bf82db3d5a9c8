/**
 * `npm run bundle-figures -- CORPUS WORK [BURSTS] [SEED] [K,K,...]`: the trade-off of `pack --bundle` on
 * a tree of tiny files. Packs CORPUS plain and with --bundle-files K for each K (default 16; into WORK), and for each: set size per file
 * (archive and volume folder), pack and unpack CPU time (user+sys of the child, getrusage), and what
 * BURSTS bursts of 4 KiB of flipped bytes at seeded places in the archive cost (the same relative
 * places in both archives): files restored byte for byte, wrong, lost. Prints a Markdown table.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashes, stretches, tally } from './damage-count.js';
import { mulberry32 } from './prng.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const BURST = 4096;

/** Run the CLI; its exit status and its CPU time (user+sys) from /usr/bin/time. */
function timed(args: string[]): { status: number; cpu: number; stderr: string } {
  const r = spawnSync('/usr/bin/time', ['-f', 'XTARTIME %U %S', process.execPath, CLI, ...args], { encoding: 'utf8' });
  const m = /XTARTIME ([\d.]+) ([\d.]+)/.exec(r.stderr);
  return { status: r.status ?? -1, cpu: m ? Number(m[1]) + Number(m[2]) : NaN, stderr: r.stderr };
}

function folderBytes(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) n += statSync(join(dir, name)).size;
  return n;
}

const [corpusArg, workArg, burstsArg, seedArg, ksArg] = process.argv.slice(2);
if (corpusArg === undefined || workArg === undefined) {
  console.error('usage: bundle-figures CORPUS WORK [BURSTS=10] [SEED=21] [K,K,...=16]');
  process.exit(2);
}
const corpus = resolve(corpusArg);
const work = resolve(workArg);
const bursts = Number(burstsArg ?? 10);
const seed = Number(seedArg ?? 21);
const rand = mulberry32(seed);
const positions = Array.from({ length: bursts }, () => rand());
const original = hashes(corpus);
const root = corpus.split('/').pop() as string;
const rows: string[] = [];
const ks = (ksArg ?? '16').split(',').map(Number);
const runs: [string, string[]][] = [['one zip per file', []], ...ks.map((k): [string, string[]] => [`--bundle-files ${k}`, ['--bundle-files', String(k)]])];
for (const [label, extra] of runs) {
  const tag = extra.length === 0 ? 'plain' : `k${extra[1]}`;
  const set = join(work, `set-${tag}`);
  rmSync(set, { recursive: true, force: true });
  const p = timed(['pack', corpus, '--out', set, '-q', ...extra]);
  if (p.status !== 0) throw new Error(`pack failed: ${p.stderr}`);
  const vol = readdirSync(set).find((n) => n.includes('-vol')) as string;
  const archive = join(set, vol, `${vol}.xtar`);
  const archiveBytes = statSync(archive).size;
  const volumeBytes = folderBytes(join(set, vol));
  const dest = join(work, `out-${tag}`);
  rmSync(dest, { recursive: true, force: true });
  const u = timed(['unpack', set, '--dest', dest, '-q']);
  if (u.status !== 0) throw new Error(`unpack failed: ${u.stderr}`);
  rmSync(dest, { recursive: true, force: true });
  // The bursts: each byte of each stretch flipped (xor 0xff), in a copy of the set.
  const hurt = join(work, `hurt-${tag}`);
  rmSync(hurt, { recursive: true, force: true });
  cpSync(set, hurt, { recursive: true });
  const hurtArchive = join(hurt, vol, `${vol}.xtar`);
  const bytes = readFileSync(hurtArchive);
  const ranges = stretches(bytes.length, positions, BURST);
  for (const [a, b] of ranges) for (let i = a; i < b; i++) bytes[i] = (bytes[i] as number) ^ 0xff;
  writeFileSync(hurtArchive, bytes);
  const hd = join(work, `hurt-out-${tag}`);
  rmSync(hd, { recursive: true, force: true });
  const hu = timed(['unpack', hurt, '--dest', hd, '-q']);
  const t = tally(original, hashes(join(hd, root)));
  rmSync(hd, { recursive: true, force: true });
  rmSync(hurt, { recursive: true, force: true });
  const files = original.size;
  rows.push(
    `| ${label} | ${archiveBytes.toLocaleString('en')} B (${(archiveBytes / files).toFixed(0)} B/file) | ${volumeBytes.toLocaleString('en')} B (${(volumeBytes / files).toFixed(0)} B/file) | ${p.cpu.toFixed(2)} s | ${u.cpu.toFixed(2)} s | ${t.identical} / ${t.wrong} / ${t.lost} (exit ${hu.status}) |`,
  );
}
console.log(`${original.size} files of ${corpus}; ${bursts} bursts of ${BURST} B of flipped bytes, seed ${seed}\n`);
console.log('| packing | archive | volume folder | pack CPU | unpack CPU | after the bursts: restored / wrong / lost |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
