/** The EIO file system lives in scripts/ (tools must not import from test/); tests take the same one from here. */
export { mountEio, type BadRanges, type EioMount } from '../../scripts/eio-mount.js';
