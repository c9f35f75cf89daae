import { commands } from './commands/index.js';
import { processIO, UsageError, type CommandIO } from './command.js';

function topLevelHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'flash-sale-operator: turns FlashSaleStack resources into a tuned, monitored flash-sale system.',
    '',
    'Usage: flash-sale-operator <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    "Run 'flash-sale-operator <command> --help' for a command's options.",
    '',
  ].join('\n');
}

const isHelp = (arg: string | undefined) => arg === '--help' || arg === '-h';

/** A usage error as users see it: the one line that matters first, then where the full usage is. */
function usageError(io: CommandIO, message: string, command?: string): number {
  const prefix = command === undefined ? 'flash-sale-operator' : `flash-sale-operator ${command}`;
  io.stderr(`${prefix}: ${message}\nRun '${prefix} --help' for usage.\n`);
  return 2;
}

export async function main(argv: string[], io: CommandIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    return usageError(io, `give a command: ${commands.map((c) => c.name).join(', ')}`);
  }
  if (isHelp(name) || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    const command = topic === undefined ? undefined : commands.find((c) => c.name === topic);
    if (topic !== undefined && !command) return usageError(io, `unknown command '${topic}'`);
    io.stdout(command ? withNewline(command.usage) : topLevelHelp());
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) return usageError(io, `unknown command '${name}'`);
  if (rest.some(isHelp)) {
    io.stdout(withNewline(command.usage));
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) return usageError(io, err.message, command.name);
    throw err;
  }
}

const withNewline = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);
