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

export async function main(argv: string[], io: CommandIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(topLevelHelp());
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr(`flash-sale-operator: unknown command '${name}'.\n\n${topLevelHelp()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(command.usage.endsWith('\n') ? command.usage : `${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`flash-sale-operator ${command.name}: ${err.message}\n\n${command.usage}\n`);
      return 2;
    }
    throw err;
  }
}
