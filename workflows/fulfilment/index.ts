export { fulfilment } from './fulfilment';
