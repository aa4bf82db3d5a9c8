/**
 * Imports run one way, down the layers README's "Layout" names: a module imports its own folder or a
 * folder of a lower layer, never a sibling of its own layer or anything above. Scripts may use src/
 * but not test/. The test reads the TypeScript sources, so it fails on the import itself, not on a
 * later symptom.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

/** Top first. Each entry is a layer; folders in one layer may not import each other. */
export const LAYERS: readonly (readonly string[])[] = [
  ['cli'],
  ['cli/commands'],
  ['cli/output'],
  ['index.ts'],
  ['rescue', 'report'],
  ['pack', 'unpack', 'activity'],
  ['config'],
  ['setindex'],
  ['set'],
  ['store'],
  ['scan', 'worker'],
  ['dest'],
  ['format'],
  ['util'],
  ['errors.ts'],
];

/** The unit a src/ file belongs to: its folder (cli/commands and cli/output below cli), or the file itself at the top of src/. */
export function unitOf(srcRelative: string): string {
  for (const sub of ['cli/commands/', 'cli/output/']) if (srcRelative.startsWith(sub)) return sub.slice(0, -1);
  const slash = srcRelative.indexOf('/');
  return slash < 0 ? srcRelative : srcRelative.slice(0, slash);
}

export function layerOf(unit: string): number {
  const i = LAYERS.findIndex((l) => l.includes(unit));
  return i;
}

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await tsFiles(p)));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Relative specifiers of every static import, re-export and dynamic import() in a module's text. */
export function relativeImports(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push(m[1] as string);
  return out;
}

/** Every import that runs against the layer order, as `from → to (why)`. */
export async function layerViolations(root: string): Promise<string[]> {
  const src = join(root, 'src');
  const bad: string[] = [];
  for (const file of await tsFiles(src)) {
    const from = relative(src, file);
    const fromUnit = unitOf(from);
    const fromLayer = layerOf(fromUnit);
    if (fromLayer < 0) {
      bad.push(`${from}: src/${fromUnit} is in no layer (name it in LAYERS and in README's Layout)`);
      continue;
    }
    for (const spec of relativeImports(await readFile(file, 'utf8'))) {
      const target = normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts');
      const to = relative(src, target);
      if (to.startsWith('..')) {
        bad.push(`${from} → ${spec}: outside src/`);
        continue;
      }
      const toUnit = unitOf(to);
      if (toUnit === fromUnit) continue;
      const toLayer = layerOf(toUnit);
      if (toLayer < 0) bad.push(`${from} → ${to}: src/${toUnit} is in no layer`);
      else if (toLayer === fromLayer) bad.push(`${from} → ${to}: ${fromUnit} and ${toUnit} are one layer and may not import each other`);
      else if (toLayer < fromLayer) bad.push(`${from} → ${to}: ${fromUnit} may not import ${toUnit}, a higher layer`);
    }
  }
  for (const file of await tsFiles(join(root, 'scripts'))) {
    for (const spec of relativeImports(await readFile(file, 'utf8'))) {
      const to = relative(root, normalize(join(dirname(file), spec)));
      if (to.startsWith('test/')) bad.push(`${relative(root, file)} → ${to}: scripts may not import tests`);
    }
  }
  return bad;
}

describe('layers', () => {
  it('every import in src/ runs down the layers', async () => {
    assert.deepEqual(await layerViolations(repo), []);
  });

  it('finds an import that runs up, one across a layer, and a folder in no layer', async () => {
    // The check itself, on a made-up tree: it must not pass by finding nothing.
    const { mkdtemp, mkdir, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const root = await mkdtemp(join(tmpdir(), 'xtar-layers-'));
    try {
      const put = async (path: string, text: string): Promise<void> => {
        await mkdir(dirname(join(root, path)), { recursive: true });
        await writeFile(join(root, path), text);
      };
      await put('src/format/a.ts', "import { b } from '../pack/b.js';\n");
      await put('src/pack/b.ts', "export { c } from '../unpack/c.js';\nimport { d } from '../format/a.js';\n");
      await put('src/unpack/c.ts', "const m = await import('../cli/main.js');\n");
      await put('src/cli/main.ts', "import { x } from '../pack/b.js';\n");
      await put('src/stray/s.ts', '');
      await put('scripts/s.ts', "import { h } from '../test/helpers/h.js';\n");
      const found = await layerViolations(root);
      assert.deepEqual(found.sort(), [
        'format/a.ts → pack/b.ts: format may not import pack, a higher layer',
        'pack/b.ts → unpack/c.ts: pack and unpack are one layer and may not import each other',
        'scripts/s.ts → test/helpers/h.js: scripts may not import tests',
        "stray/s.ts: src/stray is in no layer (name it in LAYERS and in README's Layout)",
        'unpack/c.ts → cli/main.ts: unpack may not import cli, a higher layer',
      ]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
