/** `xtar unpack` and `xtar expand-structure`: call the library, list problems, render the result. */
import { expandStructure, unpack } from '../../unpack/unpack.js';
import { humanBytes, printJson, printProblems, progressBar, type Io } from '../render.js';
import { statusFor } from '../exit.js';

export interface UnpackArgs {
  inputs: string[];
  dest: string;
  json: boolean;
  quiet: boolean;
}

export async function runUnpack(a: UnpackArgs, io: Io): Promise<number> {
  const bar = progressBar(!a.quiet && !a.json, 'unpack');
  try {
    const r = await unpack({ inputs: a.inputs, dest: a.dest, onProgress: (p) => bar.update(p.bytes, p.bytes, p.files) });
    bar.stop();
    printProblems(io, r.problems);
    if (a.json) printJson(io, { dest: r.dest, files: r.files, bytes: r.bytes, structure: r.structure, problems: r.problems });
    else if (!a.quiet) io.stdout.write(`restored ${r.files} files (${humanBytes(r.bytes)}) into ${r.dest}${r.problems.length ? `; ${r.problems.length} problem(s) listed above` : ''}\n`);
    return statusFor(r.problems.length);
  } finally {
    bar.stop();
  }
}

export interface ExpandArgs {
  input: string;
  dest: string;
  json: boolean;
  quiet: boolean;
}

export async function runExpandStructure(a: ExpandArgs, io: Io): Promise<number> {
  const r = await expandStructure({ input: a.input, dest: a.dest });
  printProblems(io, r.problems);
  if (a.json) printJson(io, { dest: r.dest, structure: r.structure, problems: r.problems });
  else if (!a.quiet) {
    const s = r.structure;
    io.stdout.write(`applied structure to ${r.dest}: ${s.dirs} folders, ${s.files} files, ${s.symlinks} symlinks, ${s.hardlinks} hard links, ${s.fifos} FIFOs, ${s.devices} devices\n`);
  }
  return statusFor(r.problems.length);
}
