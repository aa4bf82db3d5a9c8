/**
 * Bundling small files (`pack --bundle`, docs/FORMAT.md "Bundles"): the compressed blobs of small
 * files of one folder, gathered in record order, made one multi-entry zip and placed as one tar
 * entry; each file then gets its own catalog line with its member's range. Catalog lines of the files
 * met while a bundle is open (references, skips) wait for it, so the catalog stays in record order.
 */
import { bundleEntryName } from '../format/names.js';
import type { BlobPart } from '../format/records.js';
import { encodeBundle } from '../format/zip.js';

/** Files of at most this many bytes are bundled, and a bundle holds at most this many bytes of them. */
export const BUNDLE_BYTES = 4096;
/** Members of a bundle by default (`--bundle` without `--bundle-files`), and the range allowed. */
export const BUNDLE_DEFAULT = 16;
export const BUNDLE_MIN = 2;
export const BUNDLE_MAX = 256;

/** A file waiting in the open bundle: its compressed blob, and what records it once placed. */
export interface Member {
  blob: Buffer;
  size: number;
  /** The most its catalog line can take. */
  lineBytes: number;
  /** Records the file (index rows, catalog line) once its range is known. */
  record: (part: BlobPart, bundle: string) => Promise<void>;
  /** Stores it as the plain blob it is, and records it (a bundle of one is not worth its name). */
  alone: () => Promise<void>;
}

type Pending = { kind: 'member'; m: Member } | { kind: 'later'; run: () => Promise<void> };

/** Where a bundle is placed (the volume writer, its folders opened first); the bundle's parts. */
export type PlaceBundle = (entry: string, bytes: Buffer, lineBytes: number) => Promise<BlobPart[]>;

export class Bundler {
  private pending: Pending[] = [];
  private members = 0;
  private bytes = 0;
  /** Bundles made so far in each open folder (numbers go on across volumes, so names never repeat in a folder). */
  private readonly counts: number[] = [0];

  constructor(
    readonly max: number,
    private readonly place: PlaceBundle,
  ) {}

  /** Whether a file of `size` bytes can go in a bundle. */
  static fits(size: number): boolean {
    return size <= BUNDLE_BYTES;
  }

  get open(): boolean {
    return this.pending.length > 0;
  }

  /** A folder is entered (flush first) or left. */
  async enter(): Promise<void> {
    await this.flush();
    this.counts.push(0);
  }

  async exit(): Promise<void> {
    await this.flush();
    this.counts.pop();
  }

  /** Add a small file; the bundle is placed once full. */
  async add(m: Member): Promise<void> {
    if (this.members > 0 && this.bytes + m.size > BUNDLE_BYTES) await this.flush();
    this.pending.push({ kind: 'member', m });
    this.members++;
    this.bytes += m.size;
    if (this.members >= this.max) await this.flush();
  }

  /** Something to record after the open bundle's files (a reference, a skip); at once when none is open. */
  async later(run: () => Promise<void>): Promise<void> {
    if (this.pending.length === 0) return run();
    this.pending.push({ kind: 'later', run });
  }

  /** Place the open bundle (if any) and record its files and what waited, in order. */
  async flush(): Promise<void> {
    const pending = this.pending;
    if (pending.length === 0) return;
    this.pending = [];
    const members = pending.filter((p): p is Extract<Pending, { kind: 'member' }> => p.kind === 'member').map((p) => p.m);
    this.members = 0;
    this.bytes = 0;
    if (members.length === 1) {
      for (const p of pending) await (p.kind === 'member' ? p.m.alone() : p.run());
      return;
    }
    const n = (this.counts[this.counts.length - 1] ?? 0) + 1;
    this.counts[this.counts.length - 1] = n;
    const entry = bundleEntryName(n);
    const { bundle, ranges } = encodeBundle(members.map((m) => m.blob));
    const parts = await this.place(entry, bundle, members.reduce((n, m) => n + m.lineBytes, 0));
    const at = parts[0] as BlobPart;
    let i = 0;
    for (const p of pending) {
      if (p.kind === 'later') {
        await p.run();
        continue;
      }
      const r = ranges[i++] as { offset: number; length: number };
      await p.m.record({ volume: at.volume, offset: at.offset + r.offset, length: r.length }, entry);
    }
  }
}
