/**
 * Finding what to read: a set folder (its newest backup's volumes), a volume folder, or a bare .xtar
 * file; and the records that go with each.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { AGE_SUFFIX } from '../format/encryption.js';
import { parseStoreUrl } from '../store/s3-url.js';
import { ARCHIVE_SUFFIX, parseVolumeName, SET_MARKER, VOLUME_CATALOG, VOLUME_STRUCTURE } from '../format/layout.js';

export interface VolumeSource {
  /** The volume folder, or null for a bare .xtar. */
  dir: string | null;
  archive: string;
  structure: string | null;
  catalog: string | null;
  backupId: string | null;
  volume: number | null;
}

/** A volume's record beside its archive: plain, or (an encrypted set's) the age file `NAME.age`. */
function recordIn(dir: string, names: readonly string[], name: string): string | null {
  if (names.includes(name)) return join(dir, name);
  return names.includes(name + AGE_SUFFIX) ? join(dir, name + AGE_SUFFIX) : null;
}

async function volumeFromDir(dir: string): Promise<VolumeSource | null> {
  const names = await readdir(dir);
  const archives = names.filter((n) => n.endsWith(ARCHIVE_SUFFIX));
  if (archives.length !== 1) return null;
  const archive = archives[0] as string;
  const parsed = parseVolumeName(archive.slice(0, -ARCHIVE_SUFFIX.length));
  return {
    dir,
    archive: join(dir, archive),
    structure: recordIn(dir, names, VOLUME_STRUCTURE),
    catalog: recordIn(dir, names, VOLUME_CATALOG),
    backupId: parsed?.backupId ?? null,
    volume: parsed?.volume ?? null,
  };
}

/** The volumes of a set, grouped by backup id, oldest backup first, volumes in order. */
export async function setVolumes(set: string): Promise<Map<string, VolumeSource[]>> {
  const byBackup = new Map<string, VolumeSource[]>();
  for (const name of (await readdir(set)).sort()) {
    const parsed = parseVolumeName(name);
    if (!parsed) continue;
    const v = await volumeFromDir(join(set, name));
    if (!v) continue;
    const list = byBackup.get(parsed.backupId) ?? [];
    list.push({ ...v, backupId: parsed.backupId, volume: parsed.volume });
    byBackup.set(parsed.backupId, list);
  }
  return byBackup;
}

/**
 * Resolve one command-line input to the volumes it stands for: a set's newest backup's volumes, or
 * with `allBackups` every backup's (for restoring an incremental, whose files earlier backups hold).
 */
export async function locate(input: string, allBackups = false): Promise<VolumeSource[]> {
  // A URL is never a path: s3:// sets are opened as their cache by the commands that read them (remote-set.ts).
  if (parseStoreUrl(input) !== null) throw new InputError(`${input}: this command reads sets on disc only, not in object storage.`, input);
  const abs = resolve(input);
  let st;
  try {
    st = await stat(abs);
  } catch {
    throw new InputError(`${input} does not exist.`, input);
  }
  if (st.isFile()) {
    if (!abs.endsWith(ARCHIVE_SUFFIX)) throw new InputError(`${input} is not an .xtar file, a volume folder or a set folder.`, input);
    const dir = dirname(abs);
    const parsed = parseVolumeName(basename(abs).slice(0, -ARCHIVE_SUFFIX.length));
    const sameVolume = parsed !== null && basename(dir) === basename(abs).slice(0, -ARCHIVE_SUFFIX.length);
    const names = sameVolume ? await readdir(dir) : [];
    return [{
      dir: sameVolume ? dir : null,
      archive: abs,
      structure: recordIn(dir, names, VOLUME_STRUCTURE),
      catalog: recordIn(dir, names, VOLUME_CATALOG),
      backupId: parsed?.backupId ?? null,
      volume: parsed?.volume ?? null,
    }];
  }
  if (!st.isDirectory()) throw new InputError(`${input} is not an .xtar file, a volume folder or a set folder.`, input);
  const vol = await volumeFromDir(abs);
  if (vol) return [vol];
  const names = await readdir(abs);
  const backups = await setVolumes(abs);
  if (backups.size === 0) {
    const what = names.includes(SET_MARKER) ? 'is an xtar set with no complete volume' : 'is not an xtar set or volume';
    throw new InputError(`${input} ${what}.`, input);
  }
  if (allBackups) return [...backups.values()].flat();
  const newest = [...backups.keys()].sort().at(-1) as string;
  return backups.get(newest) as VolumeSource[];
}

/**
 * The command line's positionals: the first is always an input; each later one is an input when it
 * names a set, a volume folder or an .xtar file, and otherwise a path or glob to restore.
 */
export async function splitInputs(args: readonly string[]): Promise<{ inputs: string[]; paths: string[] }> {
  const inputs: string[] = [];
  const paths: string[] = [];
  for (const [i, a] of args.entries()) {
    if (i === 0) inputs.push(a);
    else if (await locate(a).then(() => true, () => false)) inputs.push(a);
    else paths.push(a);
  }
  return { inputs, paths };
}
