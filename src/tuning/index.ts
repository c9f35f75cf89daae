/**
 * PostgreSQL tuning engine: per-version parameter catalog (15–18), validation of spec.postgres.parameters,
 * pgtune-style defaults from container limits, and the postgresql.conf writer. All functions are pure.
 *
 * Decisions worth knowing:
 * - Parameter names are case-insensitive (as in PostgreSQL); tuned output uses lower-case names sorted by name.
 * - Dotted (extension) names: pg_stat_statements.* and auto_explain.* are validated like built-ins, and
 *   tunePostgres adds the library to shared_preload_libraries; other `<ext>.<name>` are accepted only when
 *   `<ext>` is listed in the user's shared_preload_libraries (otherwise they would silently do nothing).
 * - tunePostgres throws InvalidPostgresParametersError for invalid user parameters: call
 *   validatePostgresParameters first (validateStack does) to report them as problems.
 * - Budget-breaking overrides (shared_buffers > 40% of memory, work_mem × max_connections + shared_buffers >
 *   memory) are rendered and returned as warnings.
 * - Logging goes to stderr (kubectl logs); logging_collector is not turned on.
 */
export * from './catalog.js';
export * from './units.js';
export * from './validate.js';
export * from './tune.js';
