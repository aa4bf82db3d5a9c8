/** The module hook of record-loads.ts: each URL loaded, appended to XTAR_TEST_LOADS. */
import { appendFileSync } from 'node:fs';
import type { LoadHook } from 'node:module';

export const load: LoadHook = (url, context, next) => {
  const log = process.env.XTAR_TEST_LOADS;
  if (log !== undefined) appendFileSync(log, `${url}\n`);
  return next(url, context);
};
