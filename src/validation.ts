/**
 * The whole validation of a FlashSaleStack, as `validate`, `render` and the controller all run it:
 * the API's own rules (src/api), PostgreSQL parameters against the catalog of the chosen major version
 * (src/tuning), and the cross-component budgets that cannot work (src/render/budgets). All problems at once.
 */
import { applyDefaults } from './api/defaults.js';
import type { Problem } from './api/problems.js';
import type { FlashSaleStack } from './api/types.js';
import { validateStack } from './api/validate.js';
import { checkBudgets } from './render/budgets.js';
import { validatePostgresParameters } from './tuning/index.js';

export function validateStackFully(doc: unknown): Problem[] {
  const problems = validateStack(doc, { checkPostgresParameters: validatePostgresParameters });
  if (problems.length > 0) return problems;
  return checkBudgets(applyDefaults(doc as FlashSaleStack)).errors;
}
