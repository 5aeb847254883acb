#!/usr/bin/env node
// Entry point of the `mt` bin; the commands live in main.ts.
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2));
