#!/usr/bin/env node
// The `ir-rcnn` command: `ir-rcnn <subcommand> ...` runs src/cli/<subcommand>.ts, whose
// `run(argv)` does the work. Adding a subcommand is adding a file.
import * as fs from 'fs';
import * as path from 'path';
import { fail } from './args';

/** What every subcommand file exports. */
export interface Subcommand {
  run(argv: string[]): Promise<void>;
}

// Files here are subcommands, except these helpers.
const NOT_SUBCOMMANDS = new Set(['main', 'args']);

function subcommands(): string[] {
  return fs
    .readdirSync(__dirname)
    .filter((file) => file.endsWith('.js'))
    .map((file) => file.slice(0, -3))
    .filter((name) => !NOT_SUBCOMMANDS.has(name) && /^[a-z][a-z0-9-]*$/.test(name))
    .sort();
}

function usage(): string {
  return `usage: ir-rcnn <${subcommands().join('|')}> [options]`;
}

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h') {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  if (name === undefined) fail(`no command; ${usage()}`);
  if (!subcommands().includes(name)) fail(`unknown command '${name}'; ${usage()}`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const command = require(path.join(__dirname, name)) as Partial<Subcommand>;
  if (typeof command.run !== 'function') fail(`command '${name}' has no run(argv)`);
  await command.run(rest);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));
}
