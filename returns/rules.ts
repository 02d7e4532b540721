/**
 * The rules of a return, as pure functions: what a customer may still send back, whether an inspection
 * decision fits the return, and what an accepted line is worth. The API, the activities and the workflow
 * all judge with these, so the answer a customer gets is the one the refund is computed from. No imports
 * but types: the workflow bundle uses this file too.
 */

export interface BoughtLine {
  sku: string;
  quantity: number;
  /** What the customer paid for the whole line, VAT included (minor units). */
  lineAmount: number;
}

export interface RequestedLine {
  sku: string;
  quantity: number;
}

/** A problem with one field of a request; `field` is a path in the body (`lines.0.quantity`). */
export interface RuleIssue {
  field: string;
  message: string;
}

/** Per SKU: bought, already returned or in a return still open, and what is left to return. */
export interface Returnable {
  bought: number;
  claimed: number;
  returnable: number;
}

export function returnableQuantities(bought: readonly RequestedLine[], claimed: readonly RequestedLine[]): Map<string, Returnable> {
  const result = new Map<string, Returnable>();
  for (const line of bought) {
    const entry = result.get(line.sku) ?? { bought: 0, claimed: 0, returnable: 0 };
    entry.bought += line.quantity;
    result.set(line.sku, entry);
  }
  for (const line of claimed) {
    const entry = result.get(line.sku);
    if (entry) entry.claimed += line.quantity;
  }
  for (const entry of result.values()) entry.returnable = Math.max(0, entry.bought - entry.claimed);
  return result;
}

/** Every line must be a line of the order, named once, for no more units than are still returnable. */
export function checkReturnLines(requested: readonly RequestedLine[], returnable: ReadonlyMap<string, Returnable>): RuleIssue[] {
  const issues: RuleIssue[] = [];
  if (requested.length === 0) issues.push({ field: 'lines', message: 'name at least one line to return' });
  const seen = new Set<string>();
  requested.forEach((line, index) => {
    const at = `lines.${index}`;
    const entry = returnable.get(line.sku);
    if (!entry) {
      issues.push({ field: `${at}.sku`, message: `${line.sku} is not a line of this order` });
      return;
    }
    if (seen.has(line.sku)) {
      issues.push({ field: `${at}.sku`, message: `${line.sku} is named twice; give one line per SKU` });
      return;
    }
    seen.add(line.sku);
    if (!Number.isSafeInteger(line.quantity) || line.quantity < 1) {
      issues.push({ field: `${at}.quantity`, message: 'must be a whole number of units, at least 1' });
    } else if (line.quantity > entry.returnable) {
      issues.push({
        field: `${at}.quantity`,
        message:
          entry.claimed > 0
            ? `at most ${entry.returnable} can still be returned: ${entry.bought} bought, ${entry.claimed} already returned or in a return`
            : `at most ${entry.bought} can be returned: that is what was bought`,
      });
    }
  });
  return issues;
}

export interface WindowedOrder {
  status: string;
  returnWindowEndsAt: Date | null;
}

/**
 * Whether the order is in its return window right now: `not_delivered` before it is COMPLETED (nothing to
 * send back yet), `closed` once the window has ended; undefined when a return may be requested.
 */
export function returnWindowIssue(order: WindowedOrder, now: Date): { kind: 'not_delivered' } | { kind: 'closed'; endedAt: Date } | undefined {
  if (order.status !== 'COMPLETED' || !order.returnWindowEndsAt) return { kind: 'not_delivered' };
  if (now.getTime() > order.returnWindowEndsAt.getTime()) return { kind: 'closed', endedAt: order.returnWindowEndsAt };
  return undefined;
}

export interface InspectedQuantities {
  sku: string;
  accepted: number;
  rejected: number;
}

/** An inspection names every returned line once, and accepted + rejected is exactly what came back. */
export function checkInspection(returned: readonly RequestedLine[], decided: readonly InspectedQuantities[]): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const expected = new Map(returned.map((line) => [line.sku, line.quantity]));
  const seen = new Set<string>();
  decided.forEach((line, index) => {
    const at = `lines.${index}`;
    const quantity = expected.get(line.sku);
    if (quantity === undefined) {
      issues.push({ field: `${at}.sku`, message: `${line.sku} is not a line of this return` });
      return;
    }
    if (seen.has(line.sku)) {
      issues.push({ field: `${at}.sku`, message: `${line.sku} is named twice` });
      return;
    }
    seen.add(line.sku);
    const whole = (n: number) => Number.isSafeInteger(n) && n >= 0;
    if (!whole(line.accepted)) issues.push({ field: `${at}.accepted`, message: 'must be a whole number, 0 or more' });
    if (!whole(line.rejected)) issues.push({ field: `${at}.rejected`, message: 'must be a whole number, 0 or more' });
    if (whole(line.accepted) && whole(line.rejected) && line.accepted + line.rejected !== quantity) {
      issues.push({ field: `${at}.accepted`, message: `accepted + rejected must be ${quantity}, the units returned` });
    }
  });
  for (const line of returned) {
    if (!seen.has(line.sku)) {
      issues.push({ field: 'lines', message: `${line.sku} is missing: decide every returned line` });
    }
  }
  return issues;
}

/**
 * What `units` of a bought line are worth: their share of what was paid for the line, VAT included.
 * Rounded down, so partial returns of one line never add up to more than the line cost.
 */
export function paidFor(line: BoughtLine, units: number): number {
  if (units <= 0) return 0;
  if (units >= line.quantity) return line.lineAmount;
  return Math.floor((line.lineAmount * units) / line.quantity);
}
