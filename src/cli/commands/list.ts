/** `xtar list SET [--files [GLOB]]`: call the catalog library, render backups and volumes. */
import { listFiles, listSet } from '../../catalog/list.js';
import { humanBytes, printJson, type Io } from '../render.js';

export interface ListArgs {
  set: string;
  /** undefined: no file list; '' (flag without a value): every file; else a glob. */
  files: string | undefined;
  json: boolean;
}

export async function runList(a: ListArgs, io: Io): Promise<number> {
  const backups = await listSet(a.set);
  const glob = a.files === undefined || a.files === '' ? undefined : a.files;
  const withFiles = a.files !== undefined;
  const files = new Map<string, Awaited<ReturnType<typeof listFiles>>>();
  if (withFiles) for (const b of backups) files.set(b.id, await listFiles(a.set, b.id, glob));
  if (a.json) {
    printJson(io, {
      backups: backups.map((b) => ({
        id: b.id,
        kind: b.kind,
        created: b.created,
        files: b.files,
        bytes: b.bytes,
        volumes: b.volumes.map((v) => ({ volume: v.volume, path: v.path, bytes: v.bytes, files: v.files })),
        ...(b.volumeCount !== null && b.volumeCount !== b.volumes.length ? { missingVolumes: missing(b.volumeCount, b.volumes.map((v) => v.volume)) } : {}),
        ...(withFiles ? { fileList: files.get(b.id) } : {}),
      })),
    });
    return 0;
  }
  for (const b of backups) {
    io.stdout.write(`${b.id}  ${b.kind}  ${b.created}  ${b.files} files  ${humanBytes(b.bytes)}  ${b.volumes.length} volume(s)\n`);
    for (const v of b.volumes) io.stdout.write(`  volume ${v.volume}: ${humanBytes(v.bytes)}, ${v.files} files  ${v.path}\n`);
    if (b.volumeCount !== null && b.volumeCount > b.volumes.length) io.stdout.write(`  missing: volume(s) ${missing(b.volumeCount, b.volumes.map((v) => v.volume)).join(', ')}\n`);
    for (const f of files.get(b.id) ?? []) io.stdout.write(`    ${f.volumes.join('+').padStart(5)}  ${f.path}\n`);
  }
  return 0;
}

function missing(count: number, present: number[]): number[] {
  return Array.from({ length: count }, (_, i) => i + 1).filter((n) => !present.includes(n));
}
