import { z } from '@hono/zod-openapi';

/**
 * The filter parameters GET /v1/products and GET /v1/search share: open-ended `attr.<name>=<value>`
 * parameters (one name repeated is OR, different names are AND), every other unknown parameter
 * refused by name, and a price range that is not upside down.
 */
const attributeParam = /^attr\.([a-z0-9_]{1,64})$/;
const attributeValue = z.string().min(1).max(100);
const maxAttributes = 10;

/** For `.catchall()`: what any `attr.<name>` parameter may hold. */
export const attributeParamValues = z.union([attributeValue, z.array(attributeValue).max(20)]);

/** Names every parameter that is neither in `named` nor `attr.*`; run it even when another parameter is already wrong. */
export function refuseUnknownParams(named: ReadonlySet<string>) {
  return (params: Record<string, unknown>, ctx: z.RefinementCtx) => {
    for (const key of Object.keys(params)) {
      if (!named.has(key) && !attributeParam.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'unknown field' });
    }
  };
}

/** Checks that need valid values: the price range and the number of attribute filters. */
export function checkFilterBounds(params: Record<string, unknown> & { priceMin?: number; priceMax?: number }, ctx: z.RefinementCtx) {
  if (params.priceMin !== undefined && params.priceMax !== undefined && params.priceMin > params.priceMax) {
    ctx.addIssue({ code: 'custom', path: ['priceMin'], message: `must not exceed priceMax (${params.priceMax})` });
  }
  if (Object.keys(params).filter((key) => attributeParam.test(key)).length > maxAttributes) {
    ctx.addIssue({ code: 'custom', path: [], message: `at most ${maxAttributes} attr.* filters` });
  }
}

/** `attr.material=cuir&attr.material=lin` → `{ material: ['cuir', 'lin'] }`. */
export function attributeFilters(params: Record<string, unknown>): Record<string, string[]> {
  const attributes: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(params)) {
    const name = attributeParam.exec(key)?.[1];
    if (name) attributes[name] = (Array.isArray(value) ? value : [value]).map(String);
  }
  return attributes;
}
