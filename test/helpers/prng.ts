/** The PRNG lives in scripts/ (tools must not import from test/); tests take the same one from here. */
export { mulberry32 } from '../../scripts/prng.js';
