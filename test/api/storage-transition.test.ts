import { describe, expect, it } from 'vitest';
import { expansionRefused, grows, storageTransitionProblems } from '../../src/api/storage-transition.js';

const existing = { path: 'spec.redis.storage', storageClassName: 'fast', size: '20Gi' };

describe('immutable storage fields against existing volumes', () => {
  it('lets a volume keep its size or grow, in any notation', () => {
    expect(storageTransitionProblems(existing, { size: '20Gi', storageClassName: 'fast' })).toEqual([]);
    expect(storageTransitionProblems(existing, { size: '21474836480', storageClassName: 'fast' })).toEqual(
      [],
    );
    expect(grows(existing, { size: '40Gi' })).toBe(true);
    expect(grows(existing, { size: '20480Mi' })).toBe(false);
  });

  it('refuses a shrink, naming the field, the sizes and the fix', () => {
    expect(storageTransitionProblems(existing, { size: '1e10', storageClassName: 'fast' })).toEqual([
      {
        path: 'spec.redis.storage.size',
        message: 'is 1e10 but the existing volumes have 20Gi; a volume can only grow: set at least 20Gi',
      },
    ]);
  });

  it('refuses a class change, a removed class and a new class on a template', () => {
    expect(storageTransitionProblems(existing, { size: '20Gi', storageClassName: 'slow' })[0]).toEqual({
      path: 'spec.redis.storage.storageClassName',
      message:
        'is "slow" but the existing volumes use "fast"; a PersistentVolumeClaim\'s storage class is immutable: set it back to "fast", or create a new stack and restore a backup into it',
    });
    expect(storageTransitionProblems(existing, { size: '20Gi' })[0]!.message).toMatch(/^is unset but/);
    expect(
      storageTransitionProblems(
        { ...existing, storageClassName: undefined },
        { size: '20Gi', storageClassName: 'x' },
      )[0]!.message,
    ).toMatch(/the cluster default class \(no storageClassName\).*remove storageClassName/);
  });

  it('an unset class on a claim leaves the live class alone', () => {
    expect(storageTransitionProblems(existing, { size: '20Gi' }, true)).toEqual([]);
  });

  it('says why growth is refused and how to allow it', () => {
    expect(
      expansionRefused('spec.backup.storage', '30Gi', 'StorageClass "std" does not allow volume expansion'),
    ).toEqual({
      path: 'spec.backup.storage.size',
      message:
        'cannot grow the volumes to 30Gi: StorageClass "std" does not allow volume expansion; nothing was changed: keep the old size, or allow expansion on the StorageClass (allowVolumeExpansion: true) first',
    });
  });
});
