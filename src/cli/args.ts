// The tiny argument parser and error exit shared by every `ir-rcnn` subcommand.

/** Parsed command line: positional arguments and `--name value` / `--flag` options. */
export interface ParsedArgs {
  positional: string[];
  options: Map<string, string | true>;
}

/**
 * Splits argv into positionals and options. `flags` names the options that take no value;
 * every other `--name` takes the next argument (or `--name=value`).
 */
export function parseArgs(argv: string[], known: { values: string[]; flags?: string[] }): ParsedArgs {
  const flags = new Set(known.flags ?? []);
  const values = new Set(known.values);
  const parsed: ParsedArgs = { positional: [], options: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--') || arg === '--') {
      parsed.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (flags.has(name)) {
      if (eq > 0) throw new UsageError(`option --${name} takes no value`);
      parsed.options.set(name, true);
    } else if (values.has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`option --${name} needs a value`);
      parsed.options.set(name, value);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return parsed;
}

/** A mistake in the command line: reported as one line, exit status 1. */
export class UsageError extends Error {}

/** The string value of an option, if given. */
export function optString(args: ParsedArgs, name: string): string | undefined {
  const value = args.options.get(name);
  return typeof value === 'string' ? value : undefined;
}

/** A numeric option; a value that is not a number is a usage error naming the option. */
export function optNumber(args: ParsedArgs, name: string, check?: { integer?: boolean; min?: number; max?: number }): number | undefined {
  const text = optString(args, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  const bad =
    text.trim() === '' || !Number.isFinite(value) || (check?.integer && !Number.isInteger(value)) ||
    (check?.min !== undefined && value < check.min) || (check?.max !== undefined && value > check.max);
  if (bad) {
    const what = check?.integer ? 'an integer' : 'a number';
    const range = check?.min !== undefined || check?.max !== undefined ? ` in [${check?.min ?? '-inf'}, ${check?.max ?? 'inf'}]` : '';
    throw new UsageError(`option --${name}: expected ${what}${range}, got '${text}'`);
  }
  return value;
}

/** Writes one line to stderr and exits with status 1; stdout is left untouched. */
export function fail(message: string): never {
  // Errors from the library itself already name it.
  process.stderr.write(`ir-rcnn: ${message.split('\n')[0].replace(/^ir-rcnn: /, '')}\n`);
  process.exit(1);
}

/** Writes a JSON document to stdout and resolves once it has been flushed. */
export function printJson(value: unknown): Promise<void> {
  return new Promise((resolve) => process.stdout.write(`${JSON.stringify(value)}\n`, () => resolve()));
}
