export { catalogImport } from './catalogImport';
