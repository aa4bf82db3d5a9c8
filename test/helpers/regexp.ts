/** A string as a RegExp that matches it literally (a path holding `.`, `+`, `(` … among the tests' temp names). */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
