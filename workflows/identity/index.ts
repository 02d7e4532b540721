export { signingKeyRotation } from './signingKeyRotation';
export { notificationDelivery } from './notificationDelivery';
export { piiKeyRotation } from './piiKeyRotation'; // pii
export { gdprErasure } from './gdprErasure'; // gdpr
