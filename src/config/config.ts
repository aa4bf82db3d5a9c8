/**
 * `pack --config FILE`: a YAML file of pack's options, the `sources:` and `commands:` lists and the `mail:` block, read
 * and checked with the line of every mistake. It knows no option by name: the caller hands it the
 * options the command line defines (OptionSpec, taken from the command's own definitions), so an
 * option added to pack is accepted here with no change. Merging with the flags is the caller's.
 */
import { readFile } from 'node:fs/promises';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair } from 'yaml';
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
  /** `commands:`: each command whose standard output is a source (`pack --from-command`). */
  commands: CommandConfig[];
  mail: MailSettings | null;
}

/** One entry of `commands:`: the file NAME its output is stored as, and the program with its arguments (a text: run by `sh -c`). */
export interface CommandConfig {
  name: string;
  command: string[];
}

/** Keys of the file that are not options of the command. */
const OWN_KEYS = new Set(['sources', 'commands', 'mail']);

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
  const out: LoadedConfig = { file, options: new Map(), sources: [], commands: [], mail: null };
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return out;
  if (!isMap(doc.contents)) throw at.error(doc.contents, 'the config is a mapping of keys (sources:, commands:, mail:, and pack options such as out:)');
  const byName = new Map(specs.map((s) => [s.name, s]));
  for (const pair of doc.contents.items as Pair<Node, Node | null>[]) {
    const keyNode = pair.key;
    const key = isScalar(keyNode) ? String(keyNode.value) : '';
    if (key === 'sources') out.sources = stringList(at, pair.value, 'sources');
    else if (key === 'commands') out.commands = commandList(at, pair.value);
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

/** `commands:`, a list of `{name: NAME, command: [PROGRAM, ARG…]}` (or `command: TEXT`, run as `sh -c TEXT`). */
function commandList(at: Place, node: Node | null): CommandConfig[] {
  const example = 'e.g. `- {name: db.sql, command: [pg_dump, appdb]}`';
  if (!isSeq(node)) throw at.error(node, `commands is a list of {name, command} (${example})`);
  const names = new Set<string>();
  return (node.items as (Node | null)[]).map((item) => {
    if (!isMap(item)) throw at.error(item ?? node, `each entry of commands is {name, command} (${example})`);
    let name: string | undefined;
    let command: string[] | undefined;
    for (const pair of item.items as Pair<Node, Node | null>[]) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (key === 'name') {
        if (!isScalar(pair.value) || (typeof pair.value.value !== 'string' && typeof pair.value.value !== 'number')) throw at.error(pair.value ?? pair.key, 'name is the file the output is stored as (a text, e.g. db.sql)');
        name = String(pair.value.value);
      } else if (key === 'command') {
        command = isScalar(pair.value) && typeof pair.value.value === 'string' ? ['sh', '-c', pair.value.value] : stringList(at, pair.value, 'command');
        if (command.length === 0) throw at.error(pair.value ?? pair.key, 'command is not empty');
      } else throw at.error(pair.key, `unknown key ${JSON.stringify(key)} in a command (the keys are: command, name)`);
    }
    if (name === undefined || command === undefined) throw at.error(item, `a command needs both name and command (${example})`);
    if (names.has(name)) throw at.error(item, `two commands are named ${JSON.stringify(name)}: each output needs a name of its own`);
    names.add(name);
    return { name, command };
  });
}
