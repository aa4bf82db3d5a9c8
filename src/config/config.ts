/**
 * `pack --config FILE`: a YAML file of pack's options, the `sources:` list and the `mail:` block, read
 * and checked with the line of every mistake. It knows no option by name: the caller hands it the
 * options the command line defines (OptionSpec, taken from the command's own definitions), so an
 * option added to pack is accepted here with no change. Merging with the flags is the caller's.
 */
import { readFile } from 'node:fs/promises';
import { isMap, isScalar, LineCounter, parseDocument, type Node, type Pair } from 'yaml';
import { UsageError } from '../errors.js';
import { checkMail, type MailSettings } from './mail-settings.js';
import { Place, stringList } from './place.js';

/** One option of the command, as the config may give it. */
export interface OptionSpec {
  /** Its long name, as on the command line (`volume-size`). */
  name: string;
  type: 'string' | 'number' | 'boolean' | 'array';
  /** The values it accepts, when it is a choice. */
  choices?: readonly (string | number)[];
}

export type OptionValue = string | number | boolean | string[];

export interface LoadedConfig {
  file: string;
  /** Options by their long name, with the line each was given on. */
  options: Map<string, { value: OptionValue; line: number }>;
  sources: string[];
  mail: MailSettings | null;
}

/** Keys of the file that are not options of the command. */
const OWN_KEYS = new Set(['sources', 'mail']);

/** `volumeSize` and `volume-size` are one key: the option's long name. */
export function optionName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Read and check FILE against the command's options. */
export async function loadConfig(file: string, specs: readonly OptionSpec[]): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--config ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}.`);
  }
  return parseConfig(text, file, specs);
}

/** The checking of loadConfig, on the file's text. */
export function parseConfig(text: string, file: string, specs: readonly OptionSpec[]): LoadedConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true });
  const bad = doc.errors[0];
  if (bad !== undefined) {
    const line = bad.linePos?.[0]?.line ?? 0;
    throw new UsageError(`${file}:${line}: not valid YAML: ${(bad.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}.`);
  }
  const at = new Place(file, lines);
  const out: LoadedConfig = { file, options: new Map(), sources: [], mail: null };
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return out;
  if (!isMap(doc.contents)) throw at.error(doc.contents, 'the config is a mapping of keys (sources:, mail:, and pack options such as out:)');
  const byName = new Map(specs.map((s) => [s.name, s]));
  for (const pair of doc.contents.items as Pair<Node, Node | null>[]) {
    const keyNode = pair.key;
    const key = isScalar(keyNode) ? String(keyNode.value) : '';
    if (key === 'sources') out.sources = stringList(at, pair.value, 'sources');
    else if (key === 'mail') out.mail = checkMail(at, pair.value);
    else {
      const spec = byName.get(optionName(key));
      if (spec === undefined || OWN_KEYS.has(spec.name)) {
        const known = [...OWN_KEYS, ...specs.map((s) => s.name)].sort().join(', ');
        throw at.error(keyNode, `unknown key ${JSON.stringify(key)} (the keys are: ${known})`);
      }
      if (out.options.has(spec.name)) throw at.error(keyNode, `${key} is given twice (as ${spec.name})`);
      out.options.set(spec.name, { value: optionValue(at, spec, key, pair.value), line: at.line(keyNode) });
    }
  }
  return out;
}

/** A value of the option's type; a scalar for a list option is a list of one. */
function optionValue(at: Place, spec: OptionSpec, key: string, node: Node | null): OptionValue {
  if (spec.type === 'array') return stringList(at, node, key);
  if (!isScalar(node) || node.value === null) throw at.error(node, `${key} needs a ${spec.type === 'boolean' ? 'true or false' : spec.type}`);
  const v = node.value;
  let value: OptionValue;
  if (spec.type === 'boolean') {
    if (typeof v !== 'boolean') throw at.error(node, `${key} is true or false, not ${JSON.stringify(v)}`);
    value = v;
  } else if (spec.type === 'number') {
    if (typeof v !== 'number') throw at.error(node, `${key} is a number, not ${JSON.stringify(v)}`);
    value = v;
  } else {
    if (typeof v !== 'string' && typeof v !== 'number') throw at.error(node, `${key} is a text, not ${JSON.stringify(v)}`);
    value = String(v);
  }
  if (spec.choices !== undefined && !spec.choices.includes(value as string | number)) {
    throw at.error(node, `${key} is one of ${spec.choices.join(', ')}, not ${JSON.stringify(value)}`);
  }
  return value;
}
