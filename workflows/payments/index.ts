export { payment } from './payment';
export { paymentWebhookDelivery } from './webhookDelivery';
