/**
 * `npm run memory-scaling`: packs a 50,000- and a 500,000-file tree of tiny files and fails (exit 1)
 * when unpack's or verify's peak RSS at 500,000 exceeds that at 50,000 by more than 20% — the check
 * that what unpack and verify keep per file does not live in memory. Outside `npm test`: it takes
 * minutes and a few GB of RAM disk.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exists, fmtNum, useTimeBinary } from './bench-lib.js';
import { SCALE_OPS, ensureTinyTree, measureTree, type ScaleOp, type ScaleResult } from './scale-lib.js';

const DIST_ROOT = fileURLToPath(new URL('../', import.meta.url));
const XTAR = path.join(DIST_ROOT, 'src/cli/main.js');
/** Peak RSS at the big tree may exceed that at the small one by this share at most. */
const ALLOWED_GROWTH = 0.2;
const CHECKED: ScaleOp[] = ['unpack', 'verify'];

const USAGE = `usage: npm run memory-scaling -- [--work DIR] [--small N] [--big N] [--all] [--xtar MAIN.js]

  --work DIR   where the trees, sets and restores live (default /dev/shm/xtar-scaling, a RAM disk)
  --small N    files in the small tree (default 50000)
  --big N      files in the big tree (default 500000)
  --all        measure every command (${SCALE_OPS.join(', ')}), not only pack, verify and unpack
  --xtar FILE  the xtar CLI to measure (default: this build's dist/src/cli/main.js)

Exit 1 when unpack's or verify's peak RSS on the big tree exceeds the small tree's by more than ${ALLOWED_GROWTH * 100}%.`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      work: { type: 'string', default: '/dev/shm/xtar-scaling' },
      small: { type: 'string', default: '50000' },
      big: { type: 'string', default: '500000' },
      all: { type: 'boolean', default: false },
      xtar: { type: 'string', default: XTAR },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!(await exists('/usr/bin/time'))) throw new Error('GNU time (/usr/bin/time) is needed to measure peak RSS');
  useTimeBinary('/usr/bin/time');
  const work = path.resolve(values.work);
  const sizes = [Number(values.small), Number(values.big)];
  const ops: ScaleOp[] = values.all ? [...SCALE_OPS] : ['pack', 'verify', 'unpack'];
  const log = (line: string): void => console.log(line);
  const results: ScaleResult[][] = [];
  for (const n of sizes) {
    const tree = path.join(work, 'trees', `tiny-${n}`);
    await ensureTinyTree(tree, n, log);
    log(`${n} files:`);
    results.push(await measureTree(tree, path.join(work, `run-${n}`), path.resolve(values.xtar), ops, log));
  }
  const [small, big] = results;
  log(`\n| command | ${sizes.map((n) => `${n} files: s, MiB`).join(' | ')} | wall ratio | CPU ratio | RSS ratio |`);
  log('|---|---|---|---|---|---|');
  let failed = false;
  for (const op of ops) {
    const a = small?.find((r) => r.op === op);
    const b = big?.find((r) => r.op === op);
    if (!a || !b) continue;
    const rss = b.m.maxRssKiB / a.m.maxRssKiB;
    const t = b.m.wallS / a.m.wallS;
    const cpu = (b.m.userS + b.m.sysS) / (a.m.userS + a.m.sysS);
    const over = CHECKED.includes(op) && rss > 1 + ALLOWED_GROWTH;
    if (over || (CHECKED.includes(op) && (a.code > 1 || b.code > 1))) failed = true;
    const cell = (r: ScaleResult): string => `${fmtNum(r.m.wallS, 1)} s (${fmtNum(r.m.userS + r.m.sysS, 1)} s CPU), ${fmtNum(r.m.maxRssKiB / 1024, 1)} MiB`;
    log(`| ${op} | ${cell(a)} | ${cell(b)} | ${fmtNum(t)} | ${fmtNum(cpu)} | ${fmtNum(rss)}${over ? ' OVER' : ''} |`);
  }
  log(failed ? `\nFAIL: unpack's or verify's peak RSS grew more than ${ALLOWED_GROWTH * 100}% (or a command failed)` : '\nok: unpack and verify within bounds');
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
