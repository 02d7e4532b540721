export { inventoryReservationSweep } from './reservationSweep';
