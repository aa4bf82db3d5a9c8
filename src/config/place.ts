/** Where a node of a config file stands (`FILE:LINE`), for messages; and the list values of the file. */
import { isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import { UsageError } from '../errors.js';

/** Where a node of the file starts, for messages: `FILE:LINE`. */
export class Place {
  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
  ) {}
  line(node: Node | null | undefined): number {
    const at = node?.range?.[0];
    return at === undefined ? 0 : this.lines.linePos(at).line;
  }
  error(node: Node | null | undefined, message: string): UsageError {
    return new UsageError(`${this.file}:${this.line(node)}: ${message}`);
  }
}

/** A list of texts (or one text, as a list of one). */
export function stringList(at: Place, node: Node | null, key: string): string[] {
  if (isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number')) return [String(node.value)];
  if (!isSeq(node)) throw at.error(node, `${key} is a list of texts`);
  return (node.items as (Node | null)[]).map((item) => {
    if (!isScalar(item) || (typeof item.value !== 'string' && typeof item.value !== 'number')) throw at.error(item ?? node, `each entry of ${key} is a text`);
    return String(item.value);
  });
}
