#!/usr/bin/env node
/**
 * The xtar command line: registers commands with yargs and imports each handler only when it runs.
 * Parsing and rendering only — the work is done by the library (src/pack, src/unpack).
 */
// (First: V8's flags before anything else allocates.)
import './v8-flags.js';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UsageError } from '../errors.js';
import { describeFailure, EXIT_STATUS_HELP, exitStatusHelp } from './output/exit.js';
import type { Io } from './output/render.js';
import { errorJson, outputWanted } from './output/json.js';
import type { OptionSpec } from '../config/config.js';
import type { EffectiveConfig } from '../config/effective.js';
import type { MailSettings } from '../config/mail-settings.js';
import { selectionFlags, selectionOf } from './select-options.js';
import type { CommandConfig } from '../config/config.js';
import { skipHelpCache } from './help-cache.js';

const io: Io = { stdout: process.stdout, stderr: process.stderr };

/**
 * Commands that only read, which end at once (exit 0) when the reader of their output goes away
 * (`xtar list SET --files | head -1`). Any other command writes something — volumes, files, an index,
 * a page — and finishes its work with the rest of its output dropped, ending with its own status, so
 * that no half-written volume is left behind.
 */
const ENDS_WHEN_READER_GOES = new Set(['list', 'verify']);
let endsWhenReaderGoes = false;

/** EPIPE on stdout or stderr: the reader closed on purpose, so no stack trace and no message. */
function onOutputError(e: NodeJS.ErrnoException): void {
  if (e.code === 'EPIPE') {
    if (endsWhenReaderGoes) process.exit(0);
    return;
  }
  // Any other failure (a full disk under `> FILE`) ends the run: one sentence, where stderr still works.
  const { message, status: s } = describeFailure(e);
  if (process.stderr.writable) process.stderr.write(`xtar: ${message}\n`);
  process.exit(s);
}
process.stdout.on('error', onOutputError);
process.stderr.on('error', onOutputError);

function common<T>(y: Argv<T>) {
  return y
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object on stdout at the end' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress and no summary' })
    .option('utc', { type: 'boolean', default: false, describe: 'show and read times in UTC (marked UTC) instead of local time with its offset' });
}

let status = 0;

/** A note for the user, on stderr: it changes no exit status. */
function noteOnStderr(line: string): void {
  io.stderr.write(`xtar: ${line}\n`);
}

/** Why `pack -C` is refused, and what to write instead. */
const PACK_C =
  "pack has no -C: name the folder to back up by its path and the set with --out (-o), e.g. `xtar pack ~/photos -o /media/backup` (the backup stores it as photos/, as `tar -C ~ photos` would).";

/** What yargs knows of a command's options as it runs (getOptions() and the parse's defaulted keys; not in @types/yargs). */
interface YargsView {
  getOptions(): { key: Record<string, unknown>; alias: Record<string, string[]>; boolean: string[]; number: string[]; array: string[]; choices: Record<string, (string | number)[]>; hiddenOptions: string[] };
  parsed?: { defaulted?: Record<string, boolean> };
}

/** Options of pack that are not settings of a backup, so not keys of a config. */
const NOT_IN_CONFIG = new Set(['help', 'version', 'config', 'print-config', 'src', 'from-command']);

/** pack's options as a config may give them: read from the command's own definitions, so each new option is a config key too. */
function configurableOptions(y: YargsView): OptionSpec[] {
  const o = y.getOptions();
  const aliases = new Set(Object.values(o.alias).flat());
  return Object.keys(o.key)
    .filter((name) => !aliases.has(name) && !NOT_IN_CONFIG.has(name) && !o.hiddenOptions.includes(name))
    .map((name) => {
      const type = o.array.includes(name) ? 'array' : o.boolean.includes(name) ? 'boolean' : o.number.includes(name) ? 'number' : 'string';
      return { name, type, ...(o.choices[name] === undefined ? {} : { choices: o.choices[name] }) };
    });
}

/** The config of this run of pack, and the effective configuration (for --print-config), as the middleware read them. */
let packConfig: { mail: MailSettings | null; commands: CommandConfig[]; effective: EffectiveConfig } = { mail: null, commands: [], effective: { sources: [], commands: [], options: {}, mail: null } };

/** `pack --from-command NAME -- CMD ARGS…`: the words after `--`, taken off the command line before yargs reads it (null: no `--`). */
let commandAfterDashes: string[] | null = null;

/** Split `pack … --from-command NAME … -- CMD ARGS…` into what yargs parses and the command (kept whole, as `env`/`sudo` do). */
function splitCommand(argv: string[]): string[] {
  const dashes = argv.indexOf('--');
  if (argv[0] !== 'pack' || dashes < 0) return argv;
  const head = argv.slice(0, dashes);
  if (!head.some((w) => w === '--from-command' || w.startsWith('--from-command='))) return argv;
  commandAfterDashes = argv.slice(dashes + 1);
  return head;
}

/** The command line's command source (--from-command NAME and the words after `--`). */
function commandLineCommands(name: unknown): CommandConfig[] {
  if (name === undefined) return [];
  if (Array.isArray(name)) throw new UsageError('--from-command is given once on the command line (one command follows `--`); several go in the config\'s `commands:`.');
  if (typeof name !== 'string' || name === '') throw new UsageError('--from-command needs NAME, the file the output is stored as: `--from-command db.sql -- pg_dump mydb`.');
  if (commandAfterDashes === null || commandAfterDashes.length === 0) throw new UsageError(`--from-command ${name} needs the command after \`--\`, e.g. \`--from-command ${name} -- pg_dump mydb\`.`);
  return [{ name, command: commandAfterDashes }];
}

/** `pack --config FILE --print-config --chown --log`: what an unattended run needs; the file fills what the flags leave unsaid. */
function packUnattended<T>(y: Argv<T>) {
  return y
    .option('config', { type: 'string', describe: 'read options, sources: and mail: from a YAML file (docs/config.example.yaml); flags given override it' })
    .option('print-config', { type: 'boolean', default: false, describe: 'print the effective configuration (flags over the file, the mail password masked) and pack nothing' })
    .option('chown', { type: 'string', describe: 'give what pack writes in the set (its files, the new volume folders) to UID[:GID]' })
    .option('log', { type: 'string', describe: 'append one line per run to FILE: start, end, counts, outcome and exit status (README "Running from cron")' })
    .example('$0 pack ~/documents /srv/www --out /media/backup', 'two folders, each a backup of its own in the set')
    .example('$0 pack --config /etc/xtar/backup.yaml', 'sources, set, options and the report by mail from a file (README "Running from cron")')
    .example('$0 pack --config /etc/xtar/backup.yaml --mode full --print-config', 'what a one-off full backup would use, password masked')
    .option('from-command', { type: 'string', describe: "store the standard output of the command after `--` as the file NAME (the source command:NAME), e.g. a database dump; stored again only when it changed" })
    .example('$0 pack --out /media/backup --from-command db.sql -- pg_dump -U app appdb', "a database dump as db.sql (unpack --source command:db.sql)")
    .middleware(async (a: Record<string, unknown>, yv?: YargsView) => {
      if (yv === undefined) return;
      const specs = configurableOptions(yv);
      const defaulted = yv.parsed?.defaulted ?? {};
      const given = (name: string): boolean => a[name] !== undefined && !defaulted[name] && !defaulted[camelName(name)];
      const { loadConfig } = await import('../config/config.js');
      const { applyConfig, camelName } = await import('../config/effective.js');
      const config = typeof a.config === 'string' ? await loadConfig(a.config, specs) : null;
      if (config !== null) applyConfig(a, config, given, yv.getOptions().alias);
      const named = ((a.src as unknown[] | undefined) ?? []).map(String);
      // A source named on the command line (a folder, or --from-command) stands for the file's sources: and commands: both.
      const namedCommands = commandLineCommands(a.fromCommand);
      const onCommandLine = named.length > 0 || namedCommands.length > 0;
      const sources = onCommandLine ? named : (config?.sources ?? []);
      const commands = onCommandLine ? namedCommands : (config?.commands ?? []);
      a.src = sources;
      const options: EffectiveConfig['options'] = {};
      for (const s of specs) if (a[s.name] !== undefined) options[s.name] = a[s.name] as EffectiveConfig['options'][string];
      packConfig = { mail: config?.mail ?? null, commands, effective: { sources, commands, options, mail: config?.mail ?? null } };
    }, true);
}

/** `xtar pack`: its options, examples and handler. */
function packCommand(y: Argv): Argv {
  return y.command(
    'pack [src..]',
    'back up folders into a set of volumes',
    (y) =>
      keyOptions(packUnattended(selectionFlags(common(y))))
        .positional('src', { type: 'string', array: true, describe: 'the folder(s) (or files) to back up, each into a backup of its own (or `sources:` in --config)' })
        .option('out', { alias: 'o', type: 'string', describe: 'the set folder to write (created if needed), or s3://BUCKET/PREFIX for a set in S3-compatible object storage (or `out:` in --config)' })
        .option('storage-class', { type: 'string', describe: 'for an s3:// set: the S3 storage class of the archives (e.g. DEEP_ARCHIVE, GLACIER_IR, STANDARD_IA); records stay in the default class' })
        .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: "print each file's path on stdout as its bytes are stored (as tar -v)" })
        // tar's -C DIR is the folder to work in; pack names SRC by its path instead, so -C is refused with the way to say it.
        .option('C', { type: 'string', hidden: true })
        .middleware((a) => {
          if (a.C !== undefined) throw new UsageError(PACK_C);
        }, true)
        .option('jobs', { alias: 'j', type: 'number', describe: 'compression threads (default: number of cores)' })
        .option('level', { alias: 'l', type: 'number', default: 6, describe: 'deflate level 0-9 (0 stores)' })
        .option('volume-size', {
          alias: 'V',
          type: 'string',
          describe: 'largest volume folder: bytes, K/M/G/T (powers of 1000, as on disc labels), KiB/MiB/GiB/TiB (powers of 1024), or cd, dvd, dvd-dl, bd, bd-dl (the medium less 4 MiB for its file system)',
        })
        .example('$0 pack ~/photos --out /media/backup', 'back up ~/photos into the set /media/backup')
        .example('$0 pack -v ~/photos -o /media/backup', "the same, naming each file as it is stored")
        .example('$0 pack ~/photos --out set --volume-size cd', 'volumes that each fit on a CD-R (80 min)')
        .option('since-cluster', { type: 'number', describe: 'pack only the files of the newest K activity clusters (radius --radius), for a quick disc of recent work' })
        .option('radius', { type: 'string', default: '1h', describe: 'cluster radius for --since-cluster' })
        .option('iso', { type: 'boolean', default: false, describe: 'also write each volume as an ISO 9660 image (Rock Ridge, Joliet) beside its folder, ready to burn (needs xorriso)' })
        .option('par2', { type: 'number', describe: 'add par2 recovery data of this many percent to each volume, within its size (needs par2)' })
        .option('mode', {
          choices: ['full', 'incremental', 'differential', 'cyclic'] as const,
          describe: 'full: everything; incremental: changes since the last backup (the default once the set holds one of SRC); differential: changes since the last full; cyclic: changes plus the 1/--split of the files stored longest ago',
        })
        .option('full-every', { type: 'number', default: 10, describe: 'make a full backup after this many others since the last full (0: never forced)' })
        .option('full-after', { type: 'string', default: '30d', describe: 'make a full backup once the last full is this old (e.g. 7d, 24h; 0: never forced)' })
        .option('split', { type: 'number', default: 10, describe: 'cyclic: refresh 1/N of the files per run, so every file has a copy from the last N backups' })
        .option('checksum', { type: 'boolean', default: false, describe: 'find changed files by content (sha256), not only size and mtime' })
        .option('dry-run', { alias: 'n', type: 'boolean', default: false, describe: 'write nothing: show what the backup would store, and what was deleted or renamed' })
        .option('encrypt', { type: 'boolean', describe: 'encrypt with age (a new set): a key of the set\'s own, locked with a passphrase from XTAR_PASSPHRASE, --passphrase-file or the prompt; a set made encrypted stays so' })
        .option('recipient', { alias: 'r', type: 'string', array: true, describe: 'encrypt (a new set) to this age public key (age1…) too, or instead of a passphrase (repeatable)' })
        .option('recipients-file', { alias: 'R', type: 'string', array: true, describe: 'encrypt (a new set) to the age public keys in FILE, one a line (repeatable)' })
        .option('bundle', { type: 'boolean', default: false, describe: 'store the small files (up to 4 KiB) of each folder several to one zip (up to --bundle-files of them, or 4 KiB): about 5x smaller sets of tiny files, at the cost of damage touching more files (README, "A million tiny files"); not with an encrypted set' })
        .option('bundle-files', { type: 'number', describe: 'with --bundle: at most this many files in a bundle, 2-256 (default 16)' })
        .option('index-plain', { type: 'boolean', describe: "an encrypted set: keep its index (xtar-index.sqlite, paths and sha256s in plain) on disk, instead of making it in memory from the volumes each run" })
        .example('XTAR_PASSPHRASE=… $0 pack ~/photos --out /media/backup --encrypt', 'an encrypted set: every file, record and name-to-hash stays inside age files')
        .example('$0 pack ~/photos --out set -r age1…', 'encrypted to a public key only: restore with --identity key.txt')
        .example('$0 pack ~/photos --out /media/backup', 'the first time a full backup, then incrementals')
        .example('$0 pack ~/work --out set --mode differential', 'everything changed since the last full backup')
        .example('$0 pack /srv --out set --mode cyclic --split 7', 'never a full: each run also refreshes 1/7 of the files')
        .example('$0 pack ~/work --out set --dry-run', 'what the next incremental would store')
        .example('$0 pack ~/photos --out set --volume-size 4.7G', 'volumes of at most 4,700,000,000 bytes')
        .example('$0 pack ~/photos --out set --volume-size cd --par2 10', 'CD volumes that survive scratches: 10% recovery data')
        .example('$0 pack ~/photos --out s3://backups/photos --storage-class DEEP_ARCHIVE', 'into object storage (credentials, region, endpoint: AWS_* variables or ~/.aws)')
        .example("$0 pack src --out set --exclude '*.o' --exclude 'build/cache'", 'leave out object files and one folder')
        .example("$0 pack /srv --out set --exclude-caches --max-age 10m --one-file-system -n", 'what would be left out, and by which rule')
        .epilog(`With several sources: exit 1 when some failed and the others were packed, 2 when every one failed.\n\n${EXIT_STATUS_HELP}`),
    async (a) => {
      const sources = (a.src ?? []).map(String);
      if (a.printConfig) {
        const { renderConfig } = await import('../config/effective.js');
        io.stdout.write(renderConfig(packConfig.effective));
        return;
      }
      const commands = packConfig.commands.map((c) => ({ name: c.name, argv: c.command }));
      if (sources.length === 0 && commands.length === 0) throw new UsageError('Name the folder(s) to back up, e.g. `xtar pack ~/photos --out /media/backup` (or `sources:` in --config).');
      if (a.out === undefined || a.out.trim() === '') throw new UsageError('--out needs a folder: the set to write, e.g. --out /media/backup (or `out:` in --config).');
      if (a.verbose && a.json) throw new UsageError('--verbose lists files on stdout, where --json prints its object: give one of them.');
      const { runPack } = await import('./commands/pack.js');
      const { parseVolumeSize } = await import('../pack/volume-size.js');
      const select = selectionOf(a, (await import('../activity/cluster.js')).parseDuration);
      const volumeSize = a.volumeSize === undefined ? undefined : parseVolumeSize(a.volumeSize);
      let changedSinceNs: bigint | undefined;
      if (a.sinceCluster !== undefined) {
        if (sources.length !== 1 || commands.length > 0) throw new UsageError('--since-cluster packs the recent work of one folder: name one source.');
        if (!Number.isInteger(a.sinceCluster) || a.sinceCluster < 1) throw new UsageError('--since-cluster must be a whole number of at least 1.');
        const { newestClustersStartNs, parseDuration } = await import('../activity/cluster.js');
        const radiusMs = parseDuration(a.radius);
        if (radiusMs === null) throw new UsageError(`--radius ${JSON.stringify(a.radius)} is not a duration such as 30m, 1h or 2d.`);
        changedSinceNs = await newestClustersStartNs(sources[0]!, a.sinceCluster, radiusMs, select);
      }
      const { parseDuration } = await import('../activity/cluster.js');
      const fullAfterMs = a.fullAfter.trim() === '0' ? 0 : parseDuration(a.fullAfter);
      const { packEncryption } = await import('./keys.js');
      const sealing = await packEncryption(a.out, a, a.dryRun);
      if (fullAfterMs === null) throw new UsageError(`--full-after ${JSON.stringify(a.fullAfter)} is not a duration such as 7d or 24h.`);
      status = await runPack(
        {
          sources,
          ...(commands.length === 0 ? {} : { commands }),
          out: a.out,
          jobs: a.jobs,
          level: a.level,
          select,
          json: a.json,
          quiet: a.quiet,
          volumeSize,
          par2: a.par2,
          ...(a.storageClass === undefined ? {} : { storageClass: a.storageClass }),
          changedSinceNs,
          iso: a.iso,
          mode: a.mode,
          fullEvery: a.fullEvery,
          fullAfterMs,
          split: a.split,
          checksum: a.checksum,
          ...(a.bundle || a.bundleFiles !== undefined ? { bundle: a.bundleFiles ?? (await import('../pack/bundle.js')).BUNDLE_DEFAULT } : {}),
          dryRun: a.dryRun,
          verbose: a.verbose,
          // --chown, --log and the config's mail: block (packUnattended).
          ...(a.chown === undefined ? {} : { chown: a.chown }),
          ...(a.log === undefined ? {} : { log: a.log }),
          mail: packConfig.mail,
          ...sealing,
        },
        io,
      );
    },
  );
}

/** --passphrase-file and --identity: how to open an encrypted set (the passphrase is never an argument; XTAR_PASSPHRASE or a prompt). */
function keyOptions<T>(y: Argv<T>) {
  return y
    .option('passphrase-file', { type: 'string', describe: "an encrypted set's passphrase: the first line of FILE (or XTAR_PASSPHRASE, or typed at the prompt on a terminal)" })
    .option('identity', { alias: 'i', type: 'string', array: true, describe: 'an age identity file (AGE-SECRET-KEY-1…) that opens an encrypted set made with --recipient (repeatable)' });
}

/** Open an encrypted input's key for the run (cli/keys.ts); nothing for a plain one. */
async function unlock(inputs: readonly string[], a: { passphraseFile?: string | undefined; identity?: (string | number)[] | undefined }): Promise<void> {
  const { unlockInputs } = await import('./keys.js');
  await unlockInputs(inputs, a);
}

/** --sector-size and --read-retries: how hard unpack, verify, rescue, expand-structure and list try a failing drive. */
function readOptions<T>(y: Argv<T>) {
  return y
    .option('sector-size', { type: 'number', default: 2048, describe: 'a failing read is narrowed down to pieces this large (a multiple of 512; 2048 for CDs, DVDs and BDs)' })
    .option('read-retries', { type: 'number', default: 2, describe: 'how many more times to read a sector the drive fails before giving it up as unreadable' });
}

/** --sector-size and --read-retries, checked. */
function readPolicy(sectorSize: number, retries: number): { sectorSize: number; retries: number } {
  if (!Number.isInteger(sectorSize) || sectorSize < 512 || sectorSize % 512 !== 0) throw new UsageError(`--sector-size ${sectorSize} is not a positive multiple of 512.`);
  if (!Number.isInteger(retries) || retries < 0 || retries > 100) throw new UsageError(`--read-retries ${retries} is not a whole number from 0 to 100.`);
  return { sectorSize, retries };
}

/** `xtar unpack`: its options, examples and handler. */
function unpackCommand(y: Argv): Argv {
  return y.command(
    'unpack <inputs..>',
    'restore from a set, volume folders or .xtar files',
    (y) =>
      keyOptions(readOptions(common(y)))
        .positional('inputs', {
          type: 'string',
          array: true,
          demandOption: true,
          describe: 'SET, VOLUME folder(s) or FILE.xtar, then optionally PATHS or GLOBS to restore (a folder brings all below it)',
        })
        .option('dest', { alias: 'C', type: 'string', demandOption: true, describe: 'the folder to restore into' })
        .option('backup', { type: 'string', describe: 'restore the tree as of this backup (an id from `xtar list`; default: the newest)' })
        .option('at', { type: 'string', describe: 'restore the tree as of the newest backup made at or before this date and time, local unless it names a zone (2026-11-01, 2026-11-01 18:00, 2026-11-01 18:00 +01:00, 2026-11-01T17:00Z); a date or minute counts to its end' })
        .conflicts('backup', 'at')
        .option('source', { type: 'string', describe: 'of a set holding backups of several folders: restore this folder\'s (its path as packed, shown by `xtar list`)' })
        .conflicts('backup', 'source')
        .option('keep-damaged', { type: 'boolean', default: false, describe: 'write a damaged file as NAME.damaged instead of leaving it out' })
        .option('jobs', { alias: 'j', type: 'number', describe: 'threads that inflate, check and write small files (default: number of cores)' })
        .option('overwrite', { type: 'boolean', describe: 'replace a file already in the destination (the default, as GNU tar)' })
        .option('keep-old-files', { alias: 'k', type: 'boolean', describe: 'never replace a file already in the destination: keep it and list it as refused (exit 1)' })
        .option('keep-newer-files', { type: 'boolean', describe: "keep a file already in the destination whose mtime is the same as the archive's copy or newer, and name it (exit 0, as GNU tar)" })
        .conflicts('overwrite', ['keep-old-files', 'keep-newer-files'])
        .conflicts('keep-old-files', 'keep-newer-files')
        .option('dry-run', { alias: 'n', type: 'boolean', default: false, describe: 'write nothing: check every file and list what would be written, replaced or kept' })
        .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: "print each file's path as it is restored, and each file on a volume not given" })
        .example('$0 unpack /media/backup --dest ~/restored', 'restore the newest state of the set (it names the volumes it needs first)')
        .example('$0 unpack /media/backup -C /tmp/r --at 2026-11-01', 'the tree as it was on 1 November')
        .example("$0 unpack /media/backup -C /tmp/r 'docs/*.odt' photos/2024", 'only some files and a folder')
        .example('$0 unpack /mnt/cdrom/20261123T070700Z-vol001 -C /tmp/r', 'restore one volume')
        .example('$0 unpack /media/backup -C /tmp/r --source /home/ann/photos', 'a set holding several folders\' backups: restore one folder\'s newest state')
        .example('$0 unpack /media/backup -C /tmp/r -v', 'name each file as it is restored')
        .example('$0 unpack /media/backup -C ~/work --overwrite', 'replace the files already in ~/work (the default)')
        .example('$0 unpack /media/backup -C ~/work --keep-old-files', 'restore only what is missing; each file already there is kept and named')
        .example('$0 unpack /media/backup -C ~/work --keep-newer-files', 'replace only files older than the archive\'s copies')
        .example('$0 unpack /media/backup -C ~/work --dry-run', 'list what would be written and what replaced; write nothing')
        .epilog(EXIT_STATUS_HELP),
    async (a) => {
      const jobs = (await import('../pack/options.js')).capJobs(a.jobs, noteOnStderr);
      const { runUnpack } = await import('./commands/unpack.js');
      let at: Date | undefined;
      if (a.at !== undefined) {
        const { parseTime, zoneFor } = await import('../util/time.js');
        const ms = parseTime(a.at, zoneFor(a.utc), { end: true });
        if (ms === null) throw new UsageError(`--at ${JSON.stringify(a.at)} is not a date such as 2026-11-01, 2026-11-01 18:00 or 2026-11-01 18:00 +01:00.`);
        at = new Date(ms);
      }
      const existing = a.keepOldFiles ? 'keep-old' : a.keepNewerFiles ? 'keep-newer' : 'overwrite';
      await unlock((a.inputs ?? []).map(String).slice(0, 1), a);
      status = await runUnpack({ inputs: (a.inputs ?? []).map(String), dest: a.dest, json: a.json, quiet: a.quiet, keepDamaged: a.keepDamaged, backup: a.backup, source: a.source, at, jobs, existing, dryRun: a.dryRun, verbose: a.verbose, read: readPolicy(a.sectorSize, a.readRetries) }, io);
    },
  );
}

/** `xtar expand-structure`: its options, examples and handler. */
function expandStructureCommand(y: Argv): Argv {
  return y.command(
    'expand-structure <input>',
    'bring back folders, links, FIFOs, modes, owners and times after a by-hand restore',
    (y) =>
      keyOptions(readOptions(common(y)))
        .positional('input', { type: 'string', demandOption: true, describe: 'SET, VOLUME folder, FILE.xtar or a structure.jsonl file' })
        .option('dest', { alias: 'C', type: 'string', demandOption: true, describe: 'the folder the files were restored into' })
        .option('prune', {
          type: 'boolean',
          default: false,
          describe: 'after restoring a full backup and later ones by hand into DEST: give renamed files their new names and remove files deleted since (anything below DEST/ROOT the record does not list)',
        })
        .example('$0 expand-structure /mnt/cdrom/20261123T070700Z-vol001/structure.jsonl --dest ~/restored', 'after tar + unzip by hand')
        .example('$0 expand-structure SET/20261130T070000Z-vol001 --dest ~/restored --prune', 'after restoring a full and its incrementals by hand, oldest first')
        .epilog(EXIT_STATUS_HELP),
    async (a) => {
      const { runExpandStructure } = await import('./commands/unpack.js');
      await unlock([a.input as string], a);
      status = await runExpandStructure({ input: a.input as string, dest: a.dest, json: a.json, quiet: a.quiet, prune: a.prune, read: readPolicy(a.sectorSize, a.readRetries) }, io);
    },
  );
}

/** `xtar verify`: its options, examples and handler. */
function verifyCommand(y: Argv): Argv {
  return y.command(
    'verify <inputs..>',
    'read everything and name every damaged file',
    (y) =>
      keyOptions(readOptions(common(y)))
        .positional('inputs', { type: 'string', array: true, demandOption: true, describe: 'SET, VOLUME folder(s) or FILE.xtar' })
        .option('jobs', { alias: 'j', type: 'number', describe: 'threads that inflate and check small files (default: number of cores)' })
        .example('$0 verify /mnt/cdrom/20261123T070700Z-vol001', 'check one disc')
        .example('$0 verify /media/backup --json', 'check the newest backup, for scripts')
        .epilog(
          `verify SET reads the newest backup and every earlier volume its files' bytes are on, and checks that the newest backup of each folder backed up can be restored in full: each volume it needs, its own or an earlier backup's, is in the set (older backups are not asked: list --obsolete may have let you reuse volumes only they need).\n\n${exitStatusHelp({
            1: 'something is damaged (each damaged file listed on stderr), or a SET lacks a volume its newest backup needs (named)',
            2: 'nothing could be read, or a usage error',
          })}`,
        ),
    async (a) => {
      const jobs = (await import('../pack/options.js')).capJobs(a.jobs, noteOnStderr);
      const { runVerify } = await import('./commands/unpack.js');
      await unlock((a.inputs ?? []).map(String), a);
      status = await runVerify({ inputs: (a.inputs ?? []).map(String), json: a.json, quiet: a.quiet, jobs, read: readPolicy(a.sectorSize, a.readRetries) }, io);
    },
  );
}

/** `xtar repair`: its options, examples and handler. */
function repairCommand(y: Argv): Argv {
  return y.command(
    'repair <inputs..>',
    'repair volumes with their par2 recovery files, then report what is intact',
    (y) =>
      keyOptions(common(y))
        .positional('inputs', { type: 'string', array: true, demandOption: true, describe: 'SET or VOLUME folder(s)' })
        .example('$0 repair /mnt/copy-of-disc-3', 'repair a damaged volume copied off its disc')
        .epilog(EXIT_STATUS_HELP),
    async (a) => {
      const { runRepair } = await import('./commands/unpack.js');
      await unlock((a.inputs ?? []).map(String), a);
      status = await runRepair({ inputs: (a.inputs ?? []).map(String), json: a.json, quiet: a.quiet }, io);
    },
  );
}

/** `xtar rescue`: its options, examples and handler. */
function rescueCommand(y: Argv): Argv {
  return y.command(
    'rescue <volumes..>',
    'copy what can be read off a damaged disc, with a ddrescue map of what could not',
    (y) =>
      readOptions(common(y))
        .positional('volumes', { type: 'string', array: true, demandOption: true, describe: 'VOLUME folder(s) on the damaged disc(s)' })
        .option('to', { type: 'string', demandOption: true, describe: 'the folder to copy into: each volume goes to DIR/<its folder name>/' })
        .example('$0 rescue /mnt/cdrom/20261123T070700Z-vol001 --to ~/rescued', 'copy every readable byte; unreadable ranges are zeros, listed in FILE.map')
        .example('$0 rescue /mnt/dvd2/20261123T070700Z-vol001 --to ~/rescued', 'again, from another drive or a cleaned disc: only the ranges still bad are read')
        .example('$0 repair ~/rescued/20261123T070700Z-vol001', 'then repair the copy with its par2 files (if packed with --par2)')
        .epilog(
          `Each file copied gets a map beside it, FILE.map, in GNU ddrescue's mapfile format (ddrescuelog reads it): '+' read, '-' unreadable. unpack, verify and repair of the copy take the '-' ranges as unreadable, never as zeros to trust.\n\n${exitStatusHelp({
            1: 'some ranges could not be read (each file named with its ranges on stderr); run again to retry them',
            2: 'a volume folder could not be read at all, or a usage error',
          })}`,
        ),
    async (a) => {
      const { runRescue } = await import('./commands/rescue.js');
      const command = ['xtar', ...hideBin(process.argv)].join(' ');
      status = await runRescue({ volumes: (a.volumes ?? []).map(String), to: a.to, json: a.json, quiet: a.quiet, read: readPolicy(a.sectorSize, a.readRetries), command }, io);
    },
  );
}

/** `xtar activity`: its options, examples and handler. */
function activityCommand(y: Argv): Argv {
  return y.command(
    'activity <dirs..>',
    'what changed on a disk, grouped by when it changed',
    (y) =>
      selectionFlags(common(y))
        .positional('dirs', { type: 'string', array: true, demandOption: true, describe: 'folders to look at' })
        .option('radius', { type: 'string', default: '1h', describe: 'a cluster goes on while the next change is at most this much later (30m, 1h, 2d)' })
        .option('since', { type: 'string', describe: 'only files changed since a duration ago (7d) or a date, local unless it names a zone (2026-11-01, 2026-11-01 18:00 +01:00)' })
        .option('all', { type: 'boolean', default: false, describe: 'list every file of every cluster' })
        .option('html', { type: 'string', describe: 'also write a self-contained page with a chart to FILE' })
        .option('against', { type: 'string', describe: "only what changed since the SET's newest backup (new, modified, deleted)" })
        .example('$0 activity ~ --since 30d', 'what happened in the home folder this month')
        .example('$0 activity ~/work --against /media/backup --html changes.html', 'review before burning an incremental')
        .epilog(EXIT_STATUS_HELP),
    async (a) => {
      const { runActivity } = await import('./commands/activity.js');
      const select = selectionOf(a, (await import('../activity/cluster.js')).parseDuration);
      status = await runActivity({ dirs: (a.dirs ?? []).map(String), radius: a.radius, since: a.since, select, json: a.json, quiet: a.quiet, all: a.all, html: a.html, against: a.against, utc: a.utc }, io);
    },
  );
}

/** `xtar list`: its options, examples and handler. */
function listCommand(y: Argv): Argv {
  return y.command(
    'list <set>',
    'show the backups in a set, their volumes, and which volume holds each file',
    (y) =>
      keyOptions(readOptions(common(y)))
        .positional('set', { type: 'string', demandOption: true, describe: 'the set folder' })
        .option('files', { type: 'string', describe: 'also list files (matching GLOB, if given) and the volume(s) holding each' })
        .option('obsolete', { type: 'boolean', default: false, describe: 'list the volumes no longer needed to restore the newest state (discs that can be reused)' })
        .option('keep', { type: 'number', default: 1, describe: 'with --obsolete: keep what the last K backups of each folder need' })
        .example('$0 list /media/backup', 'backups (oldest first) and their volumes')
        .example('$0 list /media/backup --obsolete --keep 3', 'discs not needed for any of the last 3 backups')
        .example("$0 list /media/backup --files '*.jpg'", 'which disc holds each photo')
        .epilog(EXIT_STATUS_HELP),
    async (a) => {
      const { runList } = await import('./commands/list.js');
      // (The backups and volumes are in plain; only the files need the key.)
      if (a.files !== undefined || a.obsolete) await unlock([a.set as string], a);
      status = await runList({ set: a.set as string, files: a.files, json: a.json, quiet: a.quiet, obsolete: a.obsolete, keep: a.keep, utc: a.utc, read: readPolicy(a.sectorSize, a.readRetries) }, io);
    },
  );
}

/** `xtar prune`: its options, examples and handler. */
function pruneCommand(y: Argv): Argv {
  return y.command(
    'prune <set>',
    'delete the volumes no kept backup needs (on disc or in object storage), naming each',
    (y) =>
      common(y)
        .positional('set', { type: 'string', demandOption: true, describe: 'the set folder, or s3://BUCKET/PREFIX' })
        .option('keep', { type: 'number', default: 1, describe: 'keep what the last K backups of each folder need (as list --obsolete --keep K)' })
        .option('dry-run', { alias: 'n', type: 'boolean', default: false, describe: 'only name the volumes that would be deleted' })
        .example('$0 prune /media/backup --keep 3 --dry-run', 'which volumes the last 3 backups of each folder do not need')
        .example('$0 prune s3://backups/photos --keep 7', 'delete them from the bucket')
        .epilog(EXIT_STATUS_HELP),
    async (a) => {
      const { runPrune } = await import('./commands/prune.js');
      status = await runPrune({ set: a.set as string, keep: a.keep, dryRun: a.dryRun, json: a.json, quiet: a.quiet }, io);
    },
  );
}

/** `xtar index`: its options, examples and handler. */
function indexCommand(y: Argv): Argv {
  return y.command(
    'index <action> <set>',
    "make the set's index again from its volumes",
    (y) =>
      keyOptions(common(y))
        .positional('action', { choices: ['rebuild'] as const, demandOption: true, describe: 'rebuild: read every backup\'s records and write the index anew' })
        .positional('set', { type: 'string', demandOption: true, describe: 'the set folder' })
        .example('$0 index rebuild /media/backup', 'after copying the discs back into a folder, or losing the index')
        .epilog(EXIT_STATUS_HELP),
    async (a) => {
      const { runIndexRebuild } = await import('./commands/index-rebuild.js');
      await unlock([a.set as string], a);
      status = await runIndexRebuild({ set: a.set as string, json: a.json, quiet: a.quiet }, io);
    },
  );
}

/** Every command, in the order `xtar --help` lists them. */
const COMMANDS: [name: string, add: (y: Argv) => Argv][] = [
  ['pack', packCommand],
  ['unpack', unpackCommand],
  ['expand-structure', expandStructureCommand],
  ['verify', verifyCommand],
  ['repair', repairCommand],
  ['rescue', rescueCommand],
  ['activity', activityCommand],
  ['list', listCommand],
  ['index', indexCommand],
  ['prune', pruneCommand],
];

/** `xtar help [COMMAND]` is `xtar [COMMAND] --help`, as in git and npm. */
function helpAsOption(argv: string[]): string[] {
  return argv[0] === 'help' ? [...argv.slice(1, 2), '--help'] : argv;
}

async function main(given: string[]): Promise<void> {
  const argv = splitCommand(helpAsOption(given));
  const names = COMMANDS.map(([name]) => name);
  const cli = yargs(argv)
    .scriptName('xtar')
    .usage('$0 <command> [options]\n\nAn archiver for discs and cold media: each file is compressed on its own, then tarred,\nso damage costs only the files that stood there.');
  for (const [, add] of COMMANDS) add(cli);
  await cli
    .middleware((a: { _: (string | number)[] }, y?: unknown) => {
      endsWhenReaderGoes = ENDS_WHEN_READER_GOES.has(String(a._[0]));
      skipHelpCache(y);
    })
    .demandCommand(1, `Name a command: ${names.slice(0, -1).join(', ')} or ${names.at(-1) ?? ''} (xtar help COMMAND shows its options).`)
    .strict()
    .recommendCommands()
    .epilog(EXIT_STATUS_HELP)
    .help()
    .alias('help', 'h')
    .version()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(msg);
    })
    .parseAsync();
}

main(hideBin(process.argv)).then(
  () => {
    process.exitCode = status;
  },
  (e: unknown) => {
    const { message, status: s } = describeFailure(e);
    // With --json a fatal error (a usage error too) is also one object on stdout (docs/JSON.md).
    const wanted = outputWanted(hideBin(process.argv));
    if (wanted.json) io.stdout.write(`${JSON.stringify(errorJson(wanted.xtar, e), null, 2)}\n`);
    io.stderr.write(`xtar: ${message}\n`);
    if (e instanceof UsageError && !wanted.json) io.stderr.write('Try xtar --help.\n');
    process.exitCode = s;
  },
);
