export { catalogImport } from './catalogImport';
export { reindex, searchIndexSync } from './searchIndexSync';
