/** `npm run bench`: times xtar pack, verify and unpack against tar, pigz, zip and dar on corpora built from this machine's own files, prints xtar/other ratios and writes bench/RESULTS.md. */
import { copyFile, cp, mkdir, readFile, rename, rm, statfs, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  CORPUS_NAMES,
  GiB,
  HUGE_BYTES,
  KiB,
  builtCorpus,
  compareTrees,
  ensureCommands,
  ensureCorpus,
  exists,
  firstLine,
  fmtBytes,
  fmtNum,
  freeBytes,
  freshDir,
  probeCreates,
  median,
  run,
  runTimed,
  syncDisks,
  treeBytes,
  useTimeBinary,
  versionLine,
  warmUp,
  which,
  type CorpusInfo,
  type CorpusName,
  type Log,
  type Needed,
  type TimedResult,
} from './bench-lib.js';
import { SCALE_OPS, ensureTinyTree, measureTree, treeBytesOnRamDisk, type ScaleResult } from './scale-lib.js';

/** dist/ (this file is dist/scripts/bench.js) and the repository above it. */
const DIST_ROOT = fileURLToPath(new URL('../', import.meta.url));
const REPO = path.resolve(DIST_ROOT, '..');
const BUILT_XTAR = path.join(DIST_ROOT, 'src/cli/main.js');
const BENCH_DIR = path.join(REPO, 'bench');
const STORE_FILE = path.join(BENCH_DIR, 'results.json');
/** --ram's work folder: on Linux's RAM disk. */
const RAM_WORK = '/dev/shm/xtar-bench';
/** statfs's type of a tmpfs (linux/magic.h TMPFS_MAGIC). */
const TMPFS_MAGIC = 0x01021994;
const RESULTS_MD = path.join(BENCH_DIR, 'RESULTS.md');

const USAGE = `usage: npm run bench -- [--corpus LIST] [--runs N] [--tries N] [--work DIR | --ram] [--tools LIST] [--quick | --build-only | --render]

  --corpus LIST  comma-separated: ${CORPUS_NAMES.join(', ')}, synth (both synth trees), all (default),
                 million (not in all: 500,000 and 1,000,000 files of under 64 bytes in 100-file folders,
                 every xtar command's time and peak RSS beside tar -czf/-xzf; writes bench/MILLION.md)
  --runs N       timed runs per tool and corpus, interleaved; the median is reported (default 3)
  --tries N      run a command up to N times in all while other processes use the CPU meanwhile
                 (more than 0.15 core on average); the last try is kept and flagged (default 3)
  --work DIR     where corpora, archives and restores live (default /tmp/xtar-bench)
  --ram          work in ${RAM_WORK} (a RAM disk): this machine's disk slows file creation for
                 minutes after a big tree is deleted, which makes disk figures drift between runs
  --tools LIST   comma-separated subset of: xtar, xtar-bundle (pack --bundle), tar-gz, pigz, zip, dar
                 (default: all but xtar-bundle)
  --quick        SMALL only, 1 run, a sanity check: prints, and writes DIR/RESULTS-quick.md
                 instead of bench/RESULTS.md
  --build-only   build the selected corpora (reusing finished ones) and stop
  --render       measure nothing: write bench/RESULTS.md again from bench/results.json

Results of each corpus are kept in bench/results.json, so corpora measured in separate
invocations all appear in bench/RESULTS.md.`;

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

interface Options {
  work: string;
  corpora: CorpusName[];
  runs: number;
  tries: number;
  quick: boolean;
  /** Work on a RAM disk (checked to be one). */
  ram: boolean;
  buildOnly: boolean;
  render: boolean;
  tools: string[];
  /** --corpus million: the 500,000- and 1,000,000-file trees, every command (scale-lib). */
  million: boolean;
}

/** A mistake in the command line: said in one sentence, without a stack. */
class UsageError extends Error {}

function parseCorpora(list: string): CorpusName[] {
  const out = new Set<CorpusName>();
  for (const word of list.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    if (word === 'all') CORPUS_NAMES.forEach((n) => out.add(n));
    else if (word === 'synth') ['synth-100k', 'synth-200k'].forEach((n) => out.add(n as CorpusName));
    else if ((CORPUS_NAMES as readonly string[]).includes(word)) out.add(word as CorpusName);
    else throw new UsageError(`unknown corpus "${word}"`);
  }
  return CORPUS_NAMES.filter((n) => out.has(n));
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      work: { type: 'string' },
      ram: { type: 'boolean', default: false },
      corpus: { type: 'string', default: 'all' },
      runs: { type: 'string', default: '3' },
      tries: { type: 'string', default: '3' },
      tools: { type: 'string', default: DEFAULT_TOOLS.join(',') },
      quick: { type: 'boolean', default: false },
      'build-only': { type: 'boolean', default: false },
      render: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return undefined;
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new UsageError('--runs must be a whole number of at least 1');
  const tries = Number(values.tries);
  if (!Number.isInteger(tries) || tries < 1) throw new UsageError('--tries must be a whole number of at least 1');
  if (values.ram && values.work !== undefined) throw new UsageError('--ram and --work both say where to work: give one');
  const words = values.corpus.split(',').map((w) => w.trim().toLowerCase());
  const million = words.includes('million');
  const rest = words.filter((w) => w !== 'million').join(',');
  const tools = values.tools.split(',').map((s) => s.trim());
  for (const t of tools) if (!(TOOL_IDS as readonly string[]).includes(t)) throw new UsageError(`unknown tool "${t}"`);
  return {
    work: path.resolve(values.ram ? RAM_WORK : (values.work ?? '/tmp/xtar-bench')),
    ram: values.ram,
    corpora: values.quick ? ['small'] : rest === '' ? [] : parseCorpora(rest),
    million: million && !values.quick,
    runs: values.quick ? 1 : runs,
    tries,
    quick: values.quick,
    buildOnly: values['build-only'],
    render: values.render,
    tools,
  };
}

// ---------------------------------------------------------------------------------------------
// The tools
// ---------------------------------------------------------------------------------------------

type Op = 'pack' | 'verify' | 'unpack';
const OPS: Op[] = ['pack', 'verify', 'unpack'];

interface Cmd {
  cmd: string;
  args: string[];
  cwd?: string;
}

interface Tool {
  id: string;
  needs: Needed[];
  labels: Partial<Record<Op, string>>;
  /** out: an empty folder for the archive; dest: an empty folder to restore into. */
  commands(c: CorpusInfo, out: string, dest: string): Partial<Record<Op, Cmd>>;
  /** Where the copy of c.dir ends up after unpacking into dest. */
  restoredRoot(c: CorpusInfo, dest: string): string;
}

const parentOf = (c: CorpusInfo): string => path.dirname(c.dir);
const baseOf = (c: CorpusInfo): string => path.basename(c.dir);
const underName = (c: CorpusInfo, dest: string): string => path.join(dest, baseOf(c));

const TOOL_IDS = ['xtar', 'xtar-bundle', 'tar-gz', 'pigz', 'zip', 'dar'] as const;
/** What runs when --tools is not given: xtar as it packs by default and the other tools (`xtar-bundle`, pack --bundle, only when asked). */
const DEFAULT_TOOLS: readonly string[] = TOOL_IDS.filter((t) => t !== 'xtar-bundle');

/** xtar run as `node MAIN`, its pack given `packArgs` too. */
function xtarTool(id: string, xtarMain: string, labels: Tool['labels'], packArgs: readonly string[]): Tool {
  return {
    id,
    needs: [],
    labels,
    commands: (c, out, dest) => {
      const set = path.join(out, 'set');
      const xtar = (...args: string[]): Cmd => ({ cmd: process.execPath, args: [xtarMain, ...args] });
      return {
        pack: xtar('pack', c.dir, '--out', set, '--level', '6', ...packArgs, '--quiet', '--json'),
        verify: xtar('verify', set, '--quiet'),
        unpack: xtar('unpack', set, '--dest', dest, '--quiet'),
      };
    },
    restoredRoot: underName,
  };
}

/** The tools, xtar run as `node MAIN`. */
const makeTools = (xtarMain: string): Tool[] => [
  xtarTool('xtar', xtarMain, { pack: 'xtar pack', verify: 'xtar verify', unpack: 'xtar unpack' }, []),
  // The tiny-files opt-in (issue 21): small files of a folder several to one zip.
  xtarTool('xtar-bundle', xtarMain, { pack: 'xtar pack --bundle', verify: 'xtar verify (bundled)', unpack: 'xtar unpack (bundled)' }, ['--bundle']),
  {
    id: 'tar-gz',
    needs: [{ cmd: 'tar', pkg: 'tar' }, { cmd: 'gzip', pkg: 'gzip' }],
    labels: { pack: 'tar -czf', unpack: 'tar -xzf' },
    commands: (c, out, dest) => ({
      pack: { cmd: 'tar', args: ['-czf', path.join(out, 'a.tar.gz'), '-C', parentOf(c), baseOf(c)] },
      unpack: { cmd: 'tar', args: ['-xzf', path.join(out, 'a.tar.gz'), '-C', dest] },
    }),
    restoredRoot: underName,
  },
  {
    id: 'pigz',
    needs: [{ cmd: 'tar', pkg: 'tar' }, { cmd: 'pigz', pkg: 'pigz' }],
    labels: { pack: 'tar -I pigz -cf', unpack: 'tar -I pigz -xf' },
    commands: (c, out, dest) => ({
      pack: { cmd: 'tar', args: ['-I', 'pigz', '-cf', path.join(out, 'a.tar.gz'), '-C', parentOf(c), baseOf(c)] },
      unpack: { cmd: 'tar', args: ['-I', 'pigz', '-xf', path.join(out, 'a.tar.gz'), '-C', dest] },
    }),
    restoredRoot: underName,
  },
  {
    id: 'zip',
    needs: [{ cmd: 'zip', pkg: 'zip' }, { cmd: 'unzip', pkg: 'unzip' }],
    labels: { pack: 'zip -r -q -y', unpack: 'unzip -q' },
    commands: (c, out, dest) => ({
      pack: { cmd: 'zip', args: ['-r', '-q', '-y', path.join(out, 'a.zip'), baseOf(c)], cwd: parentOf(c) },
      unpack: { cmd: 'unzip', args: ['-q', path.join(out, 'a.zip'), '-d', dest] },
    }),
    restoredRoot: underName,
  },
  {
    id: 'dar',
    needs: [{ cmd: 'dar', pkg: 'dar' }],
    labels: { pack: 'dar -c -zgzip:6', unpack: 'dar -x' },
    commands: (c, out, dest) => ({
      pack: { cmd: 'dar', args: ['-c', path.join(out, 'a'), '-R', c.dir, '-zgzip:6', '-Q', '-q'] },
      unpack: { cmd: 'dar', args: ['-x', path.join(out, 'a'), '-R', dest, '-Q', '-q'] },
    }),
    restoredRoot: (_c, dest) => dest,
  },
];

/** Labels for the targets table, whatever xtar build is measured. */
const LABELS = new Map(makeTools('').map((t) => [t.id, t.labels]));

// ---------------------------------------------------------------------------------------------
// Measuring one corpus
// ---------------------------------------------------------------------------------------------

interface Sample {
  tool: string;
  op: Op;
  run: number;
  wallS: number;
  userS: number;
  sysS: number;
  maxRssKiB: number;
  /** Kernel-charged writes of the command (ru_oublock × 512). */
  writtenBytes: number;
  /** CPU the rest of the machine used meanwhile; much of it means the numbers were disturbed. */
  otherCpuS: number;
  /** Pack only: total size of everything the command left in its output folder. */
  archiveBytes?: number;
  /** xtar pack only: what its --json says. */
  selfArchiveBytes?: number;
  selfBytesWritten?: number;
  /** Unpack only: µs per file to create empty files beside the dest just before (probeCreates). */
  createUs?: number;
}

interface OpSummary {
  tool: string;
  op: Op;
  label: string;
  runs: number;
  wallS: number;
  wallMinS: number;
  wallMaxS: number;
  cpuS: number;
  sysS: number;
  otherCpuS: number;
  maxRssKiB: number;
  writtenBytes: number;
  archiveBytes?: number;
  selfArchiveBytes?: number;
  selfBytesWritten?: number;
  /** Unpack only: the check of the restored tree ("ok ..." or "FAILED: ..."). */
  check?: string;
  /** Unpack only: median µs per file creation on the dest's file system just before (probeCreates). */
  createUs?: number;
}

interface CorpusResult {
  corpus: CorpusInfo;
  runs: number;
  date: string;
  benchSeconds: number;
  summaries: OpSummary[];
  samples: Sample[];
  notes: string[];
}

/** Per-tool state while one corpus is measured. */
interface ToolState {
  skipped: Set<Op>;
  check?: string;
}

interface Ctx {
  c: CorpusInfo;
  runs: number;
  tries: number;
  work: string;
  log: Log;
  notes: string[];
  samples: Sample[];
  states: Map<string, ToolState>;
  /** Restored trees are not deleted between runs (deleting one slows the next tool's file creation). */
  keepRestores: boolean;
}

/** Other processes using more than this many cores on average during a command mark it as disturbed. */
const BUSY_SHARE = 0.15;

function isUnknownCommand(r: TimedResult): boolean {
  return r.code === 2 && /unknown (argument|command)/i.test(r.stderr);
}

/** A Node crash also exits 1, which for xtar and tar otherwise means "finished with warnings". */
function looksLikeCrash(stderr: string): boolean {
  return /node:internal|^\s+at .+:\d+:\d+\)?$/m.test(stderr);
}

/** Exit 0 is success; exit 1 is "finished with warnings" for pack and unpack (the restore check judges unpack). */
function acceptable(op: Op, r: TimedResult): boolean {
  if (r.code === 0) return true;
  return r.code === 1 && op !== 'verify' && !looksLikeCrash(r.stderr);
}

/** The most telling line of a failed command's output. */
function gist(r: TimedResult): string {
  const lines = `${r.stderr}\n${r.stdout}`.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /error|fail|cannot|not found|no such/i.test(l)) ?? lines[0] ?? '';
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

/** archiveBytes and bytesWritten from `xtar pack --json`, where present. */
function xtarSelfReport(stdout: string): Pick<Sample, 'selfArchiveBytes' | 'selfBytesWritten'> {
  try {
    const j: unknown = JSON.parse(stdout);
    if (!isRecord(j)) return {};
    const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
    const out: Pick<Sample, 'selfArchiveBytes' | 'selfBytesWritten'> = {};
    const a = num(j.archiveBytes);
    const w = num(j.bytesWritten);
    if (a !== undefined) out.selfArchiveBytes = a;
    if (w !== undefined) out.selfBytesWritten = w;
    return out;
  } catch {
    return {};
  }
}

function note(ctx: Ctx, line: string): void {
  ctx.notes.push(line);
  ctx.log(`  note: ${line}`);
}

function printSample(ctx: Ctx, label: string, s: Sample): void {
  const cpu = s.userS + s.sysS;
  const size = s.archiveBytes === undefined ? '' : `  ${fmtBytes(s.archiveBytes).padStart(10)} archive`;
  ctx.log(
    `  run ${s.run}/${ctx.runs}  ${label.padEnd(18)} ${fmtNum(s.wallS).padStart(8)} s wall ${fmtNum(cpu).padStart(8)} s cpu ` +
      `${fmtNum(s.maxRssKiB / KiB, 1).padStart(7)} MiB rss${size}`,
  );
}

/** Runs cmd timed; while other processes disturb it, clears its output and runs it again (up to ctx.tries times in all). */
async function runUndisturbed(ctx: Ctx, label: string, cmd: Cmd, run: number, clear: () => Promise<void>): Promise<TimedResult> {
  for (let attempt = 1; ; attempt++) {
    await syncDisks();
    const r = await runTimed(cmd.cmd, cmd.args, cmd.cwd === undefined ? {} : { cwd: cmd.cwd });
    const busy = r.m.otherCpuS > BUSY_SHARE * r.m.wallS;
    if (!busy) return r;
    const what = `other processes used ${fmtNum(r.m.otherCpuS)} s of CPU during its ${fmtNum(r.m.wallS)} s`;
    if (attempt >= ctx.tries || r.code !== 0) {
      note(ctx, `${label}, run ${run}: ${what} — disturbed (kept after ${attempt} tries)`);
      return r;
    }
    ctx.log(`  ${label}: ${what}; running it again`);
    await clear();
  }
}

/** Runs one op of one tool, timed; returns undefined (and says why) when it did not succeed. */
async function measureOp(ctx: Ctx, tool: Tool, op: Op, cmd: Cmd, run: number, out: string, dest: string): Promise<Sample | undefined> {
  const state = ctx.states.get(tool.id);
  const createUs = op === 'unpack' ? await probeCreates(`${dest}.probe`) : undefined;
  const label = tool.labels[op] ?? `${tool.id} ${op}`;
  let tries = 0;
  const clear = async (): Promise<void> => {
    if (op === 'pack') await freshDir(out);
    if (op === 'unpack') {
      // A disturbed restore is moved aside, not deleted (see keepRestores): deleting it would slow
      // the very next try's file creations, which made a retried 200,000-file unpack take 70 s.
      if (ctx.keepRestores) await rename(dest, `${dest}-disturbed${++tries}`);
      await freshDir(dest);
    }
  };
  const r = await runUndisturbed(ctx, label, cmd, run, clear);
  if (isUnknownCommand(r)) {
    state?.skipped.add(op);
    note(ctx, `${label}: not in this build (exit 2: ${firstLine(r.stderr)}), skipped`);
    return undefined;
  }
  const archiveBytes = op === 'pack' ? await treeBytes(out) : undefined;
  if (!acceptable(op, r) || archiveBytes === 0) {
    state?.skipped.add(op);
    const why = archiveBytes === 0 ? 'wrote nothing' : `exit ${r.code}`;
    note(ctx, `${label} failed in run ${run} (${why}: ${gist(r)}), not run again on ${ctx.c.name}`);
    return undefined;
  }
  if (r.code === 1) note(ctx, `${label} exited 1 (warnings) in run ${run}: ${gist(r)}`);
  const s: Sample = { tool: tool.id, op, run, ...r.m };
  if (archiveBytes !== undefined) s.archiveBytes = archiveBytes;
  if (createUs !== undefined) s.createUs = createUs;
  if (op === 'pack' && tool.id === 'xtar') Object.assign(s, xtarSelfReport(r.stdout));
  ctx.samples.push(s);
  printSample(ctx, label, s);
  return s;
}

/**
 * Checks the restored tree so a broken unpack cannot look fast: in full on the first run (paths,
 * kinds, sizes, link targets, 24 sha256s, and diff -r on SMALL), paths and sizes on later runs.
 */
async function checkRestore(ctx: Ctx, tool: Tool, dest: string, run: number): Promise<void> {
  const state = ctx.states.get(tool.id);
  if (!state || state.check?.startsWith('FAILED')) return;
  const full = state.check === undefined;
  const diff = full && ctx.c.name === 'small';
  const r = await compareTrees(ctx.c.dir, tool.restoredRoot(ctx.c, dest), { diff, hashes: full ? 24 : 0 });
  const label = tool.labels.unpack ?? tool.id;
  if (!r.ok) state.check = `FAILED in run ${run}: ${r.problems.join('; ')}`;
  else if (full) state.check = `ok (${r.files} files; sizes, ${r.hashed} sha256${diff ? ', diff -r' : ''})`;
  if (full || !r.ok) ctx.log(`  restore check ${label}: ${state.check ?? ''}`);
}

/** One run of one tool: pack, verify (xtar), unpack, check, clean up. */
async function runToolOnce(ctx: Ctx, tool: Tool, run: number): Promise<void> {
  const state = ctx.states.get(tool.id);
  if (!state || state.skipped.has('pack')) return;
  const out = path.join(ctx.work, 'out', tool.id);
  // A new folder per run: see keepRestores.
  const dest = path.join(restoreDir(ctx.work, ctx.c.name), `${tool.id}-run${run}`);
  await freshDir(out);
  await freshDir(dest);
  const cmds = tool.commands(ctx.c, out, dest);
  for (const op of OPS) {
    const cmd = cmds[op];
    if (!cmd || state.skipped.has(op)) continue;
    const s = await measureOp(ctx, tool, op, cmd, run, out, dest);
    if (!s && op === 'pack') break;
    if (s && op === 'unpack') await checkRestore(ctx, tool, dest, run);
  }
  await rm(out, { recursive: true, force: true });
  if (!ctx.keepRestores) await rm(dest, { recursive: true, force: true });
}

function summarise(tool: Tool, op: Op, samples: Sample[], state: ToolState | undefined): OpSummary | undefined {
  const mine = samples.filter((s) => s.tool === tool.id && s.op === op);
  if (mine.length === 0) return undefined;
  const med = (f: (s: Sample) => number | undefined): number => median(mine.map((s) => f(s) ?? Number.NaN));
  const sum: OpSummary = {
    tool: tool.id,
    op,
    label: tool.labels[op] ?? `${tool.id} ${op}`,
    runs: mine.length,
    wallS: med((s) => s.wallS),
    wallMinS: Math.min(...mine.map((s) => s.wallS)),
    wallMaxS: Math.max(...mine.map((s) => s.wallS)),
    cpuS: med((s) => s.userS + s.sysS),
    sysS: med((s) => s.sysS),
    otherCpuS: med((s) => s.otherCpuS),
    maxRssKiB: med((s) => s.maxRssKiB),
    writtenBytes: med((s) => s.writtenBytes),
  };
  if (op === 'pack') sum.archiveBytes = med((s) => s.archiveBytes);
  if (op === 'pack' && tool.id === 'xtar') {
    sum.selfArchiveBytes = med((s) => s.selfArchiveBytes);
    sum.selfBytesWritten = med((s) => s.selfBytesWritten);
  }
  if (op === 'unpack') {
    sum.check = state?.check ?? 'not checked';
    const probes = mine.map((s) => s.createUs).filter((u): u is number => u !== undefined);
    if (probes.length) sum.createUs = median(probes);
  }
  return sum;
}

/** Restored trees of earlier corpora are kept while at least this much room is left. */
const KEEP_RESTORES_FREE = 30 * GiB;

function restoreDir(work: string, corpus: CorpusName): string {
  return path.join(work, 'restore', corpus);
}

async function benchCorpus(c: CorpusInfo, tools: Tool[], opts: Options, log: Log): Promise<CorpusResult> {
  const { runs, work, tries } = opts;
  const t0 = Date.now();
  // Every restore of the corpus kept at once, plus archives and a margin.
  const keepRestores = (await freeBytes(work)) > (tools.length * runs + 2) * c.bytes + GiB;
  const ctx: Ctx = { c, runs, tries, work, log, notes: [], samples: [], states: new Map(tools.map((t) => [t.id, { skipped: new Set<Op>() }])), keepRestores };
  if (!keepRestores) ctx.notes.push('not enough room to keep every restore until the end: each was deleted after its run, which slows the next file creations (see "fs create" µs)');
  await freshDir(restoreDir(work, c.name));
  log(`[${c.name}] warm-up read of ${c.dir} ...`);
  await warmUp(c.dir);
  for (let run = 1; run <= runs; run++) {
    log(`[${c.name}] run ${run}/${runs}`);
    for (const tool of tools) await runToolOnce(ctx, tool, run);
  }
  const summaries = tools.flatMap((t) => OPS.map((op) => summarise(t, op, ctx.samples, ctx.states.get(t.id)))).filter((s): s is OpSummary => s !== undefined);
  // Deleted at the end of the bench, so that the next corpus's restores do not pay for it — unless
  // room runs short.
  if ((await freeBytes(work)) < KEEP_RESTORES_FREE) await rm(restoreDir(work, c.name), { recursive: true, force: true });
  return { corpus: c, runs, date: new Date().toISOString(), benchSeconds: (Date.now() - t0) / 1000, summaries, samples: ctx.samples, notes: ctx.notes };
}

// ---------------------------------------------------------------------------------------------
// Ratios and targets
// ---------------------------------------------------------------------------------------------

function find(r: CorpusResult | undefined, tool: string, op: Op): OpSummary | undefined {
  return r?.summaries.find((s) => s.tool === tool && s.op === op);
}

/** A summary whose numbers can be trusted: unpacks must have passed their restore check. */
function valid(s: OpSummary | undefined): OpSummary | undefined {
  return s && (s.op !== 'unpack' || (s.check ?? '').startsWith('ok')) ? s : undefined;
}

function ratio(a: number | undefined, b: number | undefined): number {
  return a !== undefined && b !== undefined && b > 0 ? a / b : Number.NaN;
}

const fmtRatio = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a');

interface RatioRow {
  other: string;
  cells: string[];
}

const RATIO_HEAD = ['xtar / …', 'pack wall', 'pack CPU', 'pack RSS', 'size', 'unpack wall', 'unpack CPU', 'unpack RSS'];

function ratioRows(r: CorpusResult): RatioRow[] {
  const xp = valid(find(r, 'xtar', 'pack'));
  const xu = valid(find(r, 'xtar', 'unpack'));
  const others = [...new Set(r.summaries.map((s) => s.tool))].filter((t) => t !== 'xtar');
  return others.map((t) => {
    const op = valid(find(r, t, 'pack'));
    const ou = valid(find(r, t, 'unpack'));
    return {
      other: `${op?.label ?? t} / ${ou?.label ?? '-'}`,
      cells: [
        ratio(xp?.wallS, op?.wallS),
        ratio(xp?.cpuS, op?.cpuS),
        ratio(xp?.maxRssKiB, op?.maxRssKiB),
        ratio(xp?.archiveBytes, op?.archiveBytes),
        ratio(xu?.wallS, ou?.wallS),
        ratio(xu?.cpuS, ou?.cpuS),
        ratio(xu?.maxRssKiB, ou?.maxRssKiB),
      ].map(fmtRatio),
    };
  });
}

type Results = Partial<Record<CorpusName, CorpusResult>>;

interface TargetRow {
  target: string;
  measured: string;
  status: 'met' | 'NOT MET' | 'not measured' | 'info';
}

function judge(target: string, value: number, limit: number, detail: string): TargetRow {
  if (!Number.isFinite(value)) return { target, measured: 'n/a', status: 'not measured' };
  return { target, measured: `${fmtRatio(value)} (${detail})`, status: value <= limit ? 'met' : 'NOT MET' };
}

function wallRatioTarget(res: Results, corpus: CorpusName, op: Op, other: string, limit: number): TargetRow {
  const x = valid(find(res[corpus], 'xtar', op));
  const o = valid(find(res[corpus], other, op));
  const label = LABELS.get(other)?.[op] ?? other;
  const target = `${op} ${corpus.toUpperCase()} wall ≤ ${limit}× \`${label}\``;
  return judge(target, ratio(x?.wallS, o?.wallS), limit, `${fmtNum(x?.wallS ?? Number.NaN)} s vs ${fmtNum(o?.wallS ?? Number.NaN)} s`);
}

/** Verify reads and checks what pack wrote, without the deflate: at most half of pack's time. */
const VERIFY_LIMIT = 0.5;

function verifyTargets(res: Results): TargetRow[] {
  return CORPUS_NAMES.filter((n) => res[n]).map((n) => {
    const v = find(res[n], 'xtar', 'verify');
    const p = find(res[n], 'xtar', 'pack');
    return judge(`verify ${n.toUpperCase()} wall ≤ ${VERIFY_LIMIT}× pack`, ratio(v?.wallS, p?.wallS), VERIFY_LIMIT, `${fmtNum(v?.wallS ?? Number.NaN)} s vs ${fmtNum(p?.wallS ?? Number.NaN)} s`);
  });
}

const RSS_LIMIT_KIB = 250 * KiB;

function rssTargets(res: Results): TargetRow[] {
  return (['synth-200k', 'huge'] as const).map((n) => {
    const xs = (res[n]?.summaries ?? []).filter((s) => s.tool === 'xtar' && Number.isFinite(s.maxRssKiB));
    const target = `peak RSS ≤ 250 MiB on ${n.toUpperCase()} (every xtar command)`;
    if (xs.length === 0) return { target, measured: 'n/a', status: 'not measured' };
    const peak = Math.max(...xs.map((s) => s.maxRssKiB));
    const detail = xs.map((s) => `${s.op} ${fmtNum(s.maxRssKiB / KiB, 0)}`).join(', ');
    return { target, measured: `${fmtNum(peak / KiB, 0)} MiB (${detail} MiB)`, status: peak <= RSS_LIMIT_KIB ? 'met' : 'NOT MET' };
  });
}

function scalingTargets(res: Results): TargetRow[] {
  return (['pack', 'unpack'] as const).map((op) => {
    const a = valid(find(res['synth-200k'], 'xtar', op));
    const b = valid(find(res['synth-100k'], 'xtar', op));
    return judge(`${op} time for 200,000 files ≤ 2.2× for 100,000`, ratio(a?.wallS, b?.wallS), 2.2, `${fmtNum(a?.wallS ?? Number.NaN)} s vs ${fmtNum(b?.wallS ?? Number.NaN)} s`);
  });
}

function writtenTargets(res: Results): TargetRow[] {
  return CORPUS_NAMES.filter((n) => res[n]).map((n) => {
    const p = find(res[n], 'xtar', 'pack');
    const json = p?.selfArchiveBytes === undefined ? '' : `; --json: archiveBytes ${fmtBytes(p.selfArchiveBytes)}, bytesWritten ${fmtBytes(p.selfBytesWritten ?? Number.NaN)}`;
    return judge(
      `bytes written during pack ≤ 1.1× archive, ${n.toUpperCase()}`,
      ratio(p?.writtenBytes, p?.archiveBytes),
      1.1,
      `kernel count ${fmtBytes(p?.writtenBytes ?? Number.NaN)} vs whole set ${fmtBytes(p?.archiveBytes ?? Number.NaN)}${json}`,
    );
  });
}

function sizeInfo(res: Results): TargetRow[] {
  return CORPUS_NAMES.filter((n) => res[n]).map((n) => {
    const x = find(res[n], 'xtar', 'pack');
    const t = find(res[n], 'tar-gz', 'pack');
    const v = ratio(x?.archiveBytes, t?.archiveBytes);
    return {
      target: `size xtar / tar.gz, ${n.toUpperCase()}`,
      measured: Number.isFinite(v) ? `${fmtRatio(v)} (${fmtBytes(x?.archiveBytes ?? Number.NaN)} vs ${fmtBytes(t?.archiveBytes ?? Number.NaN)})` : 'n/a',
      status: 'info',
    };
  });
}

function targets(res: Results): TargetRow[] {
  return [
    // Issue 17's targets (speed, round two).
    wallRatioTarget(res, 'small', 'pack', 'tar-gz', 0.6),
    wallRatioTarget(res, 'small', 'pack', 'pigz', 1.2),
    wallRatioTarget(res, 'small', 'unpack', 'tar-gz', 1.0),
    wallRatioTarget(res, 'tiny', 'pack', 'tar-gz', 3),
    wallRatioTarget(res, 'tiny', 'unpack', 'tar-gz', 1.5),
    wallRatioTarget(res, 'small', 'pack', 'dar', 0.75),
    wallRatioTarget(res, 'mixed', 'pack', 'tar-gz', 0.7),
    ...verifyTargets(res),
    ...rssTargets(res),
    ...scalingTargets(res),
    ...writtenTargets(res),
    ...sizeInfo(res),
  ];
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

function table(head: string[], rows: string[][], md: boolean): string {
  if (md) {
    const line = (r: string[]): string => `| ${r.join(' | ')} |`;
    return [line(head), `|${head.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const SUMMARY_HEAD = ['command', 'runs', 'wall s', 'wall min–max', 'CPU s', 'of which sys', 'CPU/wall', 'other procs CPU s', 'peak RSS MiB', 'archive', 'written (kernel)', 'fs create µs/file', 'restore check'];

function summaryRow(s: OpSummary): string[] {
  const archive = s.archiveBytes === undefined ? '' : fmtBytes(s.archiveBytes);
  return [
    s.label,
    String(s.runs),
    fmtNum(s.wallS),
    `${fmtNum(s.wallMinS)}–${fmtNum(s.wallMaxS)}`,
    fmtNum(s.cpuS),
    fmtNum(s.sysS),
    fmtNum(s.cpuS / s.wallS),
    fmtNum(s.otherCpuS),
    fmtNum(s.maxRssKiB / KiB, 1),
    archive,
    s.op === 'pack' ? fmtBytes(s.writtenBytes) : '',
    s.createUs === undefined ? '' : fmtNum(s.createUs, 0),
    s.check ?? '',
  ];
}

function describeCorpus(c: CorpusInfo): string {
  return `${c.files.toLocaleString('en-US')} files, ${c.dirs.toLocaleString('en-US')} folders, ${fmtBytes(c.bytes)}; from ${c.sources.join(', ')}; built in ${c.buildSeconds.toFixed(0)} s`;
}

function renderCorpus(r: CorpusResult, md: boolean): string {
  const h = md ? '### ' : '== ';
  const byOp = [...r.summaries].sort((a, b) => OPS.indexOf(a.op) - OPS.indexOf(b.op));
  const parts = [
    `${h}${r.corpus.name.toUpperCase()}: ${describeCorpus(r.corpus)}`,
    `Median of ${r.runs} interleaved run(s), measured ${r.date}, took ${(r.benchSeconds / 60).toFixed(1)} min.`,
    table(SUMMARY_HEAD, byOp.map(summaryRow), md),
  ];
  const ratios = ratioRows(r);
  if (ratios.length && find(r, 'xtar', 'pack')) parts.push(table(RATIO_HEAD, ratios.map((x) => [x.other, ...x.cells]), md));
  if (r.notes.length) parts.push(r.notes.map((n) => `- ${n}`).join('\n'));
  return parts.join('\n\n');
}

interface Machine {
  cores: number;
  cpu: string;
  memory: string;
  node: string;
  kernel: string;
  date: string;
  tools: Record<string, string>;
}

async function machineInfo(): Promise<Machine> {
  const cpus = os.cpus();
  const tools: Record<string, string> = {
    tar: await versionLine('tar', ['--version']),
    gzip: await versionLine('gzip', ['--version']),
    pigz: await versionLine('pigz', ['--version']),
    zip: (await versionLine('zip', ['-v'], /^This is Zip/)).replace(/^This is\s*|\s*\(.*$/g, ''),
    unzip: (await versionLine('unzip', ['-h'])).replace(/,.*$/, ''),
    dar: (await versionLine('dar', ['-V'])).replace(/,.*$/, ''),
  };
  return {
    cores: cpus.length,
    cpu: cpus[0]?.model ?? '?',
    memory: fmtBytes(os.totalmem()),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    date: new Date().toISOString(),
    tools,
  };
}

function renderTargets(res: Results, md: boolean): string {
  const rows = targets(res).map((t) => [t.target, t.measured, t.status]);
  return table(['target', 'measured (median)', 'status'], rows, md);
}

function renderMarkdown(res: Results, m: Machine, command: string): string {
  const corpora = CORPUS_NAMES.map((n) => res[n]).filter((r): r is CorpusResult => r !== undefined);
  return [
    '# xtar benchmark results',
    '',
    `Generated by \`${command}\` (scripts/bench.ts) on ${m.date}.`,
    '',
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memory} RAM, ${m.kernel}; Node ${m.node}.`,
    `Tools: ${Object.entries(m.tools).map(([k, v]) => `${k}: ${v || 'not installed'}`).join('; ')}.`,
    '',
    'Wall time is the monotonic clock around the child; CPU (user+sys, all threads and child processes), peak RSS',
    "(of the largest process) and kernel-counted bytes written come from GNU time (`%U %S %M %O`). \"other procs CPU\"",
    'is the CPU the rest of the machine used meanwhile (all cores\' busy time minus the command\'s own): where it is',
    'large, something else ran and the row is disturbed (each such command is listed under its corpus). Caches are warm:',
    'each corpus is read once before timing, then tools run interleaved (A B C … A B C …), `sync` before each',
    'command. Every restored tree is checked against the source: in full on the first run (paths, kinds, sizes,',
    'link targets, 25 sha256s, and `diff -r` on SMALL), paths and sizes on later runs; a failed check voids that',
    'unpack\'s numbers. Ratios are xtar / other (lower is better for xtar); "size" is the size of everything the pack',
    'command wrote. A wide "wall min–max" means the machine was noisy during that command.',
    '',
    'Each unpack writes to a new folder and every restored tree is kept until the bench ends (while 30 GiB stay free; else until its corpus is done): deleting a big tree',
    'slows file creation near it for minutes (seen here: ext4 without a journal, mounted with `discard`, spends 10–20×',
    'the kernel time per new file in find_inode_bit → recently_deleted), which made whichever tool ran after a delete',
    'look slow. "fs create µs/file" is the cost of creating 2,000 empty files beside the dest just before the unpack;',
    'about 35–50 µs is normal here, several hundred means that unpack paid for such a delete.',
    '',
    '## Targets',
    '',
    renderTargets(res, true),
    '',
    '## Corpora',
    '',
    corpora.map((r) => renderCorpus(r, true)).join('\n\n'),
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Stored results (so corpora measured in separate invocations share one RESULTS.md)
// ---------------------------------------------------------------------------------------------

interface Store {
  version: 1;
  corpora: Results;
}

async function loadStore(): Promise<Store> {
  try {
    const j: unknown = JSON.parse(await readFile(STORE_FILE, 'utf8'));
    if (isRecord(j) && j.version === 1 && isRecord(j.corpora)) return j as unknown as Store;
  } catch {
    // none yet
  }
  return { version: 1, corpora: {} };
}

async function saveStore(store: Store): Promise<void> {
  await mkdir(BENCH_DIR, { recursive: true });
  await writeFile(STORE_FILE, `${JSON.stringify(store, null, 1)}\n`);
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

function makeLog(): Log {
  const t0 = Date.now();
  return (line) => {
    const s = Math.round((Date.now() - t0) / 1000);
    process.stdout.write(`[${String(Math.floor(s / 60)).padStart(3)}:${String(s % 60).padStart(2, '0')}] ${line}\n`);
  };
}

/**
 * Copies the built xtar (dist/src, with package.json and a node_modules link) into the work dir, so
 * a rebuild of dist/ during a long run cannot change or break what is measured. Retries while the
 * copy does not start (someone may be rebuilding right now).
 */
async function snapshotXtar(work: string, log: Log): Promise<string | undefined> {
  if (!(await exists(BUILT_XTAR))) {
    log(`skipping xtar: ${BUILT_XTAR} is not built (run npx tsc -p tsconfig.json)`);
    return undefined;
  }
  const snap = path.join(work, 'xtar-snapshot');
  const main = path.join(snap, 'dist/src/cli/main.js');
  for (let attempt = 1; attempt <= 3; attempt++) {
    await freshDir(snap);
    await cp(path.join(DIST_ROOT, 'src'), path.join(snap, 'dist/src'), { recursive: true });
    await copyFile(path.join(REPO, 'package.json'), path.join(snap, 'package.json'));
    await symlink(path.join(REPO, 'node_modules'), path.join(snap, 'node_modules'));
    // The libdeflate addon, where it is built: without it the snapshot deflates with zlib, and the
    // bench would measure an xtar no installed copy is.
    const addon = path.join(REPO, 'native/build/Release/xtar_deflate.node');
    if (await exists(addon)) {
      await mkdir(path.join(snap, 'native/build/Release'), { recursive: true });
      await copyFile(addon, path.join(snap, 'native/build/Release/xtar_deflate.node'));
    }
    const r = await run(process.execPath, [main, '--version']);
    if (r.code === 0) return main;
    log(`xtar snapshot does not start (attempt ${attempt}: ${firstLine(r.stderr)}); retrying in 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 20_000));
  }
  log('skipping xtar: the built CLI does not start');
  return undefined;
}

/** Tools whose commands are present (installing missing ones with apt-get when possible). */
async function availableTools(ids: string[], work: string, log: Log): Promise<Tool[]> {
  const xtarMain = ids.some((id) => id.startsWith('xtar')) ? await snapshotXtar(work, log) : undefined;
  const wanted = makeTools(xtarMain ?? '').filter((t) => ids.includes(t.id) && (!t.id.startsWith('xtar') || xtarMain));
  const have = await ensureCommands([{ cmd: 'time', pkg: 'time' }, ...wanted.flatMap((t) => t.needs)], log);
  const timeBin = (await exists('/usr/bin/time')) ? '/usr/bin/time' : have.has('time') ? await which('time') : undefined;
  useTimeBinary(timeBin);
  if (!timeBin) log('GNU time is not available: CPU, RSS and bytes written are reported as n/a');
  const out: Tool[] = [];
  for (const t of wanted) {
    const missing = t.needs.filter((n) => !have.has(n.cmd)).map((n) => n.cmd);
    if (missing.length) log(`skipping ${t.id}: ${missing.join(', ')} not available`);
    else out.push(t);
  }
  return out;
}

/** Whether there is room for the corpus (if not built yet) and its archives and restores. */
async function roomFor(name: CorpusName, work: string, log: Log): Promise<boolean> {
  const free = await freeBytes(work);
  const built = await builtCorpus(work, name);
  if (name === 'huge') {
    const have = free + (built ? HUGE_BYTES : 0);
    if (have < 10 * 1e9) {
      log(`skipping HUGE: ${fmtBytes(free)} free on ${work}, it needs 10 GB (the 2 GiB file, archives and restores)`);
      return false;
    }
    return true;
  }
  const need = (built?.bytes ?? 0) > 0 ? 2 * (built?.bytes ?? 0) + GiB : 4 * GiB;
  if (free < need) {
    log(`skipping ${name.toUpperCase()}: ${fmtBytes(free)} free on ${work}, it needs about ${fmtBytes(need)}`);
    return false;
  }
  return true;
}

/** --ram: the work folder must be on a tmpfs, or the figures are not what the flag promises. */
async function ensureRamDisk(work: string): Promise<void> {
  await mkdir(work, { recursive: true });
  const fs = await statfs(work);
  if (fs.type !== TMPFS_MAGIC) throw new Error(`--ram: ${work} is not on a RAM disk (tmpfs); is /dev/shm mounted?`);
}

/** --corpus million's trees: the half first, so the ratio 1M / 500k is measured on one machine state. */
const MILLION_TREES: [string, number][] = [
  ['million-half', 500_000],
  ['million', 1_000_000],
];
const MILLION_MD = path.join(BENCH_DIR, 'MILLION.md');

/** Every command on 500,000 and 1,000,000 tiny files: time, peak RSS, the ratio and the 250 MiB budget (issue 21). */
async function benchMillion(opts: Options, tools: Tool[], log: Log): Promise<void> {
  const xtarMain = tools.find((t) => t.id === 'xtar') ? path.join(opts.work, 'xtar-snapshot/dist/src/cli/main.js') : undefined;
  if (!xtarMain) {
    log('million: xtar is not measured, skipped');
    return;
  }
  const results: ScaleResult[][] = [];
  for (const [i, [name, n]] of MILLION_TREES.entries()) {
    const tree = path.join(opts.work, 'corpora', name);
    await ensureTinyTree(tree, n, log);
    log(`million: ${n.toLocaleString('en-US')} files`);
    results.push(await measureTree(tree, path.join(opts.work, 'out', name), xtarMain, SCALE_OPS, log));
    await rm(path.join(opts.work, 'out', name), { recursive: true, force: true });
    // The next tree, its set and two restores need about 3× its pages: without room, this tree goes (made again next time).
    const next = MILLION_TREES[i + 1];
    if (next !== undefined && (await freeBytes(opts.work)) < 3 * treeBytesOnRamDisk(next[1])) {
      log(`million: removing ${tree} to make room for the next tree`);
      await rm(`${tree}.json`, { force: true });
      await rm(tree, { recursive: true, force: true });
    }
  }
  const [half, full] = results;
  const cell = (r: ScaleResult | undefined): string =>
    r ? `${fmtNum(r.m.wallS, 1)} s (${fmtNum(r.m.userS + r.m.sysS, 1)} s CPU), ${fmtNum(r.m.maxRssKiB / KiB, 0)} MiB${r.code === 0 ? '' : ` (exit ${r.code})`}` : 'n/a';
  const rows = SCALE_OPS.map((op) => {
    const a = half?.find((r) => r.op === op);
    const b = full?.find((r) => r.op === op);
    const t = ratio(b?.m.wallS, a?.m.wallS);
    const cpu = ratio(b === undefined ? undefined : b.m.userS + b.m.sysS, a === undefined ? undefined : a.m.userS + a.m.sysS);
    const xtar = !op.startsWith('tar ');
    const rssOk = b !== undefined && b.m.maxRssKiB <= RSS_LIMIT_KIB;
    const verdict = !xtar ? '' : `${rssOk ? 'RSS ok' : 'RSS OVER'}, ${t <= 2.2 ? 'time ok' : 'time OVER'}`;
    return [op, cell(a), cell(b), fmtNum(t), fmtNum(cpu), verdict];
  });
  const head = ['command', '500,000 files', '1,000,000 files', 'wall 1M / 500k', 'CPU 1M / 500k', 'peak ≤ 250 MiB, wall ratio ≤ 2.2'];
  process.stdout.write(`\n${table(head, rows, false)}\n\n`);
  const md = [
    '# A million tiny files (issue 21)',
    '',
    `Generated by \`npm run bench -- --corpus million${opts.ram ? ' --ram' : ''}\` on ${new Date().toISOString()}, ${os.cpus().length} cores.`,
    'Files of 8–63 bytes, 100 per folder (scripts/scale-lib.ts, seed 21); wall time, peak RSS from GNU time.',
    'incremental pack runs with nothing changed; expand-structure runs over the unpacked tree.',
    '',
    table(head, rows, true),
    '',
  ].join('\n');
  await mkdir(BENCH_DIR, { recursive: true });
  await writeFile(MILLION_MD, md);
  log(`wrote ${MILLION_MD}`);
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (!opts) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const log = makeLog();
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  log(`xtar bench: corpora ${opts.corpora.join(', ')}; ${opts.runs} run(s); work dir ${opts.work}`);
  if (opts.ram) await ensureRamDisk(opts.work);
  log(`free ${opts.ram ? 'RAM disk' : 'disk'} on ${opts.work}: ${fmtBytes(await freeBytes(opts.work))}`);
  if (opts.render) {
    await writeFile(RESULTS_MD, renderMarkdown((await loadStore()).corpora, await machineInfo(), command));
    log(`wrote ${RESULTS_MD} from ${STORE_FILE}`);
    return;
  }
  if (opts.buildOnly) {
    if (opts.million) for (const [name, n] of MILLION_TREES) await ensureTinyTree(path.join(opts.work, 'corpora', name), n, log);
    for (const name of opts.corpora) if (await roomFor(name, opts.work, log)) await ensureCorpus(opts.work, name, log);
    return;
  }
  const tools = await availableTools(opts.tools, opts.work, log);
  if (!tools.some((t) => t.id === 'xtar')) log('xtar is not measured: only the other tools run');
  const machine = await machineInfo();
  const store: Store = opts.quick ? { version: 1, corpora: {} } : await loadStore();
  const fresh: Results = {};
  // Restored trees a bench left behind when it was stopped.
  await rm(path.join(opts.work, 'restore'), { recursive: true, force: true });
  for (const name of opts.corpora) {
    if (!(await roomFor(name, opts.work, log))) continue;
    const c = await ensureCorpus(opts.work, name, log);
    const r = await benchCorpus(c, tools, opts, log);
    fresh[name] = r;
    store.corpora[name] = r;
    if (!opts.quick) await saveStore(store);
    process.stdout.write(`\n${renderCorpus(r, false)}\n\n`);
  }
  if (opts.corpora.length === 0) {
    // (--corpus million alone: bench/RESULTS.md is left as it is.)
    if (opts.million) await benchMillion(opts, tools, log);
    return;
  }
  process.stdout.write(`Targets (all stored results):\n\n${renderTargets(store.corpora, false)}\n\n`);
  const md = renderMarkdown(store.corpora, machine, command);
  const mdFile = opts.quick ? path.join(opts.work, 'RESULTS-quick.md') : RESULTS_MD;
  await mkdir(path.dirname(mdFile), { recursive: true });
  await writeFile(mdFile, md);
  log(`wrote ${mdFile}${opts.quick ? '' : ` and ${STORE_FILE}`}`);
  if (opts.million && !opts.render && !opts.buildOnly) await benchMillion(opts, tools, log);
  log('removing the restored trees ...');
  await rm(path.join(opts.work, 'restore'), { recursive: true, force: true });
  if (Object.keys(fresh).length === 0) log('no corpus was measured');
}

main().catch((e: unknown) => {
  const said = e instanceof UsageError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
  process.stderr.write(`bench: ${said}\n`);
  process.exitCode = 1;
});
