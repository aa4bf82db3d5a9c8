/**
 * Selection: which entries of a source a walk leaves out, and by which rule — shared by pack, its dry
 * run and activity. The walker asks once per folder (`DirScope.enter`, with the names it already
 * listed) and once per entry (`DirScope.check*`); nothing here walks. Rules, in the order they are
 * tried: the folder flags (`--exclude-flag`, `--exclude-caches`), `--one-file-system`,
 * `--exclude-regex`, the gitignore-style patterns (`--exclude` and `--exclude-from` first, then each
 * folder's `.xtarignore`, deepest first, as git orders its pattern sources), then `--max-age`.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import type { BigIntStats, Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type ignoreFactory from 'ignore';
import type { Ignore } from 'ignore';
import { entryErrorMessage, InputError, osErrorSentence } from '../errors.js';

export interface SelectionOptions {
  /** gitignore lines (`*.log`, `/build/`, `!keep.log`), anchored at the source; a leading `./` is read as `/`. */
  exclude?: readonly string[];
  /** Files of gitignore lines, read before `exclude` (so an `--exclude` line wins over them). */
  excludeFrom?: readonly string[];
  /** JavaScript regular expressions tested against the path below the source, '/'-separated. */
  excludeRegex?: readonly string[];
  /** The ignore file read in every folder (default `.xtarignore`); null: none. */
  ignoreFile?: string | null;
  /** A folder holding an entry of this name is left out with everything below it (default `.bkexclude`); null: none. */
  excludeFlag?: string | null;
  /** Leave out folders holding a CACHEDIR.TAG that begins with the standard signature. */
  excludeCaches?: boolean;
  /** Leave out regular files modified less than this many ms before `nowMs` (still being written). */
  maxAgeMs?: number;
  /** The clock for `maxAgeMs`, ms since 1970 (default: when the selection is made). */
  nowMs?: number;
  /** Stay on the source's file system: folders and files on another device are left out. */
  oneFileSystem?: boolean;
}

export type ExclusionKind = 'exclude' | 'exclude-from' | 'exclude-regex' | 'ignore-file' | 'flag' | 'caches' | 'max-age' | 'one-file-system';

/** Why an entry is left out: the kind of rule and the rule with its source, as the dry run prints it. */
export interface Exclusion {
  kind: ExclusionKind;
  rule: string;
}

export const DEFAULT_IGNORE_FILE = '.xtarignore';
export const DEFAULT_EXCLUDE_FLAG = '.bkexclude';
export const CACHEDIR_TAG = 'CACHEDIR.TAG';
/** The first 43 bytes of a CACHEDIR.TAG (https://bford.info/cachedir/). */
export const CACHEDIR_SIGNATURE = Buffer.from('Signature: 8a477f597d28d172789f06886806bc55', 'latin1');

/** A set of gitignore rules anchored at one folder (`base`, '' for the source), its rules marked with their source. */
interface Layer {
  base: string;
  rules: Ignore;
  marks: Map<string, Exclusion>;
}

/** One layer as seen from a folder below its base: a fresh matcher (its cache lives as long as the folder) and the folder's path from the base. */
interface LayerView {
  layer: Layer;
  ig: Ignore;
  prefix: string;
}

let ignore: typeof ignoreFactory | undefined;

function newIgnore(): Ignore {
  // Loaded on the first pattern, not with the module: loading it costs about as much CPU as
  // walking a few thousand files, which a run without patterns should not pay.
  ignore ??= createRequire(import.meta.url)('ignore') as typeof ignoreFactory;
  // gitignore is case-sensitive on Linux (core.ignorecase=false).
  return ignore({ ignorecase: false });
}

/** A layer from gitignore text: one rule per line (blank lines and `#` comments pass), each marked with its source and line. */
function layerOf(base: string, lines: readonly { text: string; kind: ExclusionKind; rule: string }[]): Layer | null {
  const rules = newIgnore();
  const marks = new Map<string, Exclusion>();
  for (const l of lines) {
    const text = l.text.replace(/\r$/, '');
    if (text.trim() === '' || text.startsWith('#')) continue;
    const mark = String(marks.size);
    marks.set(mark, { kind: l.kind, rule: l.rule });
    rules.add({ pattern: text, mark });
  }
  return marks.size === 0 ? null : { base, rules, marks };
}

function fileLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** `1h`, `10m`, `1d`: a duration in its largest whole unit, for the rule's text. */
export function durationText(ms: number): string {
  for (const [unit, n] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= n && ms % n === 0) return `${ms / n}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * Read at most `n` bytes of a regular file without following a symlink or blocking on a FIFO; null
 * when it is not a regular file.
 */
function readHead(path: string, n: number): Buffer | null {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return null;
    const size = Math.min(n, st.size);
    const buf = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const r = readSync(fd, buf, got, size - got, got);
      if (r === 0) break;
      got += r;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** The rules of one run, compiled once; `root()` gives the scope of the source's own folder. */
export class Selection {
  readonly ignoreFile: string | null;
  readonly excludeFlag: string | null;
  private readonly ignoreFileBytes: Buffer | null;
  private readonly flagBytes: Buffer | null;
  private readonly tagBytes: Buffer | null;
  readonly regexes: { re: RegExp; why: Exclusion }[];
  readonly cmdline: Layer | null;
  /** Files modified after this (ms since 1970) are left out; Infinity: none. */
  readonly cutoffMs: number;
  readonly cutoffNs: bigint | null;
  readonly maxAge: Exclusion | null;
  readonly oneFileSystem: boolean;

  constructor(o: SelectionOptions = {}) {
    this.ignoreFile = o.ignoreFile === undefined ? DEFAULT_IGNORE_FILE : o.ignoreFile;
    this.excludeFlag = o.excludeFlag === undefined ? DEFAULT_EXCLUDE_FLAG : o.excludeFlag;
    this.ignoreFileBytes = this.ignoreFile === null ? null : Buffer.from(this.ignoreFile);
    this.flagBytes = this.excludeFlag === null ? null : Buffer.from(this.excludeFlag);
    this.tagBytes = o.excludeCaches === true ? Buffer.from(CACHEDIR_TAG) : null;
    this.regexes = (o.excludeRegex ?? []).map((text) => {
      let re: RegExp;
      try {
        re = new RegExp(text);
      } catch (e) {
        throw new InputError(`--exclude-regex ${JSON.stringify(text)} is not a regular expression: ${(e as Error).message}.`, text, e);
      }
      return { re, why: { kind: 'exclude-regex' as const, rule: `--exclude-regex '${text}'` } };
    });
    const lines: { text: string; kind: ExclusionKind; rule: string }[] = [];
    for (const file of o.excludeFrom ?? []) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new InputError(`--exclude-from ${file}: ${osErrorSentence(e, 'fatal') ?? (e as Error).message}.`, file, e);
      }
      fileLines(text).forEach((t, i) => lines.push({ text: t, kind: 'exclude-from', rule: `--exclude-from ${file}: line ${i + 1} '${t}'` }));
    }
    for (const p of o.exclude ?? []) lines.push({ text: p.replace(/^\.\//, '/'), kind: 'exclude', rule: `--exclude '${p}'` });
    this.cmdline = layerOf('', lines);
    const maxAge = o.maxAgeMs;
    if (maxAge !== undefined && !(Number.isFinite(maxAge) && maxAge >= 0)) throw new InputError(`--max-age must be a duration of 0 or more.`, String(maxAge));
    this.cutoffMs = maxAge === undefined ? Infinity : (o.nowMs ?? Date.now()) - maxAge;
    this.cutoffNs = maxAge === undefined ? null : BigInt(Math.floor(this.cutoffMs)) * 1_000_000n;
    this.maxAge = maxAge === undefined ? null : { kind: 'max-age', rule: `--max-age ${durationText(maxAge)}` };
    this.oneFileSystem = o.oneFileSystem === true;
  }

  /** The scope of the source's folder (`dev`: its device, for --one-file-system). */
  root(dev: bigint | number): DirScope {
    const views: LayerView[] = this.cmdline === null ? [] : [{ layer: this.cmdline, ig: this.cmdline.rules, prefix: '' }];
    return new DirScope(this, views, BigInt(dev), Number(dev));
  }

  /** Whether a folder's listed names hold the ignore file, the flag or a cache tag: one pass, Buffer or string names. */
  special(names: readonly (Buffer | string)[]): { ignore: boolean; flag: boolean; tag: boolean } | null {
    let ignoreFile = false;
    let flag = false;
    let tag = false;
    const i = this.ignoreFileBytes;
    const f = this.flagBytes;
    const t = this.tagBytes;
    for (const n of names) {
      if (typeof n === 'string') {
        if (n === this.ignoreFile) ignoreFile = true;
        else if (n === this.excludeFlag) flag = true;
        else if (t !== null && n === CACHEDIR_TAG) tag = true;
      } else if (i !== null && n.length === i.length && n.equals(i)) ignoreFile = true;
      else if (f !== null && n.length === f.length && n.equals(f)) flag = true;
      else if (t !== null && n.length === t.length && n.equals(t)) tag = true;
    }
    return ignoreFile || flag || tag ? { ignore: ignoreFile, flag, tag } : null;
  }
}

const FLAG: Exclusion = { kind: 'flag', rule: '' };
const CACHES: Exclusion = { kind: 'caches', rule: CACHEDIR_TAG };
const OTHER_FS: Exclusion = { kind: 'one-file-system', rule: 'other file system' };

export function isExclusion(x: DirScope | Exclusion): x is Exclusion {
  return !(x instanceof DirScope);
}

/** The rules in force in one folder. Checks return null (nothing allocated) when an entry is kept. */
export class DirScope {
  /** Whether any name or path rule is in force here: when not, checks look at the stat alone. */
  private readonly byName: boolean;

  constructor(
    private readonly sel: Selection,
    /** Highest precedence first: the command line's patterns, then ignore files deepest first. */
    private readonly views: readonly LayerView[],
    private readonly devBig: bigint,
    private readonly dev: number,
  ) {
    this.byName = views.length > 0 || sel.regexes.length > 0;
  }

  /**
   * Entering a child folder (`abs` on disk, `rel` below the source, `path` its record path, shown in
   * rule sources) whose listed names are `names`: the scope for its entries, or why the folder is left
   * out with everything below it. `skip` records an ignore file that cannot be read.
   */
  enter(abs: string, path: string, rel: string, names: readonly (Buffer | string)[], skip: (path: string, reason: string) => void): DirScope | Exclusion {
    const sel = this.sel;
    const special = sel.special(names);
    const views = this.views;
    if (special === null) return views.length === 0 ? this : this.below(rel, views);
    if (special.flag) return { ...FLAG, rule: `${sel.excludeFlag} flag` };
    if (special.tag) {
      try {
        const head = readHead(join(abs, CACHEDIR_TAG), CACHEDIR_SIGNATURE.length);
        if (head !== null && head.equals(CACHEDIR_SIGNATURE)) return CACHES;
      } catch {
        /* not a readable tag: not one */
      }
    }
    let own: Layer | null = null;
    if (special.ignore) {
      const file = `${path}/${sel.ignoreFile}`;
      try {
        const text = readHead(join(abs, sel.ignoreFile as string), 1 << 20);
        if (text !== null) {
          own = layerOf(
            rel,
            fileLines(text.toString('utf8')).map((t, i) => ({ text: t, kind: 'ignore-file', rule: `${file}: line ${i + 1} '${t.replace(/\r$/, '')}'` })),
          );
        }
      } catch (e) {
        skip(file, `cannot read the ignore file: ${entryErrorMessage(e, 'scan')}`);
      }
    }
    const inherited = views.length === 0 ? views : this.below(rel, views).views;
    if (own === null) return inherited === views ? this : new DirScope(sel, inherited, this.devBig, this.dev);
    // The folder's own file ranks below the command line and above the files of the folders above it.
    const ownView: LayerView = { layer: own, ig: own.rules, prefix: '' };
    const cmd = sel.cmdline;
    const out = cmd !== null && inherited[0]?.layer === cmd ? [inherited[0], ownView, ...inherited.slice(1)] : [ownView, ...inherited];
    return new DirScope(sel, out, this.devBig, this.dev);
  }

  /** The same layers seen from child folder `rel`; each matcher is fresh so its cache lives only as long as the folder. */
  private below(rel: string, views: readonly LayerView[]): DirScope {
    const next = views.map((v) => {
      const prefix = v.layer.base === '' ? rel : rel.slice(v.layer.base.length + 1);
      return { layer: v.layer, ig: newIgnore().add(v.layer.rules), prefix };
    });
    return new DirScope(this.sel, next, this.devBig, this.dev);
  }

  /** An entry of the walk (bigint lstat): null when kept. `name` is its name, `rel` its path below the source. */
  checkBig(name: string, rel: string, st: BigIntStats): Exclusion | null {
    const sel = this.sel;
    if (sel.oneFileSystem && st.dev !== this.devBig) return OTHER_FS;
    if (this.byName) {
      const why = this.byNameCheck(name, rel, st.isDirectory());
      if (why !== null) return why;
    }
    if (sel.cutoffNs !== null && st.mtimeNs > sel.cutoffNs && st.isFile()) return sel.maxAge;
    return null;
  }

  /** The same for a number lstat (the quick walk). */
  check(name: string, rel: string, st: Stats): Exclusion | null {
    const sel = this.sel;
    if (sel.oneFileSystem && st.dev !== this.dev) return OTHER_FS;
    if (this.byName) {
      const why = this.byNameCheck(name, rel, st.isDirectory());
      if (why !== null) return why;
    }
    if (st.mtimeMs > sel.cutoffMs && st.isFile()) return sel.maxAge;
    return null;
  }

  /** The name and path rules alone, for an entry known to be a folder or not without a stat. */
  byNameCheck(name: string, rel: string, isDir: boolean): Exclusion | null {
    for (const r of this.sel.regexes) if (r.re.test(rel)) return r.why;
    for (const v of this.views) {
      const p = v.prefix === '' ? name : `${v.prefix}/${name}`;
      const t = v.ig.test(isDir ? `${p}/` : p);
      if (t.ignored) return v.layer.marks.get(t.rule?.mark ?? '') ?? { kind: 'exclude', rule: t.rule?.pattern ?? '' };
      if (t.unignored) return null;
    }
    return null;
  }

  /** Whether the quick walk must lstat a folder before deciding (only for --one-file-system). */
  get needsDirStat(): boolean {
    return this.sel.oneFileSystem;
  }
}
