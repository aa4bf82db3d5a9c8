/**
 * Test helpers: build fixture trees (including the nasty one), take a snapshot of a tree with every
 * property xtar promises to keep, and compare snapshots.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, open, readdir, readlink, rm, symlink, truncate, writeFile, link, chown } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from './prng.js';

export async function tempDir(prefix = 'xtar-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeTree(dir: string): Promise<void> {
  // Read-only folders would stop rm: open them up first.
  try {
    execFileSync('chmod', ['-R', 'u+rwx', dir], { stdio: 'ignore' });
  } catch {
    /* best effort */
  }
  await rm(dir, { recursive: true, force: true });
}

/** Deterministic bytes: each mulberry32 draw gives four (its 32 bits, low byte first). */
export function seededBytes(seed: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  const next = mulberry32(seed);
  let i = 0;
  while (i < length) {
    const v = next() * 4294967296; // exact: the generator returns a 32-bit integer / 2^32
    for (let k = 0; k < 4 && i < length; k++, i++) out[i] = (v >>> (8 * k)) & 0xff;
  }
  return out;
}

/** Compressible text-like bytes. */
export function seededText(seed: number, length: number): Buffer {
  const words = ['archive', 'disc', 'backup', 'zip', 'tar', 'folder', 'file', 'the', 'a', 'survives', 'damage', 'restore', '\n'];
  const r = seededBytes(seed, Math.ceil(length / 4) + 16);
  const parts: string[] = [];
  let n = 0;
  let i = 0;
  while (n < length) {
    const w = words[(r[i++ % r.length] as number) % words.length] as string;
    parts.push(w, ' ');
    n += w.length + 1;
  }
  return Buffer.from(parts.join('')).subarray(0, length);
}

/** Set an exact nanosecond mtime (Node's utimes only has microseconds). */
export function touchNs(path: string, sec: number | bigint, nsec: number, symlinkItself = false): void {
  execFileSync('touch', [...(symlinkItself ? ['-h'] : []), '-m', '-d', `@${sec}.${String(nsec).padStart(9, '0')}`, '--', path]);
}

export const isRoot = process.getuid?.() === 0;

export interface NastyOptions {
  /** Include the 300 MiB sparse file and the 40 MiB random file. */
  big?: boolean;
}

/**
 * The nasty tree: every property xtar promises to keep, every collision the by-hand procedure must
 * survive. Returns the root folder (named "nasty").
 */
export async function makeNastyTree(parent: string, opts: NastyOptions = {}): Promise<string> {
  const root = join(parent, 'nasty');
  await mkdir(root, { recursive: true });
  const f = async (rel: string, data: Buffer | string, mode = 0o644): Promise<void> => {
    const p = join(root, rel);
    await writeFile(p, data);
    await chmod(p, mode);
  };
  await f('empty.txt', '');
  await f('hello.txt', 'hello, disc\n');
  await f('text.txt', seededText(1, 100_000));
  await f('random.bin', seededBytes(2, 70_000));
  await f('script.sh', '#!/bin/sh\necho hi\n', 0o755);
  await f('secret', 'no one may read me\n', 0o000);
  await f('private', 'mine\n', 0o600);
  await f('setuid-prog', 'pretend binary\n', 0o4755);
  // Names: Unicode, spaces, newline, backslash, leading dash, glob characters.
  await f('résumé 日本語 📀.txt', 'unicode\n');
  await f('with space and\nnewline', 'newline in name\n');
  await f('back\\slash', 'backslash\n');
  await f('-starts-with-dash', 'dash\n');
  await f('glob[1]*?.txt', 'glob characters\n');
  // Collisions the naming invites.
  await f('.xtar', 'a file named .xtar\n');
  await f('x', 'plain x\n');
  await f('x.zip', 'a file named x.zip (not a zip)\n');
  await f('x.zip.zip', 'and x.zip.zip\n');
  // A folder named .xtar (beside a folder holding a file named .xtar.zip-like names).
  await mkdir(join(root, 'dirs/.xtar'), { recursive: true });
  await f('dirs/.xtar/inside', 'inside a folder named .xtar\n');
  await f('dirs/.xtar/.xtar', 'a file named .xtar inside a folder named .xtar\n');
  await mkdir(join(root, 'folder.zip'));
  await f('folder.zip/a', 'in folder.zip\n');
  // A file "folder" beside the folder "folder.zip": its blob cannot be named folder.zip.
  await f('folder', 'a file beside a folder named like its blob\n');
  await mkdir(join(root, 'part.zip.001'));
  await f('part', 'a file beside a folder named like its first split part\n');
  // Long names: 255 bytes (short form), 252 bytes, and a long one colliding with another's blob name.
  const n255 = 'L'.repeat(251) + '.txt';
  await f(n255, 'longest name\n');
  const y = 'Y'.repeat(250);
  await f(y, 'Y (its blob is Y.zip, 254 bytes)\n');
  await f(`${y}.zip`, 'Y.zip (its blob needs the short form)\n');
  const uni = 'é'.repeat(127); // 254 bytes
  await f(uni, 'two-byte characters up to the limit\n');
  // Deep paths: well over 255 bytes of path, and over 4096 in total below the root? Keep under PATH_MAX.
  let deep = root;
  for (let i = 0; i < 12; i++) {
    deep = join(deep, `level-${i}-${'d'.repeat(40)}`);
    await mkdir(deep);
  }
  await writeFile(join(deep, `deep-file-${'f'.repeat(100)}.txt`), 'deep down\n');
  // Empty folders, nested empty folders.
  await mkdir(join(root, 'empty-dir'));
  await mkdir(join(root, 'nested-empty/a/b/c'), { recursive: true });
  // Read-only folder with contents; sticky world-writable folder; setgid folder.
  await mkdir(join(root, 'readonly'));
  await f('readonly/kept.txt', 'inside a read-only folder\n', 0o444);
  await mkdir(join(root, 'readonly/sub'));
  await f('readonly/sub/also.txt', 'deeper in a read-only folder\n');
  await chmod(join(root, 'readonly/sub'), 0o500);
  await chmod(join(root, 'readonly'), 0o555);
  await mkdir(join(root, 'sticky'));
  await chmod(join(root, 'sticky'), 0o1777);
  await mkdir(join(root, 'setgid'));
  await chmod(join(root, 'setgid'), 0o2750);
  // Symlinks: relative, absolute, dangling, to a folder, to a symlink.
  await mkdir(join(root, 'links'));
  await symlink('../hello.txt', join(root, 'links/relative'));
  await symlink('/etc/hostname', join(root, 'links/absolute'));
  await symlink('does/not/exist', join(root, 'links/dangling'));
  await symlink('../readonly', join(root, 'links/to-dir'));
  await symlink('relative', join(root, 'links/to-symlink'));
  // Hard links: three names for one file, across folders.
  await mkdir(join(root, 'hard'));
  await f('hard/one', 'one inode, three names\n');
  await link(join(root, 'hard/one'), join(root, 'hard/two'));
  await link(join(root, 'hard/one'), join(root, 'links/three'));
  // FIFO.
  execFileSync('mkfifo', ['-m', '640', join(root, 'fifo')]);
  if (isRoot) {
    try {
      execFileSync('mknod', ['-m', '600', join(root, 'null-device'), 'c', '1', '3'], { stdio: 'ignore' });
    } catch {
      /* containers may forbid mknod */
    }
    await chown(join(root, 'private'), 1234, 5678);
    await chown(join(root, 'hard/one'), 4321, 8765);
  }
  if (opts.big) {
    await mkdir(join(root, 'big'));
    const sparse = join(root, 'big/sparse.img');
    await truncate(await touchFile(sparse), 300 * 1024 * 1024);
    const fh = await open(sparse, 'r+');
    await fh.write(Buffer.from('data in the middle of holes'), 0, 27, 150 * 1024 * 1024);
    await fh.write(Buffer.from('the end'), 0, 7, 300 * 1024 * 1024 - 7);
    await fh.close();
    await writeFile(join(root, 'big/random-40m.bin'), seededBytes(40, 40 * 1024 * 1024));
  }
  // Exact times, to the nanosecond, on files, folders and symlinks; old and pre-1980 ones too.
  touchNs(join(root, 'hello.txt'), 1_700_000_000, 123_456_789);
  touchNs(join(root, 'text.txt'), 315_532_799, 999_999_999); // just before 1980 (DOS time floor)
  touchNs(join(root, 'random.bin'), 86_400, 1);
  touchNs(join(root, 'links/relative'), 1_600_000_000, 5, true);
  touchNs(join(root, 'empty-dir'), 1_650_000_000, 700_000_000);
  touchNs(join(root, 'fifo'), 1_500_000_000, 250_000_000);
  // Folder times last (creating entries changes them); the read-only folder's own too.
  touchNs(join(root, 'readonly'), 1_400_000_000, 111_111_111);
  touchNs(root, 1_234_567_890, 987_654_321);
  return root;
}

async function touchFile(p: string): Promise<string> {
  await writeFile(p, '');
  return p;
}

export interface NodeInfo {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  /** Microseconds: what Node can set (libuv truncates utimes to microseconds). */
  mtimeUs: bigint;
  size?: number;
  sha256?: string;
  target?: string;
  /** For files with several links: the first path (sorted) of the group. */
  linkGroup?: string;
  rdev?: number;
  /** Allocated bytes (for sparse checks). */
  blocks?: number;
}

async function sha256File(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(p)) h.update(c as Buffer);
  return h.digest('hex');
}

/** Everything xtar promises to keep, for every path below `root` (the root itself as "."). */
export async function snapshot(root: string, opts: { contents?: boolean } = {}): Promise<Map<string, NodeInfo>> {
  const out = new Map<string, NodeInfo>();
  const inodes = new Map<string, string>();
  const walk = async (abs: string, rel: string): Promise<void> => {
    const st = await lstat(abs, { bigint: true });
    const info: NodeInfo = {
      type: st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : 'other',
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      mtimeUs: st.mtimeNs / 1000n,
    };
    if (info.type === 'symlink') info.mode = 0;
    if (info.type === 'file') {
      info.size = Number(st.size);
      info.blocks = Number(st.blocks);
      if (opts.contents !== false) {
        // Reading a file with mode 0 needs root or a chmod; snapshots run as the test user.
        try {
          info.sha256 = await sha256File(abs);
        } catch {
          await chmod(abs, 0o400);
          info.sha256 = await sha256File(abs);
          await chmod(abs, Number(st.mode & 0o7777n));
        }
      }
      if (st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        if (!inodes.has(key)) inodes.set(key, rel);
        info.linkGroup = inodes.get(key) as string;
      }
    }
    if (info.type === 'symlink') info.target = await readlink(abs);
    if (info.type === 'char' || info.type === 'block') info.rdev = Number(st.rdev);
    out.set(rel, info);
    if (info.type === 'dir') {
      const names = (await readdir(abs)).sort();
      const needOpen = (Number(st.mode) & 0o500) !== 0o500 && !isRoot;
      if (needOpen) await chmod(abs, 0o700);
      for (const n of names) await walk(join(abs, n), rel === '.' ? n : `${rel}/${n}`);
      if (needOpen) await chmod(abs, Number(st.mode & 0o7777n));
    }
  };
  await walk(root, '.');
  // Link groups are named by the first path seen in sorted order: normalise.
  return out;
}

/** Differences between two snapshots, as readable lines (empty when equal). */
export function diffSnapshots(a: Map<string, NodeInfo>, b: Map<string, NodeInfo>, ignore: (path: string, key: string) => boolean = () => false): string[] {
  const diffs: string[] = [];
  for (const [p, x] of a) {
    const y = b.get(p);
    if (!y) {
      diffs.push(`missing: ${JSON.stringify(p)}`);
      continue;
    }
    for (const k of Object.keys(x) as (keyof NodeInfo)[]) {
      if (k === 'blocks' || ignore(p, k)) continue;
      if (String(x[k]) !== String(y[k])) diffs.push(`${JSON.stringify(p)}: ${k} ${String(x[k])} != ${String(y[k])}`);
    }
  }
  for (const p of b.keys()) if (!a.has(p)) diffs.push(`extra: ${JSON.stringify(p)}`);
  return diffs;
}

/**
 * Names some platforms' tools cannot write as they are, added to a tree (the nasty one): an NFD name
 * (macOS and bsdtar may write it NFC), a colon (Windows), a backslash in a folder's name and in a
 * file's beside an NFC twin of different bytes. Returns their paths below `root`.
 */
export async function addUnportableNames(root: string): Promise<string[]> {
  const names = ['cafe\u0301 NFD.txt', 'caf\u00e9 NFC.txt', 'colon: on Windows.txt', 'dir\\with\\backslash/inside.txt', 'dir\\with\\backslash/more\\back.txt'];
  await mkdir(join(root, 'dir\\with\\backslash'), { recursive: true });
  for (const [i, n] of names.entries()) await writeFile(join(root, n), `unportable name ${i}: ${n}\n`);
  return names;
}

/**
 * A by-hand restore checked against the tree it was made of (both snapshots): every regular file
 * (the first name of each hard-linked group) whose bytes differ or are missing, and every file the
 * restore left that the tree does not hold (a blob, a bundle, an .xtar, a work file).
 */
export function byHandDiffs(original: Map<string, NodeInfo>, restored: Map<string, NodeInfo>): { wrong: string[]; leftovers: string[] } {
  const wrong: string[] = [];
  for (const [p, info] of original) {
    if (info.type !== 'file' || (info.linkGroup !== undefined && info.linkGroup !== p)) continue;
    if (restored.get(p)?.sha256 !== info.sha256) wrong.push(p);
  }
  const leftovers = [...restored.entries()].filter(([p, i]) => !original.has(p) && i.type === 'file').map(([p]) => p);
  return { wrong, leftovers };
}
