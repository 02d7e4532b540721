export * from './catalog';
export * from './inventory';
export * from './identity';
export * from './notifications';
