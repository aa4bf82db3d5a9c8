/** Many tiny files: the deterministic trees of `npm run memory-scaling` and bench's `million` corpus, and every xtar command run over one, timed with its peak RSS. */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { mulberry32 } from './prng.js';
import { fmtNum, freshDir, runTimed, type Log, type Measure } from './bench-lib.js';

/** Files per folder in every tiny tree: a million files make 10,000 folders. */
export const TINY_TREE_PER_FOLDER = 100;
const TINY_TREE_SEED = 21;
/** Bump when the recipe changes, so old trees are made again. */
const TINY_TREE_VERSION = 1;
const WORDS = 'alpha beta gamma delta mail note from to subject re fwd ok yes no inbox draft sent'.split(' ');

/** What a tree of `files` tiny files takes on a RAM disk: a 4 KiB page per file and its inode. */
export const treeBytesOnRamDisk = (files: number): number => files * 5 * 1024;

/** Folder d's name: d00000 … d09999. */
const folderName = (d: number): string => `d${String(d).padStart(5, '0')}`;

/**
 * A tree of `files` files of 8–63 bytes in files/100 folders, from one seeded stream: the same
 * bytes on every machine. A marker beside it (DIR.json) says it is finished, so it is made once.
 */
export async function ensureTinyTree(dir: string, files: number, log: Log): Promise<void> {
  const marker = `${dir}.json`;
  const want = { files, version: TINY_TREE_VERSION, seed: TINY_TREE_SEED };
  try {
    const got = JSON.parse(await readFile(marker, 'utf8')) as typeof want;
    if (got.files === files && got.version === TINY_TREE_VERSION && (await stat(dir)).isDirectory()) {
      log(`tree ${dir}: reusing (${files} files)`);
      return;
    }
  } catch {
    // not made yet
  }
  await rm(marker, { force: true });
  await freshDir(dir);
  const rand = mulberry32(TINY_TREE_SEED);
  const t0 = Date.now();
  for (let d = 0; d * TINY_TREE_PER_FOLDER < files; d++) {
    const folder = path.join(dir, folderName(d));
    await mkdir(folder);
    const n = Math.min(TINY_TREE_PER_FOLDER, files - d * TINY_TREE_PER_FOLDER);
    const writes: Promise<void>[] = [];
    for (let f = 0; f < n; f++) {
      const len = 8 + Math.floor(rand() * 56);
      let text = '';
      while (text.length < len) text += `${WORDS[Math.floor(rand() * WORDS.length)] ?? ''} `;
      writes.push(writeFile(path.join(folder, `m${String(f).padStart(3, '0')}.txt`), text.slice(0, len)));
    }
    await Promise.all(writes);
    if ((d + 1) % 1000 === 0) log(`tree ${dir}: ${(d + 1) * TINY_TREE_PER_FOLDER} files written`);
  }
  await writeFile(marker, `${JSON.stringify(want)}\n`);
  log(`tree ${dir}: ${files} files in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

/** The commands measured on a tiny tree, in the order they run (each needs the ones before). */
export const SCALE_OPS = [
  'pack',
  'verify',
  'unpack',
  'expand-structure',
  'list --files',
  'index rebuild',
  'incremental pack',
  'activity',
  'tar -czf',
  'tar -xzf',
] as const;
export type ScaleOp = (typeof SCALE_OPS)[number];

export interface ScaleResult {
  op: ScaleOp;
  code: number;
  m: Measure;
  stderr: string;
}

/**
 * Runs the chosen commands over `tree` with the xtar at `xtarMain`, in `work` (emptied first):
 * the set in work/set, the restore in work/dest. GNU time must be set (useTimeBinary).
 */
export async function measureTree(
  tree: string,
  work: string,
  xtarMain: string,
  ops: readonly ScaleOp[],
  log: Log,
): Promise<ScaleResult[]> {
  await freshDir(work);
  const set = path.join(work, 'set');
  const dest = path.join(work, 'dest');
  const tdest = path.join(work, 'tdest');
  const tgz = path.join(work, 'a.tar.gz');
  await mkdir(dest);
  await mkdir(tdest);
  const xtar = (...args: string[]): [string, string[]] => [process.execPath, [xtarMain, ...args]];
  const sh = (line: string): [string, string[]] => ['sh', ['-c', line]];
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const commands: Record<ScaleOp, [string, string[]]> = {
    pack: xtar('pack', tree, '--out', set, '--quiet', '--mode', 'full'),
    verify: xtar('verify', set, '--quiet'),
    unpack: xtar('unpack', set, '--dest', dest, '--quiet'),
    'expand-structure': xtar('expand-structure', set, '--dest', dest, '--quiet'),
    // The listing goes to /dev/null: the pipe would measure this script, not xtar.
    'list --files': sh(`exec ${q(process.execPath)} ${q(xtarMain)} list ${q(set)} --files > /dev/null`),
    'index rebuild': xtar('index', 'rebuild', set, '--quiet'),
    // Nothing changed since the pack: every file is compared with the index and none is stored.
    'incremental pack': xtar('pack', tree, '--out', set, '--quiet', '--mode', 'incremental'),
    activity: sh(`exec ${q(process.execPath)} ${q(xtarMain)} activity ${q(tree)} > /dev/null`),
    'tar -czf': ['tar', ['-czf', tgz, '-C', path.dirname(tree), path.basename(tree)]],
    'tar -xzf': ['tar', ['-xzf', tgz, '-C', tdest]],
  };
  const out: ScaleResult[] = [];
  for (const op of SCALE_OPS) {
    if (!ops.includes(op)) continue;
    if (op === 'tar -xzf' && !ops.includes('tar -czf')) continue;
    const [cmd, args] = commands[op];
    const r = await runTimed(cmd, args);
    // (A million tiny files restored take ~4 GiB of RAM disk, a page each: xtar's restore goes once
    // expand-structure, the last command to use it, is done; tar's before the next tree.)
    if (op === 'expand-structure') await rm(dest, { recursive: true, force: true });
    out.push({ op, code: r.code, m: r.m, stderr: r.stderr });
    const flag = r.code === 0 ? '' : `  EXIT ${r.code}: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`;
    log(
      `  ${op.padEnd(18)} ${fmtNum(r.m.wallS, 1).padStart(7)} s wall ${fmtNum(r.m.userS + r.m.sysS, 1).padStart(7)} s cpu ` +
        `${fmtNum(r.m.maxRssKiB / 1024, 1).padStart(7)} MiB peak${flag}`,
    );
  }
  // The restores are the biggest things on the RAM disk: gone before the next tree is measured.
  await rm(dest, { recursive: true, force: true });
  await rm(tdest, { recursive: true, force: true });
  return out;
}
