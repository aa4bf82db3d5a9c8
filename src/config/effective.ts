/**
 * The flags over the file: what a config gives fills only the options the command line left unsaid,
 * and `sources:` only when no source is named; the result as `--print-config` shows it (YAML, the
 * mail password masked).
 */
import { stringify } from 'yaml';
import type { CommandConfig, LoadedConfig, OptionValue } from './config.js';
import { maskedMail, type MailSettings } from './mail-settings.js';

/** `volume-size` → `volumeSize`, as yargs names the camelCase copy of an option. */
export function camelName(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Put the config's options into parsed arguments (`argv`, by long name, its camelCase copy and its
 * aliases) where `givenOnCommandLine` says the flag was not given. Returns the options taken from the file.
 */
export function applyConfig(argv: Record<string, unknown>, config: LoadedConfig, givenOnCommandLine: (name: string) => boolean, aliases: Readonly<Record<string, readonly string[]>>): string[] {
  const taken: string[] = [];
  for (const [name, { value }] of config.options) {
    if (givenOnCommandLine(name)) continue;
    for (const key of new Set([name, camelName(name), ...(aliases[name] ?? [])])) argv[key] = Array.isArray(value) ? [...value] : value;
    taken.push(name);
  }
  return taken;
}

export interface EffectiveConfig {
  sources: string[];
  /** The command sources (config `commands:`, or the command line's --from-command). */
  commands?: CommandConfig[];
  /** Every option with a value, by long name. */
  options: Record<string, OptionValue>;
  mail: MailSettings | null;
}

/** The effective configuration as YAML a config file could hold (`pack --print-config`). */
export function renderConfig(c: EffectiveConfig): string {
  const body: Record<string, unknown> = { sources: c.sources, ...(c.commands === undefined || c.commands.length === 0 ? {} : { commands: c.commands }), ...c.options };
  if (c.mail !== null) body.mail = maskedMail(c.mail);
  return stringify(body, { lineWidth: 0 });
}
