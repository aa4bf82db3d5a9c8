/**
 * How far an xtar set is from the format's own minimum size (issue 7): the minimum is every file
 * deflated on its own at the same level — or stored, when deflate does not make it smaller — plus
 * the framing the spec requires (tar headers and padding, nested tars' end blocks, the zip headers,
 * the records). The framing is read off the archive itself (archive bytes less the compressed data
 * of every blob), so what is compared is xtar's compressed data against the best single-stream
 * deflate of each file: the cost of the store-or-deflate probe and of deflating large files in
 * parallel chunks.
 *
 *   npm run size-floor -- SRC [--level 6]      (packs SRC into a temporary set, then measures)
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createDeflateRaw } from 'node:zlib';
import { parseLocalHeader } from '../src/format/zip.js';
import { decodeCatalogLine, decodeTrailer } from '../src/format/records.js';
import { readLines } from '../src/util/lines.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback;
}

/** Bytes of a file deflated in one stream at `level` (streamed: any size). */
async function deflatedSize(path: string, level: number): Promise<number> {
  let n = 0;
  await pipeline(
    createReadStream(path),
    createDeflateRaw({ level }),
    new Writable({
      write(chunk: Buffer, _enc, done) {
        n += chunk.length;
        done();
      },
    }),
  );
  return n;
}

async function main(): Promise<void> {
  const src = process.argv[2];
  if (src === undefined || src.startsWith('--')) throw new Error('usage: size-floor SRC [--level 6]');
  const level = Number(arg('level', '6'));
  const work = mkdtempSync(join(tmpdir(), 'xtar-size-floor-'));
  try {
    const set = join(work, 'set');
    execFileSync(process.execPath, [CLI, 'pack', src, '--out', set, '--quiet', '--level', String(level)], { stdio: 'inherit' });
    const volume = readdirSync(set).filter((n) => /-vol\d+$/.test(n)).sort();
    let setBytes = 0;
    let archiveBytes = 0;
    let compressed = 0;
    let floor = 0;
    let files = 0;
    for (const v of volume) {
      const dir = join(set, v);
      for (const f of readdirSync(dir)) setBytes += statSync(join(dir, f)).size;
      archiveBytes += statSync(join(dir, `${v}.xtar`)).size;
    }
    // The last volume's catalog lists every file of the backup.
    const last = join(set, volume[volume.length - 1] as string);
    let n = 0;
    for await (const line of readLines(join(last, 'catalog.jsonl'))) {
      if (n++ === 0 || decodeTrailer(line) !== null) continue;
      const c = decodeCatalogLine(line);
      if ('skipped' in c) continue;
      const first = c.parts[0];
      if (first === undefined) continue;
      const fh = await open(join(set, volume[first.volume - 1] as string, `${volume[first.volume - 1]}.xtar`), 'r');
      try {
        const head = Buffer.alloc(Math.min(first.length, 30 + 65535 * 2));
        await fh.read(head, 0, head.length, first.offset);
        compressed += parseLocalHeader(head).info.compressedSize;
      } finally {
        await fh.close();
      }
      const abs = c.path.includes('/') ? join(src, ...c.path.split('/').slice(1)) : src;
      floor += Math.min(c.size, await deflatedSize(abs, level));
      files++;
    }
    const framing = setBytes - compressed;
    const minimum = floor + framing;
    const gz = Number(execFileSync('sh', ['-c', `tar -C "$(dirname "$1")" -cf - "$(basename "$1")" | gzip -${level} | wc -c`, 'sh', src]).toString().trim());
    const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;
    console.log(`files: ${files}`);
    console.log(`set (every file of every volume): ${mib(setBytes)}; of which .xtar archives ${mib(archiveBytes)}`);
    console.log(`compressed data in the blobs: ${mib(compressed)}; each file deflated alone at level ${level} (or stored): ${mib(floor)} (${((compressed / floor - 1) * 100).toFixed(2)}% more)`);
    console.log(`framing (tar headers and padding, zip headers, records, README, volume.json): ${mib(framing)}`);
    console.log(`set / format minimum: ${(setBytes / minimum).toFixed(4)}× (target ≤ 1.02×)`);
    console.log(`set / tar.gz of the same tree (gzip -${level}): ${(setBytes / gz).toFixed(3)}× (${mib(setBytes)} vs ${mib(gz)})`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 2;
});
