/** Start-up work of yargs that xtar has no use for, skipped. */
/** yargs' own object behind its types, as far as skipHelpCache reaches into it. */
interface YargsInternals {
  getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } };
}

/**
 * yargs renders a command's whole help text as its handler starts, to print it should the handler's
 * promise reject — which xtar's .fail() never lets it print. Rendering it (wrapping every option's
 * text to the terminal's width) cost ~40 ms of the main thread at the start of every run, in the
 * middle of pack's or unpack's start; the render is skipped where yargs still has that method.
 */
export function skipHelpCache(y: unknown): void {
  const usage = (y as YargsInternals).getInternalMethods?.().getUsageInstance?.();
  if (usage !== undefined && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => undefined;
}
