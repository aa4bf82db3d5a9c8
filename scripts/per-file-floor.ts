/**
 * `npm run per-file-floor -- CORPUS WORK [RUNS]`: how fast any Node program on this machine can do
 * only the per-file system calls xtar's pack and unpack must make, with nothing else — no archive, no
 * records, no checks — against `tar -czf` and `tar -xzf` on the same tree, interleaved, medians of
 * RUNS (default 3). It tells which of issue 17's targets for tiny files a Node archiver could reach
 * at all on this machine: a floor, not a design.
 *
 * Each floor is a whole process (`node THIS floor KIND LIST DEST`), timed from its start as tar is:
 * - `read`: what pack does to every file before compressing it: the main thread lists each folder
 *   (readdir with types), two worker threads lstat, open, read and close each file.
 * - `write-safe`: what unpack does to write a file and never leave it half written: the main thread
 *   makes each folder, two worker threads open a temporary name (O_EXCL|O_NOFOLLOW), write, set mode
 *   and times by descriptor, close and rename it into place.
 * - `write-plain`: tar's way: open the final name, write, close, set the times by path.
 *
 * The files' bytes for the write floors come from one file read whole (WORK/bytes), listed in
 * WORK/list.json: the floor is the file system calls and Node's cost of making them, not reading.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, fchmodSync, futimesSync, lstatSync, mkdirSync, openSync, constants, readdirSync, readFileSync, readSync, renameSync, rmSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, Worker, workerData, parentPort } from 'node:worker_threads';

const THIS = fileURLToPath(import.meta.url);
const THREADS = 2;

interface Listing {
  dirs: string[];
  /** Each file's path (relative) and its length in WORK/bytes, in order. */
  files: [string, number][];
}

type Kind = 'read' | 'write-safe' | 'write-plain';

/** The tree's folders and files, in the order a walk finds them; their bytes, one after the other. */
function listTree(root: string): { listing: Listing; bytes: Buffer } {
  const listing: Listing = { dirs: [], files: [] };
  const chunks: Buffer[] = [];
  const walk = (rel: string): void => {
    for (const d of readdirSync(join(root, rel), { withFileTypes: true })) {
      const r = rel === '' ? d.name : `${rel}/${d.name}`;
      if (d.isDirectory()) {
        listing.dirs.push(r);
        walk(r);
      } else if (d.isFile()) {
        const b = readFileSync(join(root, r));
        listing.files.push([r, b.length]);
        chunks.push(b);
      }
    }
  };
  walk('');
  return { listing, bytes: Buffer.concat(chunks) };
}

/** A worker's share: every THREADS-th file, from `first`. */
function workerMain(): void {
  const { kind, root, files, bytes, first, starts } = workerData as { kind: Kind; root: string; files: [string, number][]; bytes: Uint8Array; first: number; starts: number[] };
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const scratch = Buffer.allocUnsafe(1 << 20);
  const excl = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  for (let i = first; i < files.length; i += THREADS) {
    const [rel, len] = files[i] as [string, number];
    const abs = join(root, rel);
    if (kind === 'read') {
      lstatSync(abs, { bigint: true });
      const fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
      readSync(fd, scratch, 0, Math.min(len + 1, scratch.length), 0);
      closeSync(fd);
      continue;
    }
    const data = buf.subarray(starts[i] as number, (starts[i] as number) + len);
    if (kind === 'write-plain') {
      const fd = openSync(abs, 'w', 0o644);
      writeSync(fd, data);
      closeSync(fd);
      utimesSync(abs, 1e9, 1e9);
      continue;
    }
    const tmp = `${abs}.tmp${first}`;
    const fd = openSync(tmp, excl, 0o600);
    writeSync(fd, data);
    fchmodSync(fd, 0o644);
    futimesSync(fd, 1e9, 1e9);
    closeSync(fd);
    renameSync(tmp, abs);
  }
  parentPort?.postMessage('done');
}

/** One floor run, in this process (spawned and timed by the bench below). */
async function floorMain(kind: Kind, work: string, root: string): Promise<void> {
  const listing = JSON.parse(readFileSync(join(work, 'list.json'), 'utf8')) as Listing;
  const shared = new Uint8Array(new SharedArrayBuffer(kind === 'read' ? 0 : listing.files.reduce((n, [, l]) => n + l, 0)));
  if (kind !== 'read') {
    const fd = openSync(join(work, 'bytes'), 'r');
    readSync(fd, shared, 0, shared.length, 0);
    closeSync(fd);
  }
  const starts: number[] = [];
  let at = 0;
  for (const [, len] of listing.files) {
    starts.push(at);
    at += len;
  }
  const workers: Promise<void>[] = [];
  const spawnWorkers = (): void => {
    for (let t = 0; t < THREADS; t++) {
      const w = new Worker(THIS, { workerData: { kind, root, files: listing.files, bytes: shared, first: t, starts } });
      workers.push(new Promise((done, fail) => w.on('message', () => done()).on('error', fail)));
    }
  };
  if (kind === 'read') {
    // Pack lists each folder as it goes; the workers read what the listing found (the same files).
    spawnWorkers();
    const walk = (rel: string): void => {
      for (const d of readdirSync(join(root, rel), { withFileTypes: true })) if (d.isDirectory()) walk(rel === '' ? d.name : `${rel}/${d.name}`);
    };
    walk('');
  } else {
    // Folders first (unpack's main thread makes them before a file in them is written).
    mkdirSync(root, { recursive: true });
    for (const d of listing.dirs) mkdirSync(join(root, d));
    spawnWorkers();
  }
  await Promise.all(workers);
}

/** Wall seconds of a command, from /usr/bin/time. */
function wall(cmd: string, args: string[]): number {
  const r = spawnSync('/usr/bin/time', ['-f', 'FLOORTIME %e', cmd, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  const m = /FLOORTIME ([\d.]+)/.exec(r.stderr);
  return m ? Number(m[1]) : NaN;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function bench(corpus: string, work: string, runs: number): void {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const { listing, bytes } = listTree(corpus);
  writeFileSync(join(work, 'list.json'), JSON.stringify(listing));
  writeFileSync(join(work, 'bytes'), bytes);
  const tgz = join(work, 'tree.tgz');
  const out = join(work, 'out');
  const times = new Map<string, number[]>();
  const note = (k: string, s: number): void => void times.set(k, [...(times.get(k) ?? []), s]);
  for (let run = 0; run < runs; run++) {
    note('tar -czf', wall('tar', ['-czf', tgz, '-C', corpus, '.']));
    note('floor: read', wall(process.execPath, [THIS, 'floor', 'read', work, corpus]));
    for (const kind of ['write-safe', 'write-plain'] as const) {
      rmSync(out, { recursive: true, force: true });
      note(`floor: ${kind}`, wall(process.execPath, [THIS, 'floor', kind, work, out]));
    }
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out);
    note('tar -xzf', wall('tar', ['-xzf', tgz, '-C', out]));
  }
  rmSync(out, { recursive: true, force: true });
  const czf = median(times.get('tar -czf') ?? []);
  const xzf = median(times.get('tar -xzf') ?? []);
  console.log(`${listing.files.length} files in ${listing.dirs.length} folders, ${runs} interleaved runs, medians (wall):`);
  console.log('| | wall | against tar |');
  console.log('|---|---|---|');
  for (const [k, v] of times) {
    const m = median(v);
    const anchor = k === 'floor: read' || k === 'tar -czf' ? `${(m / czf).toFixed(2)}× tar -czf` : `${(m / xzf).toFixed(2)}× tar -xzf`;
    console.log(`| ${k} | ${m.toFixed(2)} s | ${anchor} |`);
  }
}

if (!isMainThread) workerMain();
else {
  const [mode, a, b, c] = process.argv.slice(2);
  if (mode === 'floor' && a !== undefined && b !== undefined && c !== undefined) await floorMain(a as Kind, resolve(b), resolve(c));
  else if (mode !== undefined && a !== undefined) bench(resolve(mode), resolve(a), Number(b ?? 3));
  else {
    console.error('usage: per-file-floor CORPUS WORK [RUNS=3]');
    process.exit(2);
  }
}
