export { signingKeyRotation } from './signingKeyRotation';
// notifications: notificationDelivery
// pii: piiKeyRotation
// gdpr: gdprErasure
