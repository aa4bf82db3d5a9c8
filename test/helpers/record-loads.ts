/**
 * `node --import dist/test/helpers/record-loads.js …` writes the URL of every module the process
 * loads, one a line, to the file named by XTAR_TEST_LOADS (the hook is record-loads-hooks.ts, run in
 * Node's hooks thread). Never import this from a test: it would record the test's own loads.
 */
import { register } from 'node:module';

register(new URL('./record-loads-hooks.js', import.meta.url));
