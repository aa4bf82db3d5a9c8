/** yargs renders no help text as a command's handler starts, once skipHelpCache ran in a middleware. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import yargs from 'yargs';
import { skipHelpCache } from '../../src/cli/help-cache.js';

interface Usage {
  hasCachedHelpMessage(): boolean;
}

/** Runs `cmd` through a yargs with one async command; true when yargs cached its help text. */
async function helpCached(skip: boolean): Promise<boolean> {
  let usage: Usage | null = null;
  await yargs(['go'])
    .command('go', 'a command', (y) => y.option('x', { type: 'string', describe: 'an option' }), async () => {})
    .middleware((_a: unknown, y?: unknown) => {
      usage = (y as { getInternalMethods(): { getUsageInstance(): Usage } }).getInternalMethods().getUsageInstance();
      if (skip) skipHelpCache(y);
    })
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .parseAsync();
  return (usage as Usage | null)?.hasCachedHelpMessage() ?? false;
}

describe('skipHelpCache', () => {
  it("keeps yargs from rendering a command's help as its handler starts", async () => {
    assert.equal(await helpCached(false), true, 'yargs caches it by itself (else this test checks nothing)');
    assert.equal(await helpCached(true), false);
  });
});
