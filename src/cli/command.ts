import { parseArgs } from 'node:util';
/** A CLI sub-command. `run` returns the process exit code; it never calls process.exit itself. */
export interface Command {
  name: string;
  summary: string;
  /** Full help text printed for `flash-sale-operator <name> --help`. */
  usage: string;
  run(argv: string[], io: CommandIO): Promise<number>;
}

export interface CommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** A usage error: its message is printed first, then a pointer to the command's --help; exit code 2. */
export class UsageError extends Error {}

export const processIO: CommandIO = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** A flag a command accepts: a switch (`boolean`) or one taking a value (`string`, `multiple` to repeat it). */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}

export type OptionValues<T extends Record<string, OptionSpec>> = {
  [K in keyof T]?: T[K]['type'] extends 'boolean'
    ? boolean
    : T[K]['multiple'] extends true
      ? string[]
      : string;
};

/**
 * Reads a command's flags with node:util parseArgs (`--flag value`, `--flag=value`, `-f value`, `-fvalue`,
 * repeated flags) and reports every mistake as a UsageError in the same words for all commands: an unknown
 * flag, a flag without its value (or with an empty one), a value given to a switch, a stray argument.
 * A flag taking a value takes the next argument whatever it looks like, as `kubectl -f` does.
 */
export function parseOptions<T extends Record<string, OptionSpec>>(
  argv: string[],
  options: T,
): OptionValues<T> {
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const values: Record<string, string | string[] | boolean> = {};
  for (const t of tokens) {
    if (t.kind === 'positional') throw new UsageError(`unexpected argument '${t.value}'`);
    if (t.kind !== 'option') continue;
    const spec = options[t.name];
    if (!spec) throw new UsageError(`unknown argument '${t.rawName}'`);
    if (spec.type === 'boolean') {
      if (t.inlineValue) throw new UsageError(`${t.rawName} takes no value`);
      values[t.name] = true;
    } else if (t.value === undefined || t.value === '') {
      throw new UsageError(`${t.rawName} needs a value`);
    } else if (spec.multiple) {
      values[t.name] = [...((values[t.name] as string[] | undefined) ?? []), t.value];
    } else {
      values[t.name] = t.value;
    }
  }
  return values as OptionValues<T>;
}
