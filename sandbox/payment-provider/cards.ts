/**
 * The sandbox's test cards: the number decides how the provider behaves, as with real providers' test modes.
 * Any other number that passes the Luhn check behaves like `success`. A card whose expiry date is past is
 * tokenised but declined with `expired_card` at authorisation.
 */
export const testCards = {
  /** Authorised at once. */
  success: '4242424242424242',
  /** Declined: `card_declined`. */
  decline: '4000000000000002',
  /** Declined: `insufficient_funds`. */
  insufficientFunds: '4000000000009995',
  /**
   * 3-D Secure: authorisation answers `requires_action` with an `action_url`; the outcome comes later by
   * webhook (`payment.authorised` or `payment.declined`), after the configured delay or when a test calls
   * `POST /v1/test/payments/{id}/confirm`.
   */
  threeDSecure: '4000000000003220',
  /** The provider never answers in time: authorisation hangs past the client's timeout, or answers 503 (setting `timeoutCard`). */
  timeout: '4000000000000119',
  /** Answers 503 to the first attempts of each idempotency key (setting `flakyFailures`, 2 by default), then authorises. */
  flaky: '4000000000005035',
} as const;

export type CardBehaviour = keyof typeof testCards;

const behaviourByNumber = new Map<string, CardBehaviour>(Object.entries(testCards).map(([behaviour, number]) => [number, behaviour as CardBehaviour]));

export function behaviourOf(number: string): CardBehaviour {
  return behaviourByNumber.get(number) ?? 'success';
}

export function passesLuhn(number: string): boolean {
  if (!/^\d{12,19}$/.test(number)) return false;
  let sum = 0;
  for (let i = 0; i < number.length; i++) {
    let digit = Number(number[number.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

export function brandOf(number: string): 'visa' | 'mastercard' | 'amex' | 'unknown' {
  if (number.startsWith('4')) return 'visa';
  if (/^3[47]/.test(number)) return 'amex';
  const two = Number(number.slice(0, 2));
  const four = Number(number.slice(0, 4));
  if ((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720)) return 'mastercard';
  return 'unknown';
}
