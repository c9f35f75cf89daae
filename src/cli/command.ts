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

/** A usage error: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}

export const processIO: CommandIO = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};
