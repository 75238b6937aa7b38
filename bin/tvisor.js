#!/usr/bin/env node
// The tvisor executable: runs the compiled CLI (npm install builds dist/).
import { main } from '../dist/src/cli/main.js';

await main(process.argv);
