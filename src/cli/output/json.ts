/**
 * The one JSON object of --json (docs/JSON.md): every object starts with which output it is and the
 * version of its shape (`"xtar": "pack", "jsonVersion": 1`), a fatal error is an `error` object of
 * the same kind, and with --json the problems are in the object, not line by line on stderr.
 * The shapes are docs/json/<output>.schema.json; test/e2e/json.test.ts validates every command's
 * output against them.
 */
import { XtarError, type Problem } from '../../errors.js';
import type { PackResult } from '../../pack/pack.js';
import type { DryExcluded, DryItem, DryRunResult } from '../../pack/dry-run.js';
import type { UnpackResult } from '../../unpack/unpack.js';
import type { DryRunListing } from '../../unpack/sink.js';
import type { ChainGap } from '../../unpack/check-chain.js';
import type { RepairReport } from '../../unpack/repair.js';
import type { ExpandResult } from '../../unpack/expand-structure.js';
import type { ListedBackup, ListedFile, ListedVolume } from '../../set/list.js';
import type { ObsoleteVolume } from '../../setindex/obsolete.js';
import type { RebuildResult } from '../../setindex/rebuild.js';
import type { RescueResult, RescuedFile } from '../../rescue/rescue.js';
import { describeFailure } from './exit.js';
import type { Io } from './render.js';

/**
 * The version of every output's shape. Adding an optional key keeps it; renaming or removing a key,
 * changing a key's type or meaning, or making a new key required raises it (docs/JSON.md).
 */
export const JSON_VERSION = 1;

/** Which output an object is: the command, with `list --obsolete` on its own as its shape differs. */
export type JsonOutput = 'pack' | 'pack-sources' | 'unpack' | 'verify' | 'repair' | 'list' | 'list-obsolete' | 'activity' | 'expand-structure' | 'index-rebuild' | 'rescue' | 'prune';

/** The keys every --json object starts with. */
export interface JsonHead {
  /** Which output (docs/json/<xtar>.schema.json), or `xtar` for an error before a command was known. */
  xtar: JsonOutput | 'xtar';
  jsonVersion: typeof JSON_VERSION;
}

/** A problem record as printed: the file, why, and what kind of problem (src/errors.ts's Problem). */
export interface JsonProblem {
  path: string;
  reason: string;
  kind?: string;
}

/** What a fatal error prints on stdout with --json (the one sentence still goes to stderr). */
export interface JsonError extends JsonHead {
  error: {
    /** EUSAGE, EINPUT, EFORMAT, EINDEX, EBUSY, EINTR, an operating-system code (ENOSPC…), or EINTERNAL. */
    code: string;
    message: string;
    exitCode: number;
    path?: string;
    /** What the error cost before it ended the run (a full destination: the files not written). */
    problems?: JsonProblem[];
  };
}

/*
 * What each output holds after its head, one type per schema in docs/json/ (the schema is what a
 * reader sees; these keep the code that fills the object to it).
 */
type PackFacts = Pick<PackResult, 'set' | 'kind' | 'base' | 'reason' | 'files' | 'bytes' | 'storedFiles' | 'storedBytes' | 'unchangedFiles' | 'renamedFiles' | 'deletedFiles' | 'ignored'>;
/** docs/json/pack.schema.json: a backup made, nothing changed, or a dry run (told apart by dryRun and nothingChanged). */
export type PackJson =
  | (PackFacts & Pick<PackResult, 'root' | 'dirs' | 'entries' | 'archiveBytes' | 'bytesWritten' | 'volumes' | 'skipped' | 'changed'> & { dryRun: false; nothingChanged: false; backup: string; notes: string[]; jobs?: number })
  | (Pick<PackResult, 'set' | 'base' | 'files' | 'bytes' | 'skipped' | 'ignored'> & { dryRun: false; nothingChanged: true; backup: null; notes: string[]; jobs?: number })
  | (PackFacts & Pick<DryRunResult, 'metadataFiles'> & { dryRun: true; nothingChanged: false; items: DryItem[]; excluded: DryExcluded[]; notes: string[]; jobs?: number });
/** docs/json/pack-sources.schema.json: `pack A B …` of several sources, each its `pack` object or its error. */
export interface PackSourcesJson {
  set: string;
  status: number;
  sources: ({ source: string; pack: JsonHead & PackJson; error: null } | { source: string; pack: null; error: JsonError['error'] })[];
}
/** docs/json/unpack.schema.json. */
export type UnpackJson =
  | (Pick<UnpackResult, 'dest' | 'files' | 'bytes' | 'structure' | 'kept' | 'notFound' | 'problems'> & Pick<UnpackResult['plan'], 'backup' | 'kind' | 'volumes'> & { dryRun: false; fetched?: { bytes: number; records: number; archives: number } })
  | (DryRunListing & { dryRun: true; dest: string; problems: readonly Problem[] });
export interface VerifyJson {
  intact: number;
  bytes: number;
  damaged: string[];
  damagedBytes: number;
  problems: Problem[];
  chainGaps: ChainGap[];
}
export interface RepairJson {
  volumes: RepairReport['volumes'];
  intact: number;
  damaged: string[];
  problems: Problem[];
}
export interface ListJson {
  backups: (Pick<ListedBackup, 'id' | 'kind' | 'base' | 'source' | 'created' | 'files' | 'bytes'> & {
    volumes: Pick<ListedVolume, 'volume' | 'path' | 'bytes' | 'archiveBytes' | 'recordBytes' | 'files'>[];
    missingVolumes?: number[];
    fileList?: ListedFile[];
  })[];
  /** Records that could not be used (absent: none). */
  problems?: Problem[];
}
export interface ListObsoleteJson {
  keep: number;
  kept: string[];
  obsolete: (ObsoleteVolume & { path: string })[];
  bytes: number;
  notes: string[];
}
/** docs/json/prune.schema.json. */
export interface PruneJson {
  dryRun: boolean;
  keep: number;
  kept: string[];
  deleted: (ObsoleteVolume & { path: string })[];
  bytes: number;
  notes: string[];
}
/** Made by src/activity/render.ts's clustersJson, whose type it does not name. */
export type ActivityJson = object;
export type ExpandStructureJson = ExpandResult;
export type IndexRebuildJson = RebuildResult;
/** docs/json/rescue.schema.json. */
export interface RescueJson extends Pick<RescueResult, 'badBytes' | 'retrySeconds'> {
  volumes: { volume: string; copy: string; files: (Pick<RescuedFile, 'path' | 'bytes' | 'read' | 'badBytes' | 'bad'> & { map: string })[] }[];
}

export interface JsonBodies {
  pack: PackJson;
  'pack-sources': PackSourcesJson;
  unpack: UnpackJson;
  verify: VerifyJson;
  repair: RepairJson;
  list: ListJson;
  'list-obsolete': ListObsoleteJson;
  activity: ActivityJson;
  'expand-structure': ExpandStructureJson;
  'index-rebuild': IndexRebuildJson;
  rescue: RescueJson;
  prune: PruneJson;
}

/** Print `body` as the one JSON object of --json, headed by which output it is and its version. */
export function printJson<K extends JsonOutput>(io: Io, xtar: K, body: JsonBodies[K]): void {
  const head: JsonHead = { xtar, jsonVersion: JSON_VERSION };
  io.stdout.write(`${JSON.stringify({ ...head, ...body }, null, 2)}\n`);
}

/** The error object for a fatal error `e` of the output `xtar`. */
export function errorJson(xtar: JsonOutput | 'xtar', e: unknown): JsonError {
  const { message, status } = describeFailure(e);
  const err = e as Partial<NodeJS.ErrnoException> | undefined;
  const code = e instanceof XtarError ? e.code : typeof err?.code === 'string' ? err.code : 'EINTERNAL';
  const path = e instanceof XtarError ? e.path : typeof err?.path === 'string' ? err.path : undefined;
  const problems = e instanceof XtarError && 'problems' in e && Array.isArray(e.problems) ? (e.problems as JsonProblem[]) : undefined;
  return {
    xtar,
    jsonVersion: JSON_VERSION,
    error: { code, message, exitCode: status, ...(path === undefined ? {} : { path }), ...(problems === undefined ? {} : { problems }) },
  };
}

const OUTPUT_OF: Readonly<Record<string, JsonOutput>> = {
  pack: 'pack',
  unpack: 'unpack',
  verify: 'verify',
  repair: 'repair',
  list: 'list',
  activity: 'activity',
  'expand-structure': 'expand-structure',
  index: 'index-rebuild',
  rescue: 'rescue',
  prune: 'prune',
};

/**
 * What the raw arguments ask of the output, read without yargs so that a usage error (which yargs
 * never parsed) is answered in JSON too: --json, --quiet, and which output the command makes.
 */
export function outputWanted(argv: readonly string[]): { json: boolean; quiet: boolean; xtar: JsonOutput | 'xtar' } {
  const end = argv.indexOf('--');
  const args = end < 0 ? argv : argv.slice(0, end);
  let json = false;
  let quiet = false;
  for (const a of args) {
    if (a === '--json' || a === '--json=true') json = true;
    else if (a === '--no-json' || a === '--json=false') json = false;
    else if (a === '--quiet' || a === '--quiet=true' || /^-[a-zA-Z]*q[a-zA-Z]*$/.test(a)) quiet = true;
  }
  const word = args.find((a) => !a.startsWith('-'));
  let xtar: JsonOutput | 'xtar' = word === undefined ? 'xtar' : (OUTPUT_OF[word] ?? 'xtar');
  if (xtar === 'list' && args.includes('--obsolete')) xtar = 'list-obsolete';
  return { json, quiet, xtar };
}

/**
 * Problems of a finished run on stderr: each on its line without --json; with --json they are in the
 * object, and stderr gets one line that says how many (nothing at all with --quiet).
 */
export function reportProblems(io: Io, mode: { json: boolean; quiet: boolean }, count: number, eachLine: () => void): void {
  if (!mode.json) eachLine();
  else if (!mode.quiet && count > 0) io.stderr.write(`xtar: ${count} problem(s), listed in the JSON on stdout\n`);
}
