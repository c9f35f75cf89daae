import { describe, expect, it } from 'vitest';
import {
  atLeast,
  isSupported,
  MIN_SUPPORTED,
  parseKubernetesVersion,
  supportedRangeText,
} from '../../src/kubernetes/version.js';

describe('Kubernetes versions', () => {
  it('parses what users and servers write', () => {
    expect(parseKubernetesVersion('1.28')).toEqual({ major: 1, minor: 28 });
    expect(parseKubernetesVersion('v1.30.2')).toEqual({ major: 1, minor: 30 });
    expect(parseKubernetesVersion('v1.29.0-eks-1234')).toEqual({ major: 1, minor: 29 });
    expect(parseKubernetesVersion({ major: '1', minor: '29+' })).toEqual({ major: 1, minor: 29 });
    expect(parseKubernetesVersion({ major: '', minor: '', gitVersion: 'v1.31.1+k3s1' })).toEqual({
      major: 1,
      minor: 31,
    });
  });

  it('refuses what is not a version', () => {
    for (const bad of ['', 'latest', '1', '1.x', 'v1.28.0 extra']) {
      expect(parseKubernetesVersion(bad)).toBeUndefined();
    }
    expect(parseKubernetesVersion({ major: '1', minor: 'abc' })).toBeUndefined();
  });

  it('compares minors and knows the supported range', () => {
    expect(atLeast({ major: 1, minor: 30 }, { major: 1, minor: 29 })).toBe(true);
    expect(atLeast({ major: 1, minor: 28 }, { major: 1, minor: 29 })).toBe(false);
    expect(isSupported(MIN_SUPPORTED)).toBe(true);
    expect(isSupported({ major: 1, minor: MIN_SUPPORTED.minor - 1 })).toBe(false);
    expect(supportedRangeText()).toMatch(/^1\.28 or newer/);
  });
});
