#!/usr/bin/env node
// The tvisor executable: runs the compiled CLI, bundled into one module for startup time
// (npm install builds dist/: tsc, then esbuild; see package.json "prepare").
import { main } from '../dist/tvisor.mjs';

await main(process.argv);
