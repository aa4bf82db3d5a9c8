/**
 * xtar as a library: pack a tree into volumes, unpack or verify them, apply a structure record; the
 * errors and problem records every run ends with (src/errors.ts). The CLI in
 * src/cli/ is a thin layer over these.
 */
export { pack, type PackOptions, type PackResult, type PackProgress, type VolumeInfo } from './pack/pack.js';
export { packSources, type PackSourcesOptions, type PackSourcesResult, type SourceOutcome } from './pack/pack-sources.js';
export { CommandFailedError, commandSourceId, type CommandSpec } from './pack/command-source.js';
export { summarize, summaryText, type RunSummary } from './report/summary.js';
export { reportRun, type ReportSettings } from './report/report-run.js';
export { unpack, type UnpackOptions, type UnpackResult } from './unpack/unpack.js';
export { verify, type VerifyOptions, type VerifyResult } from './unpack/verify.js';
export { expandStructure, type ExpandOptions, type ExpandResult } from './unpack/expand-structure.js';
export { scanTree, type ScanOptions, type ScanResult } from './scan/scan.js';
export type { Exclusion, ExclusionKind, SelectionOptions } from './scan/select.js';
export * from './errors.js';
export { FORMAT_VERSION } from './format/records.js';
