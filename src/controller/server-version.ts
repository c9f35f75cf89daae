/**
 * The start-up check of the API server's version: below the supported range the operator stops at once with
 * one line naming the range and the server's version (a newer server is fine: render only emits fields it
 * has); the parsed version goes into render's inputs.
 */
import {
  formatVersion,
  isSupported,
  parseKubernetesVersion,
  supportedRangeText,
  type KubernetesVersion,
} from '../kubernetes/version.js';
import type { KubeClient } from './kube-client.js';

export class UnsupportedKubernetesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedKubernetesError';
  }
}

/** Judges a `/version` document: the server's version, or an error whose message is the one line to print. */
export function checkServerVersion(doc: {
  major?: string;
  minor?: string;
  gitVersion?: string;
}): KubernetesVersion {
  const version = parseKubernetesVersion(doc);
  const shown = doc.gitVersion ?? `${doc.major ?? '?'}.${doc.minor ?? '?'}`;
  if (!version) {
    throw new UnsupportedKubernetesError(
      `cannot tell the Kubernetes version of the API server from /version (${JSON.stringify(doc)}); flash-sale-operator supports Kubernetes ${supportedRangeText()}`,
    );
  }
  if (!isSupported(version)) {
    throw new UnsupportedKubernetesError(
      `the API server runs Kubernetes ${shown} (${formatVersion(version)}), which flash-sale-operator does not support: it needs Kubernetes ${supportedRangeText()}`,
    );
  }
  return version;
}

export async function readServerVersion(client: KubeClient): Promise<KubernetesVersion> {
  return checkServerVersion(await client.version());
}
