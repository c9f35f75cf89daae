export * from './catalog.js';
export * from './units.js';
export * from './validate.js';
export * from './tune.js';
