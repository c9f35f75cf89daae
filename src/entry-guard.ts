/**
 * What both binaries (`flash-sale-operator`, `flash-sale-api`) do first, before they load anything else. Their
 * entry files import only this module and load the rest with a dynamic import(), because static imports run
 * before any code of the importing module: on Node.js 20 undici (through @kubernetes/client-node) crashes while
 * loading (`TypeError: Cannot read properties of undefined (reading 'bind')`) before a check could say why.
 *
 * Keep this file free of imports: it must load on any Node.js that can parse it.
 */

/** The oldest Node.js the binaries run on: undici's `engines` (>=22.19.0); package.json `engines.node` says the same. */
export const NODE_REQUIRED = '22.19';

/** The one line that refuses `version`, or undefined when it is new enough. */
export function nodeVersionProblem(binary: string, version: string): string | undefined {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const [needMajor = 0, needMinor = 0] = NODE_REQUIRED.split('.').map(Number);
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return undefined;
  return (
    `${binary}: needs Node.js ${NODE_REQUIRED} or newer, this is Node.js ${version}; ` +
    `from a checkout run \`npx ${binary}\` (npm ci brings Node.js 24 for npm and npx), or install Node.js 24`
  );
}

/**
 * npm and npx start a binary as npm → sh -c → node. A signal sent to npm's PID (`kill $!` after `npx … &`)
 * reaches that sh, which dies without passing it on, and the binary would keep running with nobody to stop it.
 * Under npm (it sets npm_command), notice the parent going away and take it as the SIGTERM it was meant to be.
 */
function stopWithNpmParent(): void {
  if (!process.env.npm_command) return;
  if (orphanedAlready()) {
    // npx was killed while this process was still loading: the sh died before we could watch it.
    setImmediate(() => process.kill(process.pid, 'SIGTERM'));
    return;
  }
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  }, 500);
  timer.unref();
}

/**
 * Started by npm but adopted by init already: our parent is PID 1 and PID 1 is not npm itself (as it is for
 * `CMD ["npm", "start"]` in a container).
 */
function orphanedAlready(): boolean {
  if (process.ppid !== 1) return false;
  const fs = process.getBuiltinModule('node:fs');
  try {
    return !fs.readFileSync('/proc/1/cmdline', 'utf8').includes('npm');
  } catch {
    return false; // no /proc: cannot tell
  }
}

/** A reader that stops early (`| head`) is not an error: end quietly instead of an EPIPE stack trace. */
function endQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(0);
    });
  }
}

/**
 * Call first in an entry file. On an unsupported Node.js it prints one line, sets exit status 1 and returns
 * false (load nothing else then); otherwise it sets up the process-wide behaviour above and returns true.
 */
export function guardEntry(binary: string): boolean {
  const problem = nodeVersionProblem(binary, process.versions.node);
  if (problem) {
    process.stderr.write(`${problem}\n`);
    process.exitCode = 1;
    return false;
  }
  endQuietlyOnClosedPipe();
  stopWithNpmParent();
  return true;
}
