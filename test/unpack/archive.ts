/** A small multi-volume set for the stage tests, made with the real pack(); and a restore's context, set up as unpack does. */
import { after, before } from 'node:test';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pack } from '../../src/pack/pack.js';
import { catalogLines } from '../../src/set/read-records.js';
import { locate, type VolumeSource } from '../../src/set/locate.js';
import { VerifySink, type Sink } from '../../src/unpack/sink.js';
import { prepareRestore, type RestoreOptions } from '../../src/unpack/unpack.js';
import { removeTree, seededBytes, tempDir } from '../helpers/tree.js';

export interface Packed {
  set: string;
  volumes: VolumeSource[];
  /** Every file's path (as records give it) and the volumes of its parts. */
  files: Map<string, number[]>;
}

/** 14 incompressible files of 40 kB and one of 700 kB (split across volumes), in volumes of 300 KiB. */
export async function packVolumes(work: string): Promise<Packed> {
  const src = join(work, 'src', 'tree');
  await mkdir(join(src, 'a'), { recursive: true });
  await mkdir(join(src, 'b'), { recursive: true });
  for (let i = 0; i < 14; i++) await writeFile(join(src, i % 2 ? 'a' : 'b', `f${String(i).padStart(2, '0')}.bin`), seededBytes(i, 40_000));
  await writeFile(join(src, 'big.bin'), seededBytes(99, 700_000));
  const set = join(work, 'set');
  await pack({ source: src, out: set, jobs: 1, volumeSize: 300 * 1024, now: new Date('2026-11-01T00:00:00Z') });
  const volumes = await locate(set);
  const newest = volumes.at(-1) as VolumeSource;
  const files = new Map<string, number[]>();
  for await (const c of catalogLines({ path: newest.catalog as string, label: 'catalog' }, () => undefined)) if (!('skipped' in c)) files.set(c.path, c.parts.map((p) => p.volume));
  return { set, volumes, files };
}

/** A restore's context before any stage ran, its readers open; close it (ctx.close()) after. */
export async function openContext(opts: RestoreOptions, sink: Sink = new VerifySink('')) {
  const { plan, ctx } = await prepareRestore({ jobs: 1, ...opts }, sink);
  await ctx.open();
  return { plan, ctx };
}

/** In a describe(): the set packed before its tests (in a temporary folder, `work`), removed after. */
export function usePackedSet(): { work: string; p: Packed } {
  const at: { work: string; p: Packed } = { work: '', p: { set: '', volumes: [], files: new Map() } };
  before(async () => {
    at.work = await tempDir();
    at.p = await packVolumes(at.work);
  });
  after(() => removeTree(at.work));
  return at;
}
