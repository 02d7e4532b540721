// The worker bundles this file: every workflow type of every domain is exported from here.
export * from './campaigns/index';
export * from './catalog/index';
export * from './fulfilment/index';
export * from './identity/index';
export * from './inventory/index';
export * from './loyalty/index';
export * from './orders/index';
export * from './payments/index';
export * from './returns/index';
