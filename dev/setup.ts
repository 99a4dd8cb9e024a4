/** `npm run setup`: installs the project-local tools (the Temporal CLI, Chromium as root) without starting anything. */
import { loadConfig } from '../config.js';
import { ensureChromium } from './browser.js';
import { ensureTemporalBinary } from './tools.js';

const config = loadConfig();
const binary = await ensureTemporalBinary(config.paths.tools, (m) => console.log(`[setup] ${m}`));
console.log(`[setup] Temporal CLI: ${binary}`);
const browser = ensureChromium((m) => console.log(`[setup] ${m}`));
console.log(`[setup] Chromium: ${browser.ok ? browser.path : browser.reason}`);
