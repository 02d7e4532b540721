export * from './catalog';
export * from './inventory';
export * from './marketing';
export * from './identity';
export * from './notifications';
export * from './orders';
export * from './payments';
export * from './ops';
