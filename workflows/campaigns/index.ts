export { campaign } from './campaign';
