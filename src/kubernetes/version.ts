/**
 * The Kubernetes versions the operator supports, in one place: the chart's `kubeVersion`, the docs, the
 * operator's start-up check of the server's `/version` and render's per-version choices all read this.
 *
 * The lower bound is what the rendered objects and the CRD are written against: every field and CRD feature
 * we emit must exist in MIN_SUPPORTED, or be rendered only for servers that have it (see `atLeast`).
 */

/** A Kubernetes minor version, e.g. `{ major: 1, minor: 28 }`. */
export interface KubernetesVersion {
  major: number;
  minor: number;
}

export const MIN_SUPPORTED: KubernetesVersion = { major: 1, minor: 28 };
/**
 * The newest minor we test against: the newest the stand-in API server emulates (EMULATED_MINORS in
 * test/support/kube-openapi.ts, from the OpenAPI models of @kubernetes/client-node 2.0, release-1.36).
 */
export const MAX_TESTED: KubernetesVersion = { major: 1, minor: 36 };

/** "1.28" */
export function formatVersion(v: KubernetesVersion): string {
  return `${v.major}.${v.minor}`;
}

/** The supported range as users read it: "1.28 or newer (tested up to 1.36)". */
export function supportedRangeText(): string {
  return `${formatVersion(MIN_SUPPORTED)} or newer (tested up to ${formatVersion(MAX_TESTED)})`;
}

/**
 * Parses what users and servers write: "1.28", "v1.30.2", "1.29.0-eks-1234", and the `/version` document's
 * `major`/`minor` pair (minor may carry a "+", as on GKE: `{ major: "1", minor: "29+" }`).
 * Returns undefined for anything else.
 */
export function parseKubernetesVersion(
  input: string | { major?: string; minor?: string; gitVersion?: string },
): KubernetesVersion | undefined {
  if (typeof input !== 'string') {
    const major = Number.parseInt(input.major ?? '', 10);
    const minor = Number.parseInt((input.minor ?? '').replace(/\+$/, ''), 10);
    if (Number.isInteger(major) && Number.isInteger(minor) && /^\d+\+?$/.test(input.minor ?? '')) {
      return { major, minor };
    }
    return input.gitVersion === undefined ? undefined : parseKubernetesVersion(input.gitVersion);
  }
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]*)?$/.exec(input.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]) };
}

export function compareVersions(a: KubernetesVersion, b: KubernetesVersion): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

/** Whether `v` is `min` or newer, e.g. `atLeast(server, { major: 1, minor: 30 })`. */
export function atLeast(v: KubernetesVersion, min: KubernetesVersion): boolean {
  return compareVersions(v, min) >= 0;
}

export function isSupported(v: KubernetesVersion): boolean {
  return atLeast(v, MIN_SUPPORTED);
}
