/** V8's flags for the xtar command line, set before any other module is evaluated (main.ts imports this first). */
import { capOldGenerationGrowth } from './heap-growth.js';
import { capYoungGeneration } from './young-generation.js';

// (Before the other modules load: once a scavenge has grown the young generation, it stays grown.)
capYoungGeneration();
capOldGenerationGrowth();
