import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderNotification } from '../../notifications/templates';

test('the order confirmation shows the total in the currency\'s own units and links to the order', () => {
  const fr = renderNotification('order_confirmed', { language: 'fr-FR', orderId: 'o-1', totalAmount: 123456, currency: 'EUR' }, 'https://shop.example/');
  assert.match(fr.text, /1\s?234,56\s?€/);
  assert.match(fr.text, /https:\/\/shop\.example\/account\/orders\/o-1/);
  const yen = renderNotification('order_confirmed', { language: 'en', orderId: 'o-2', totalAmount: 1500, currency: 'JPY' }, 'https://shop.example');
  assert.match(yen.text, /¥1,500/, 'JPY has no minor unit: 1500 is ¥1,500');
  assert.throws(() => renderNotification('order_confirmed', { orderId: 'o-3' }, 'https://shop.example'), /needs the order id, total and currency/);
});
