/** pg_settings.vartype */
export type ParameterType = 'bool' | 'integer' | 'real' | 'string' | 'enum';

/** pg_settings.context: when a change takes effect (and who may make it). */
export type ParameterContext =
  'internal' | 'postmaster' | 'sighup' | 'superuser-backend' | 'backend' | 'superuser' | 'user';

/** pg_settings.unit for numeric parameters ('B', 'kB', '8kB', 'MB', 'ms', 's', 'min'). */
export type ParameterUnit = 'B' | 'kB' | '8kB' | 'MB' | 'ms' | 's' | 'min';

/**
 * Compact catalog row, in pg_settings' own terms:
 * [name, vartype, context, unit?, min?, max?, enumvals?].
 */
export type ParameterRow = readonly [
  name: string,
  type: ParameterType,
  context: ParameterContext,
  unit?: ParameterUnit | null,
  min?: number | null,
  max?: number | null,
  enumValues?: readonly string[],
];

export interface ParameterInfo {
  name: string;
  type: ParameterType;
  context: ParameterContext;
  unit?: ParameterUnit;
  min?: number;
  max?: number;
  enumValues?: readonly string[];
}
