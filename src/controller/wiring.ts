/**
 * The real parts the operator runs with: full validation, defaults, the pure render layer, backup Jobs and
 * status, and the health probe loop.
 */
import { applyDefaults } from '../api/defaults.js';
import { backupStatus } from '../backup/status.js';
import { renderBackupNowJob } from '../render/backup.js';
import { render } from '../render/index.js';
import { validateStackFully } from '../validation.js';
import { createHealthIntegration, type EndpointMapper } from './health-integration.js';
import type { Logger } from './logger.js';
import type { OperatorParts } from './operator.js';

export interface WiringOptions {
  health: boolean;
  defaultProbeIntervalMs: number;
  endpoints?: EndpointMapper;
  log: Logger;
}

export function createOperatorParts(opts: WiringOptions): OperatorParts {
  return {
    validate: validateStackFully,
    applyDefaults,
    render,
    renderBackupNowJob,
    backupStatus,
    ...(opts.health
      ? {
          health: createHealthIntegration({
            defaultIntervalMs: opts.defaultProbeIntervalMs,
            endpoints: opts.endpoints,
          }),
        }
      : {}),
  };
}
