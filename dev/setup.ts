/** `npm run setup`: installs the project-local tools (the Temporal CLI) without starting anything. */
import { loadConfig } from '../config.js';
import { ensureTemporalBinary } from './tools.js';

const config = loadConfig();
const binary = await ensureTemporalBinary(config.paths.tools, (m) => console.log(`[setup] ${m}`));
console.log(`[setup] Temporal CLI: ${binary}`);
