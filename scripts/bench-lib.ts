/** Helpers for the xtar benchmark: measured child processes, the corpora built from this machine's own files, and checks that a restored tree matches its source. */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync } from 'node:fs';
import { access, constants, copyFile, lstat, mkdir, open, readdir, readFile, readlink, rm, statfs, writeFile, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { mulberry32 } from './prng.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

export type Log = (line: string) => void;

// ---------------------------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------------------------

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the child after this many seconds (default: 3 hours). */
  timeoutS?: number;
}

/** Keeps the first `limit` bytes of a stream, dropping the rest. */
class Capture {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}
  add(b: Buffer): void {
    if (this.size >= this.limit) return;
    this.chunks.push(b);
    this.size += b.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).subarray(0, this.limit).toString('utf8');
  }
}

function exitCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0);
}

/** Runs a command to its end, keeping the start of its stdout and stderr. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: (opts.timeoutS ?? 3 * 3600) * 1000,
    });
    const out = new Capture(4 * MiB);
    const err = new Capture(64 * KiB);
    child.stdout.on('data', (b: Buffer) => out.add(b));
    child.stderr.on('data', (b: Buffer) => err.add(b));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: exitCode(code, signal), stdout: out.text(), stderr: err.text() }));
  });
}

/** What one measured command cost. CPU and RSS are NaN when GNU time is not available. */
export interface Measure {
  wallS: number;
  userS: number;
  sysS: number;
  /** Peak resident set of the child or of its largest waited-for descendant, in KiB. */
  maxRssKiB: number;
  /** Bytes the kernel charged to the child and its descendants as written (ru_oublock × 512). */
  writtenBytes: number;
  /** CPU seconds the machine spent meanwhile on other user processes (kernel threads such as writeback not counted). */
  otherCpuS: number;
}

export interface TimedResult extends RunResult {
  m: Measure;
}

/** %e wall, %U user, %S sys, %M peak RSS in KiB, %O file system outputs in 512-byte blocks. */
const TIME_FORMAT = '%e %U %S %M %O';
let timeBinary: string | undefined;
let timedSeq = 0;

/** Tells runTimed where GNU time is (undefined: measure wall time only). */
export function useTimeBinary(bin: string | undefined): void {
  timeBinary = bin;
}

/** CPU seconds all cores have spent busy since boot. */
function machineBusyS(): number {
  return os.cpus().reduce((s, c) => s + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0) / 1000;
}

/** CPU seconds used so far by kernel threads (writeback, journal, ...), which a command's own writes keep busy. */
async function kernelThreadsCpuS(): Promise<number> {
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((n) => /^\d+$/.test(n));
  let ticks = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (pid !== '2' && f[1] !== '2') continue;
    ticks += Number(f[11] ?? 0) + Number(f[12] ?? 0);
  }
  return ticks / 100;
}

function parseTimeOutput(text: string): Omit<Measure, 'wallS' | 'otherCpuS'> {
  const last = text.trim().split('\n').pop() ?? '';
  const [, user, sys, rss, blocks] = last.trim().split(/\s+/).map(Number);
  const num = (x: number | undefined): number => (x === undefined || !Number.isFinite(x) ? Number.NaN : x);
  return { userS: num(user), sysS: num(sys), maxRssKiB: num(rss), writtenBytes: num(blocks) * 512 };
}

/** Runs a command under GNU time (when known), timing wall clock here with a monotonic clock. */
export async function runTimed(cmd: string, args: string[], opts: RunOptions = {}): Promise<TimedResult> {
  const statsFile = path.join(os.tmpdir(), `xtar-bench-time-${process.pid}-${timedSeq++}.txt`);
  const [bin, binArgs] = timeBinary ? [timeBinary, ['-f', TIME_FORMAT, '-o', statsFile, '--', cmd, ...args]] : [cmd, args];
  const [busy0, kernel0] = [machineBusyS(), await kernelThreadsCpuS()];
  const t0 = process.hrtime.bigint();
  const r = await run(bin, binArgs, opts);
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const busyS = machineBusyS() - busy0 - ((await kernelThreadsCpuS()) - kernel0);
  if (!timeBinary) return { ...r, m: { wallS, userS: Number.NaN, sysS: Number.NaN, maxRssKiB: Number.NaN, writtenBytes: Number.NaN, otherCpuS: Number.NaN } };
  const stats = await readFile(statsFile, 'utf8').catch(() => '');
  await rm(statsFile, { force: true });
  const m = parseTimeOutput(stats);
  return { ...r, m: { wallS, ...m, otherCpuS: Math.max(0, busyS - m.userS - m.sysS) } };
}

/** The full path of an executable on PATH, if any. */
export async function which(cmd: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface Needed {
  cmd: string;
  pkg: string;
}

/** Installs the Debian packages of missing commands (as root, apt-get update once first); returns the commands now available. */
export async function ensureCommands(needed: Needed[], log: Log): Promise<Set<string>> {
  const have = new Set<string>();
  for (const n of needed) if (await which(n.cmd)) have.add(n.cmd);
  const missing = needed.filter((n) => !have.has(n.cmd));
  if (missing.length === 0) return have;
  const pkgs = [...new Set(missing.map((n) => n.pkg))];
  if (process.getuid?.() !== 0 || !(await which('apt-get'))) {
    log(`missing ${missing.map((n) => n.cmd).join(', ')}; not root or no apt-get, so not installing (${pkgs.join(' ')})`);
    return have;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`installing ${pkgs.join(' ')} with apt-get ...`);
  const upd = await run('apt-get', ['update', '-qq'], { env, timeoutS: 600 });
  if (upd.code !== 0) log(`apt-get update failed (${upd.code}): ${firstLine(upd.stderr)}`);
  for (const pkg of pkgs) {
    const r = await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { env, timeoutS: 900 });
    if (r.code !== 0) log(`apt-get install ${pkg} failed (${r.code}): ${firstLine(r.stderr)}`);
  }
  for (const n of missing) if (await which(n.cmd)) have.add(n.cmd);
  return have;
}

export function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
}

/** The first line (or the first matching `pick`) that `cmd args` prints on stdout or stderr (for tool versions). */
export async function versionLine(cmd: string, args: string[], pick?: RegExp): Promise<string> {
  try {
    const r = await run(cmd, args, { timeoutS: 30 });
    const picked = pick ? `${r.stdout}\n${r.stderr}`.split('\n').find((l) => pick.test(l)) : undefined;
    return picked?.trim() ?? (firstLine(r.stdout) || firstLine(r.stderr));
  } catch {
    return '?';
  }
}

/** Flushes dirty pages so one measured command does not pay for the previous one's writeback. */
export async function syncDisks(): Promise<void> {
  await run('sync', []);
}

/** Reads every byte of a tree once (tar into a pipe; GNU tar skips reading when writing to /dev/null). */
export async function warmUp(dir: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('tar', ['-cf', '-', '-C', path.dirname(dir), path.basename(dir)], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', () => resolve());
  });
}

// ---------------------------------------------------------------------------------------------
// File system
// ---------------------------------------------------------------------------------------------

export type Kind = 'file' | 'dir' | 'symlink' | 'other';

export interface Entry {
  rel: string;
  kind: Kind;
  size: number;
  ino: number;
}

function kindOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): Kind {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

/** Every node below root (not root itself), depth first, names sorted; symlinks are not followed. */
export async function walkTree(root: string): Promise<Entry[]> {
  const out: Entry[] = [];
  const stack: string[] = [''];
  while (stack.length > 0) {
    const rel = stack.pop() ?? '';
    const names = (await readdir(path.join(root, rel))).sort().reverse();
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(path.join(root, r));
      const kind = kindOf(st);
      out.push({ rel: r, kind, size: kind === 'file' ? st.size : 0, ino: st.ino });
      if (kind === 'dir') stack.push(r);
    }
  }
  return out;
}

/** Total size of the regular files below root (0 if it does not exist). */
export async function treeBytes(root: string): Promise<number> {
  try {
    const entries = await walkTree(root);
    return entries.reduce((sum, e) => sum + e.size, 0);
  } catch {
    return 0;
  }
}

export async function freeBytes(dir: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

export async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Microseconds per file to create `n` empty files in a new folder `dir` (kept: deleting them would
 * itself slow later creations). Shows the state of the file system a restore is about to write to:
 * on ext4 without a journal, creating files near many recently deleted ones costs 10–20× more
 * kernel time (find_inode_bit → recently_deleted), for minutes.
 */
export async function probeCreates(dir: string, n = 2000): Promise<number> {
  await mkdir(dir, { recursive: true });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) closeSync(openSync(path.join(dir, `p${i}`), 'wx'));
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

/** Recreates dir empty. */
export async function freshDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Checking a restored tree
// ---------------------------------------------------------------------------------------------

export interface TreeCheck {
  ok: boolean;
  files: number;
  hashed: number;
  problems: string[];
}

/** Up to n regular files spread evenly over the sorted list, plus the largest one. */
function sampleFiles(entries: Entry[], n: number): Entry[] {
  const files = entries.filter((e) => e.kind === 'file');
  const step = Math.max(1, Math.floor(files.length / n));
  const picked = files.filter((_, i) => i % step === 0).slice(0, n);
  const largest = files.reduce<Entry | undefined>((a, e) => (a === undefined || e.size > a.size ? e : a), undefined);
  if (largest && !picked.includes(largest)) picked.push(largest);
  return picked;
}

function compareListings(src: Entry[], got: Entry[]): string[] {
  const problems: string[] = [];
  const byRel = new Map(got.map((e) => [e.rel, e]));
  for (const e of src) {
    const g = byRel.get(e.rel);
    if (!g) problems.push(`missing ${e.rel}`);
    else if (g.kind !== e.kind) problems.push(`${e.rel}: ${e.kind} restored as ${g.kind}`);
    else if (g.size !== e.size) problems.push(`${e.rel}: ${e.size} bytes restored as ${g.size}`);
    byRel.delete(e.rel);
  }
  for (const rel of byRel.keys()) problems.push(`unexpected ${rel}`);
  return problems;
}

async function compareSymlinks(src: string, restored: string, entries: Entry[]): Promise<string[]> {
  const problems: string[] = [];
  for (const e of entries.filter((x) => x.kind === 'symlink')) {
    const [a, b] = await Promise.all([readlink(path.join(src, e.rel)), readlink(path.join(restored, e.rel)).catch(() => '?')]);
    if (a !== b) problems.push(`${e.rel}: link to ${a} restored as link to ${b}`);
  }
  return problems;
}

async function compareHashes(src: string, restored: string, sample: Entry[]): Promise<string[]> {
  const problems: string[] = [];
  for (const e of sample) {
    const [a, b] = await Promise.all([sha256File(path.join(src, e.rel)), sha256File(path.join(restored, e.rel)).catch(() => '?')]);
    if (a !== b) problems.push(`${e.rel}: content differs (sha256)`);
  }
  return problems;
}

async function diffTrees(src: string, restored: string): Promise<string[]> {
  const r = await run('diff', ['-r', '-q', '--no-dereference', src, restored]);
  if (r.code === 0) return [];
  return [`diff -r: ${firstLine(r.stdout) || firstLine(r.stderr) || `exit ${r.code}`}`];
}

/**
 * Checks a restored tree against its source: the same paths, kinds, file sizes and link targets,
 * the same sha256 for `hashes` files spread over the tree plus the largest (none if 0), and with
 * `diff` set, a byte-for-byte `diff -r`.
 */
export async function compareTrees(src: string, restored: string, opts: { diff: boolean; hashes: number }): Promise<TreeCheck> {
  if (!(await exists(restored))) return { ok: false, files: 0, hashed: 0, problems: [`${restored} was not created`] };
  const [want, got] = await Promise.all([walkTree(src), walkTree(restored)]);
  const sample = opts.hashes > 0 ? sampleFiles(want, opts.hashes) : [];
  const problems = [...compareListings(want, got)];
  if (problems.length === 0) problems.push(...(await compareSymlinks(src, restored, want)));
  if (problems.length === 0) problems.push(...(await compareHashes(src, restored, sample)));
  if (problems.length === 0 && opts.diff) problems.push(...(await diffTrees(src, restored)));
  const files = got.filter((e) => e.kind === 'file').length;
  return { ok: problems.length === 0, files, hashed: sample.length, problems: problems.slice(0, 5) };
}

// ---------------------------------------------------------------------------------------------
// Corpora
// ---------------------------------------------------------------------------------------------

export const CORPUS_NAMES = ['small', 'tiny', 'mixed', 'huge', 'synth-100k', 'synth-200k'] as const;
export type CorpusName = (typeof CORPUS_NAMES)[number];

/** Bump when a corpus recipe changes, so old copies are rebuilt. */
const CORPUS_VERSION = 1;

export interface CorpusInfo {
  name: CorpusName;
  dir: string;
  files: number;
  dirs: number;
  bytes: number;
  sources: string[];
  builtAt: string;
  buildSeconds: number;
  version: number;
}

function isCorpusInfo(x: unknown): x is CorpusInfo {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Record<string, unknown>;
  return typeof r.dir === 'string' && typeof r.files === 'number' && typeof r.bytes === 'number' && r.version === CORPUS_VERSION;
}

export function corpusDir(work: string, name: CorpusName): string {
  return path.join(work, 'corpora', name);
}

function markerPath(work: string, name: CorpusName): string {
  return path.join(work, 'corpora', `${name}.json`);
}

/** The marker of a finished build of this corpus, if there is one and it is current. */
export async function builtCorpus(work: string, name: CorpusName): Promise<CorpusInfo | undefined> {
  try {
    const info: unknown = JSON.parse(await readFile(markerPath(work, name), 'utf8'));
    return isCorpusInfo(info) && (await exists(info.dir)) ? info : undefined;
  } catch {
    return undefined;
  }
}

/** Builds the corpus unless a finished build is there already. */
export async function ensureCorpus(work: string, name: CorpusName, log: Log): Promise<CorpusInfo> {
  const ready = await builtCorpus(work, name);
  if (ready) {
    log(`corpus ${name}: reusing ${ready.dir} (${ready.files} files, ${fmtBytes(ready.bytes)})`);
    return ready;
  }
  const dir = corpusDir(work, name);
  log(`corpus ${name}: building in ${dir} ...`);
  await freshDir(dir);
  const t0 = Date.now();
  const sources = await BUILDERS[name](dir, log);
  const entries = await walkTree(dir);
  const info: CorpusInfo = {
    name,
    dir,
    files: entries.filter((e) => e.kind === 'file').length,
    dirs: entries.filter((e) => e.kind === 'dir').length,
    bytes: entries.reduce((s, e) => s + e.size, 0),
    sources,
    builtAt: new Date().toISOString(),
    buildSeconds: (Date.now() - t0) / 1000,
    version: CORPUS_VERSION,
  };
  await writeFile(markerPath(work, name), `${JSON.stringify(info, null, 2)}\n`);
  log(`corpus ${name}: ${info.files} files, ${info.dirs} folders, ${fmtBytes(info.bytes)} in ${info.buildSeconds.toFixed(0)} s`);
  return info;
}

type Builder = (dir: string, log: Log) => Promise<string[]>;

const BUILDERS: Record<CorpusName, Builder> = {
  small: buildSmall,
  tiny: buildTiny,
  mixed: buildMixed,
  huge: buildHuge,
  'synth-100k': (dir, log) => buildSynth(dir, 100_000, log),
  'synth-200k': (dir, log) => buildSynth(dir, 200_000, log),
};

/** Regular files below root (not following symlinks), sorted by path, each inode once. */
async function regularFiles(root: string): Promise<{ abs: string; rel: string; size: number }[]> {
  if (!(await exists(root))) return [];
  const entries = await walkTree(root);
  const out: { abs: string; rel: string; size: number }[] = [];
  const seen = new Set<number>();
  for (const e of entries) {
    if (e.kind !== 'file' || seen.has(e.ino)) continue;
    seen.add(e.ino);
    out.push({ abs: path.join(root, e.rel), rel: e.rel, size: e.size });
  }
  return out;
}

/** Takes every k-th candidate, k chosen so the picks spread over the whole list and stay within budget. */
export function pickSpread<T extends { size: number }>(cands: T[], budget: number): T[] {
  const total = cands.reduce((s, c) => s + c.size, 0);
  const step = Math.max(1, Math.floor(total / budget));
  const picked: T[] = [];
  let used = 0;
  for (let i = 0; i < cands.length; i += step) {
    const c = cands[i];
    if (c === undefined || used + c.size > budget) continue;
    picked.push(c);
    used += c.size;
  }
  return picked;
}

/** The newest /usr/lib/python3.N folder, if any. */
async function pythonLibDir(): Promise<string | undefined> {
  const names = await readdir('/usr/lib').catch(() => [] as string[]);
  const pys = names.filter((n) => /^python3\.\d+$/.test(n)).sort((a, b) => Number(a.slice(8)) - Number(b.slice(8)));
  const last = pys.pop();
  return last ? path.join('/usr/lib', last) : undefined;
}

async function smallSources(): Promise<string[]> {
  const nodeLib = path.resolve(path.dirname(process.execPath), '../lib/node_modules');
  const repoModules = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../node_modules');
  const py = await pythonLibDir();
  const cands = ['/usr/include', ...(py ? [py] : []), '/usr/lib/python3', nodeLib, repoModules, '/usr/share/perl5'];
  const out: string[] = [];
  for (const c of cands) if (await exists(c)) out.push(c);
  return out;
}

/** SMALL: copies (cp -a) of /usr/include, then library trees, until there are at least 10,000 files. */
async function buildSmall(dir: string, log: Log): Promise<string[]> {
  const used: string[] = [];
  let files = 0;
  for (const src of await smallSources()) {
    if (files >= 10_000) break;
    const dest = path.join(dir, `${used.length}-${path.basename(src)}`);
    const r = await run('cp', ['-a', src, dest]);
    if (r.code !== 0) throw new Error(`cp -a ${src} failed: ${firstLine(r.stderr)}`);
    used.push(src);
    files = (await walkTree(dir)).filter((e) => e.kind === 'file').length;
  }
  if (files < 10_000) log(`corpus small: only ${files} files found in ${used.join(', ')}`);
  return used;
}

interface Bucket {
  name: string;
  root: string;
  minSize: number;
  maxSize: number;
  budget: number;
  match?: RegExp;
}

/** MIXED: documentation (many .gz), big binaries of tens of MB, already-compressed files, and mid-sized libraries. */
const MIXED_BUCKETS: Bucket[] = [
  { name: 'doc', root: '/usr/share/doc', minSize: 0, maxSize: 64 * MiB, budget: 120 * MiB },
  { name: 'big', root: '/usr/lib', minSize: 8 * MiB, maxSize: 64 * MiB, budget: 180 * MiB },
  { name: 'packed', root: '/usr/lib', minSize: 256 * KiB, maxSize: 64 * MiB, budget: 60 * MiB, match: /\.(gz|xz|bz2|zst|zip|jar|jmod|png|jpe?g)$/i },
  { name: 'lib', root: '/usr/lib', minSize: 16 * KiB, maxSize: 8 * MiB, budget: 80 * MiB },
];

async function copyInto(dir: string, files: { abs: string; rel: string }[]): Promise<void> {
  for (const f of files) {
    const dest = path.join(dir, f.rel);
    await mkdir(path.dirname(dest), { recursive: true });
    await copyFile(f.abs, dest);
  }
}

async function buildMixed(dir: string, log: Log): Promise<string[]> {
  const taken = new Set<string>();
  const listings = new Map<string, { abs: string; rel: string; size: number }[]>();
  for (const b of MIXED_BUCKETS) {
    const all = listings.get(b.root) ?? (await regularFiles(b.root));
    listings.set(b.root, all);
    const fits = (f: { abs: string; rel: string; size: number }): boolean =>
      f.size >= b.minSize && f.size <= b.maxSize && !taken.has(f.abs) && (!b.match || b.match.test(f.rel));
    const picked = pickSpread(all.filter(fits), b.budget);
    for (const p of picked) taken.add(p.abs);
    await copyInto(path.join(dir, b.name), picked);
    log(`corpus mixed: ${b.name}: ${picked.length} files, ${fmtBytes(picked.reduce((s, p) => s + p.size, 0))} from ${b.root}`);
  }
  return MIXED_BUCKETS.map((b) => `${b.root} (${b.name})`);
}

export const HUGE_BYTES = 2 * GiB;

/** HUGE: one 2 GiB file, the regular files of /usr/lib concatenated in path order (repeated if needed). */
async function buildHuge(dir: string, log: Log): Promise<string[]> {
  const files = (await regularFiles('/usr/lib')).filter((f) => f.size >= 4 * KiB && f.size <= 256 * MiB);
  if (files.length === 0) throw new Error('no files in /usr/lib to build the huge corpus from');
  const out = await open(path.join(dir, 'huge.bin'), 'w');
  let written = 0;
  try {
    for (let i = 0; written < HUGE_BYTES; i = (i + 1) % files.length) {
      const f = files[i];
      if (!f) break;
      written += await appendFile(out, f.abs, Math.min(f.size, HUGE_BYTES - written));
    }
  } finally {
    await out.close();
  }
  log(`corpus huge: ${fmtBytes(written)} from ${files.length} files of /usr/lib`);
  return ['/usr/lib'];
}

/** Appends the first `bytes` bytes of file to out; returns how many it appended. */
async function appendFile(out: FileHandle, file: string, bytes: number): Promise<number> {
  let done = 0;
  if (bytes <= 0) return done;
  for await (const chunk of createReadStream(file, { start: 0, end: bytes - 1, highWaterMark: MiB })) {
    const b = chunk as Buffer;
    await out.write(b);
    done += b.length;
  }
  return done;
}

// ---------------------------------------------------------------------------------------------
// The synthetic tree: deterministic, seeded, text-like content
// ---------------------------------------------------------------------------------------------

export const SYNTH_SEED = 0x2026_0a7e;

export { mulberry32 };

/** Mixes two 32-bit numbers into a seed, so file i's content depends only on i. */
function mix32(a: number, b: number): number {
  let h = Math.imul(a ^ Math.imul(b, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

type Style = 'prose' | 'log' | 'csv' | 'code';
const STYLES: { style: Style; ext: string; weight: number }[] = [
  { style: 'prose', ext: '.txt', weight: 0.35 },
  { style: 'code', ext: '.c', weight: 0.3 },
  { style: 'log', ext: '.log', weight: 0.2 },
  { style: 'csv', ext: '.csv', weight: 0.15 },
];

export interface SynthFile {
  rel: string;
  size: number;
  style: Style;
  seed: number;
}

const FILES_PER_DIR = 64;
const DIRS_PER_TOP = 50;

/** Log-uniform integer in [lo, hi). */
function logUniform(r: number, lo: number, hi: number): number {
  return Math.floor(lo * Math.pow(hi / lo, r));
}

/** Mostly 0.5–16 KiB, some 16–64 KiB, a few up to 256 KiB, 1.5% empty. */
function synthSize(rand: () => number): number {
  const c = rand();
  const r = rand();
  if (c < 0.015) return 0;
  if (c < 0.915) return logUniform(r, 512, 16 * KiB);
  if (c < 0.995) return logUniform(r, 16 * KiB, 64 * KiB);
  return logUniform(r, 64 * KiB, 256 * KiB);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** File i of the synthetic tree; files 0..N-1 form the N-file tree, so 100k is the first half of 200k. */
export function synthFile(i: number): SynthFile {
  const seed = mix32(SYNTH_SEED, i);
  const rand = mulberry32(seed);
  const size = synthSize(rand);
  const pick = rand();
  let acc = 0;
  const st = STYLES.find((s) => (acc += s.weight) > pick) ?? STYLES[0];
  const leaf = Math.floor(i / FILES_PER_DIR);
  const rel = `t${pad(Math.floor(leaf / DIRS_PER_TOP), 3)}/d${pad(leaf, 5)}/f${pad(i, 6)}${st?.ext ?? '.txt'}`;
  return { rel, size, style: st?.style ?? 'prose', seed };
}

/** The vocabulary and line pools every synthetic file draws from (built once, from the seed). */
class TextPools {
  private readonly words: string[];
  readonly lines: Record<Style, Buffer[]>;

  constructor(seed: number) {
    const rand = mulberry32(seed);
    this.words = Array.from({ length: 3000 }, () => TextPools.word(rand));
    this.lines = {
      prose: this.pool(() => this.proseLine(rand)),
      code: this.pool(() => this.codeLine(rand)),
      log: this.pool(() => this.logLine(rand)),
      csv: this.pool(() => this.csvLine(rand)),
    };
  }

  private static word(rand: () => number): string {
    const letters = 'etaoinshrdlcumwfgypbvkjxqz';
    const len = 2 + Math.floor(rand() * rand() * 10);
    let w = '';
    for (let i = 0; i < len; i++) w += letters[Math.floor(rand() * rand() * letters.length)] ?? 'e';
    return w;
  }

  /** Zipf-like: low indices are much more frequent. */
  private w(rand: () => number): string {
    return this.words[Math.floor(this.words.length * Math.pow(rand(), 3))] ?? 'the';
  }

  private pool(make: () => string): Buffer[] {
    return Array.from({ length: 20_000 }, () => Buffer.from(`${make()}\n`));
  }

  private proseLine(rand: () => number): string {
    const n = 6 + Math.floor(rand() * 10);
    const ws = Array.from({ length: n }, () => this.w(rand));
    const s = ws.join(' ');
    return `${s.charAt(0).toUpperCase()}${s.slice(1)}${rand() < 0.6 ? '.' : ','}`;
  }

  private codeLine(rand: () => number): string {
    const indent = '    '.repeat(Math.floor(rand() * 4));
    const r = rand();
    if (r < 0.3) return `${indent}${this.w(rand)}_${this.w(rand)} = ${this.w(rand)}(${this.w(rand)}, ${Math.floor(rand() * 1000)});`;
    if (r < 0.5) return `${indent}if (${this.w(rand)} != NULL && ${this.w(rand)}->${this.w(rand)} > ${Math.floor(rand() * 64)}) {`;
    if (r < 0.65) return `${indent}}`;
    if (r < 0.8) return `${indent}/* ${this.proseLine(rand)} */`;
    return `${indent}return ${this.w(rand)}_${this.w(rand)}(${this.w(rand)});`;
  }

  private logLine(rand: () => number): string {
    const t = new Date(Date.UTC(2026, 0, 1) + Math.floor(rand() * 86_400_000 * 30)).toISOString();
    const level = rand() < 0.8 ? 'INFO' : rand() < 0.7 ? 'WARN' : 'ERROR';
    return `${t} ${level} ${this.w(rand)}-${Math.floor(rand() * 16)} ${this.w(rand)} ${this.w(rand)} path=/${this.w(rand)}/${this.w(rand)} status=${rand() < 0.9 ? 200 : 404} ms=${Math.floor(rand() * rand() * 2000)}`;
  }

  private csvLine(rand: () => number): string {
    return `${Math.floor(rand() * 1e6)},${this.w(rand)},${this.w(rand)},${(rand() * 1000).toFixed(3)},${Math.floor(rand() * 100)}`;
  }

  /** The content of one file: lines from its style's pool, skewed so some lines repeat, cut to size. */
  content(f: SynthFile): Buffer {
    const buf = Buffer.allocUnsafe(f.size);
    const rand = mulberry32(f.seed ^ 0x5bd1e995);
    const pool = this.lines[f.style];
    let at = 0;
    while (at < f.size) {
      const line = pool[Math.floor(pool.length * Math.pow(rand(), 2))] ?? Buffer.from('\n');
      at += line.copy(buf, at, 0, Math.min(line.length, f.size - at));
    }
    return buf;
  }
}

/** Runs fn over items with at most `limit` in flight. */
async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await fn(item);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/** TINY's shape: 500 folders of 100 files each, 14–30 bytes of words (a mail folder, a source tree's small files). */
export const TINY_FOLDERS = 500;
export const TINY_PER_FOLDER = 100;
const TINY_SEED = 7;
const TINY_WORDS = 'alpha beta gamma delta mail note from to subject re fwd ok yes no'.split(' ');

/** The name and content of TINY's file `f` of folder `d`, from one seeded stream (call in order). */
export function tinyFile(rand: () => number, d: number, f: number): { rel: string; text: string } {
  const n = 14 + Math.floor(rand() * 17);
  let text = '';
  while (text.length < n) text += `${TINY_WORDS[Math.floor(rand() * TINY_WORDS.length)] ?? ''} `;
  return { rel: `d${String(d).padStart(3, '0')}/m${String(f).padStart(3, '0')}.txt`, text: text.slice(0, n) };
}

/** Where per-file cost is everything: 50,000 files of under 32 bytes in 500 folders. */
async function buildTiny(dir: string): Promise<string[]> {
  const rand = mulberry32(TINY_SEED);
  for (let d = 0; d < TINY_FOLDERS; d++) {
    await mkdir(path.join(dir, `d${String(d).padStart(3, '0')}`));
    const files = Array.from({ length: TINY_PER_FOLDER }, (_, f) => tinyFile(rand, d, f));
    await Promise.all(files.map((t) => writeFile(path.join(dir, t.rel), t.text)));
  }
  return [`synthetic, seed ${TINY_SEED}: ${TINY_FOLDERS} folders × ${TINY_PER_FOLDER} files of 14–30 bytes`];
}

async function buildSynth(dir: string, count: number, log: Log): Promise<string[]> {
  const pools = new TextPools(SYNTH_SEED);
  const files = Array.from({ length: count }, (_, i) => synthFile(i));
  const dirs = [...new Set(files.map((f) => path.dirname(f.rel)))];
  for (const d of dirs) await mkdir(path.join(dir, d), { recursive: true });
  let done = 0;
  await forEachLimit(files, 32, async (f) => {
    await writeFile(path.join(dir, f.rel), pools.content(f));
    if (++done % 50_000 === 0) log(`corpus synth: ${done}/${count} files written`);
  });
  return [`synthetic, seed 0x${SYNTH_SEED.toString(16)}, files 0..${count - 1}`];
}

// ---------------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------------

/** Median of the finite values (NaN if none). */
export function median(xs: number[]): number {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? (v[mid] ?? Number.NaN) : ((v[mid - 1] ?? 0) + (v[mid] ?? 0)) / 2;
}

export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  if (n >= GiB) return `${(n / GiB).toFixed(2)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (n >= KiB) return `${(n / KiB).toFixed(1)} KiB`;
  return `${n} B`;
}

export function fmtNum(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}
