/**
 * The real parts the operator runs with: full validation, defaults, the pure render layer, backup Jobs and
 * status, the health probe loop, and live reloads of PostgreSQL parameters that need no restart.
 */
import { applyDefaults } from '../api/defaults.js';
import { backupStatus } from '../backup/status.js';
import { renderBackupNowJob } from '../render/backup.js';
import { render } from '../render/index.js';
import { HttpSaleApi } from '../sales/http-sale-api.js';
import { systemClock } from '../sales/controller.js';
import { validateStackFully } from '../validation.js';
import { apiServiceEndpoint, createHealthIntegration, type EndpointMapper } from './health-integration.js';
import type { Logger } from './logger.js';
import type { OperatorParts, SaleParts } from './operator.js';
import { PostgresReloader, type PostgresReloadOptions } from './postgres-reload.js';

export interface WiringOptions {
  health: boolean;
  defaultProbeIntervalMs: number;
  /** Where to dial the stack's Services (probes and PostgreSQL reloads); default in-cluster DNS. */
  endpoints?: EndpointMapper;
  /**
   * Live PostgreSQL reloads (src/controller/postgres-reload.ts): `false` turns them off (a reloadable change
   * then waits for the next restart); otherwise retry timings and a target override. `endpoints` above is
   * used unless these options name their own.
   */
  postgresReload?: false | Omit<PostgresReloadOptions, 'log'>;
  /** FlashSales: the clock (tests drive one), how often live counters are read, or another API client. */
  sales?: Partial<SaleParts>;
  log: Logger;
}

/** Live counters of a sale are read this often (and SafeToStart looked at again while prewarming). */
export const DEFAULT_SALE_REFRESH_MS = 2_000;

export function createOperatorParts(opts: WiringOptions): OperatorParts {
  const reloader =
    opts.postgresReload === false
      ? undefined
      : new PostgresReloader({
          endpoints: opts.endpoints,
          ...opts.postgresReload,
          log: opts.log.child({ part: 'postgres-reload' }),
        });
  return {
    validate: validateStackFully,
    applyDefaults,
    render,
    renderBackupNowJob,
    backupStatus,
    sales: {
      clock: systemClock,
      refreshMs: DEFAULT_SALE_REFRESH_MS,
      validateStack: validateStackFully,
      applyDefaults,
      // The API service's admin endpoints, reached the way the health probe reaches the API.
      saleApi: (stack, secrets) => {
        const at = apiServiceEndpoint(stack, opts.endpoints);
        return new HttpSaleApi({ baseUrl: `http://${at.host}:${at.port}`, token: secrets.apiAdminToken });
      },
      ...opts.sales,
    },
    ...(reloader ? { postgresConfigChanged: reloader.configChanged, postgresReloader: reloader } : {}),
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
