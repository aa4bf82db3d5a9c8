/**
 * GNU ddrescue's mapfile (`info ddrescue`, "Mapfile structure"), as `xtar rescue` writes it beside
 * each copied file and as readers of a rescued copy read it: comment lines (#), one current-status
 * line `POS STATUS PASS`, then data blocks `POS SIZE STATUS` in hexadecimal covering the file in order,
 * `+` finished (read), `-` bad sector, `?` non-tried (and `*`, `/` for ddrescue's own passes).
 * xtar adds one comment, `# xtar-copy: size=N mtime_ns=T`, naming the copy the map describes, so a copy
 * changed since (par2 repaired it) is no longer taken as described by it.
 */

/** One data block: `status` '+' read, anything else not (yet) read. */
export interface MapBlock {
  pos: number;
  size: number;
  status: string;
}

export interface RescueMap {
  blocks: MapBlock[];
  /** From xtar's comment: the copy the map was written for, if named. */
  copy: { size: number; mtimeNs: bigint } | null;
}

const hex = (n: number): string => `0x${n.toString(16).toUpperCase().padStart(8, '0')}`;

/**
 * The map of a file of `size` bytes whose `bad` ranges (sorted by offset) were not read: each with its
 * `status` ('-' unreadable when none is given, '?' not tried yet), the rest '+'. Where ranges overlap,
 * the earlier one keeps the bytes.
 */
export function blocksOf(size: number, bad: readonly { offset: number; length: number; status?: string }[]): MapBlock[] {
  const out: MapBlock[] = [];
  let at = 0;
  for (const r of bad) {
    const start = Math.max(r.offset, at);
    const end = Math.min(r.offset + r.length, size);
    if (end <= start) continue;
    if (start > at) out.push({ pos: at, size: start - at, status: '+' });
    out.push({ pos: start, size: end - start, status: r.status ?? '-' });
    at = end;
  }
  if (at < size) out.push({ pos: at, size: size - at, status: '+' });
  return out;
}

/** The ranges of a map that are not finished ('+'). */
export function unreadOf(blocks: readonly MapBlock[]): { offset: number; length: number }[] {
  return blocks.filter((b) => b.status !== '+' && b.size > 0).map((b) => ({ offset: b.pos, length: b.size }));
}

/**
 * The mapfile text for `blocks`, headed by `command` and the copy it describes — none for the map of
 * a copy still being written (its mtime moves on with every write): that map is always believed.
 */
export function formatMap(blocks: readonly MapBlock[], command: string, copy: { size: number; mtimeNs: bigint } | null, now: Date): string {
  const done = blocks.every((b) => b.status === '+');
  const time = now.toISOString().replace('T', ' ').slice(0, 19);
  const firstBad = blocks.find((b) => b.status !== '+');
  const lines = [
    '# Mapfile. Created by xtar rescue (GNU ddrescue format)',
    `# Command line: ${command.replace(/\n/g, ' ')}`,
    `# Start time:   ${time}`,
    `# Current time: ${time}`,
    `# ${done ? 'Finished' : 'Bad sectors remain'}`,
    ...(copy === null ? [] : [`# xtar-copy: size=${copy.size} mtime_ns=${copy.mtimeNs}`]),
    '# current_pos  current_status  current_pass',
    `${hex(firstBad?.pos ?? 0)}     ${done ? '+' : '?'}               1`,
    '#      pos        size  status',
    ...blocks.map((b) => `${hex(b.pos)}  ${hex(b.size)}  ${b.status}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Read a mapfile: its data blocks and xtar's copy comment; null if it is not one. */
export function parseMap(text: string): RescueMap | null {
  let copy: RescueMap['copy'] = null;
  let statusSeen = false;
  const blocks: MapBlock[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# xtar-copy: size=(\d+) mtime_ns=(\d+)$/.exec(line);
      if (m) copy = { size: Number(m[1]), mtimeNs: BigInt(m[2] as string) };
      continue;
    }
    const f = line.split(/\s+/);
    if (!statusSeen) {
      statusSeen = true;
      continue;
    }
    const pos = Number(f[0]);
    const size = Number(f[1]);
    if (f.length < 3 || !Number.isSafeInteger(pos) || !Number.isSafeInteger(size) || pos < 0 || size < 0) return null;
    blocks.push({ pos, size, status: f[2] as string });
  }
  return statusSeen ? { blocks, copy } : null;
}
