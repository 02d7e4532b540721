import { z } from 'zod';
import type { ImportRowError } from '../../db/schema/catalog';
import { taxCategories } from '../../orders/tax';

const currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR');
const minorUnits = z.number().int('must be an integer amount in minor units').min(0);

export const importPriceSchema = z
  .object({
    currency,
    amount: minorUnits,
    compareAtAmount: minorUnits.optional(),
  })
  .strict()
  .refine((p) => p.compareAtAmount === undefined || p.compareAtAmount > p.amount, {
    message: 'must be greater than amount',
    path: ['compareAtAmount'],
  });

export const importStockSchema = z
  .object({
    location: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a lowercase location code such as paris-1'),
    onHand: z.number().int().min(0),
  })
  .strict();

export const importVariantSchema = z
  .object({
    sku: z.string().regex(/^[A-Z0-9][A-Z0-9-]{0,63}$/, 'must be uppercase letters, digits and dashes'),
    title: z.string().min(1).max(200),
    options: z.record(z.string(), z.string()).default({}),
    weightGrams: z.number().int().positive().optional(),
    prices: z
      .array(importPriceSchema)
      .min(1)
      .refine((prices) => new Set(prices.map((p) => p.currency)).size === prices.length, 'one price per currency'),
    stock: z.array(importStockSchema).default([]),
  })
  .strict();

export const importProductSchema = z
  .object({
    slug: z.string().regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'must be lowercase words joined by dashes'),
    title: z.string().min(1).max(200),
    description: z.string().max(10_000).default(''),
    brand: z.string().max(100).optional(),
    status: z.enum(['draft', 'published']).default('published'),
    /** The product's VAT category (orders/tax.ts); left out, a new product is `standard` and an existing one keeps its own. */
    taxCategory: z.enum(taxCategories).optional(),
    categories: z.array(z.string().min(1).max(300)).max(10).default([]),
    attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    variants: z
      .array(importVariantSchema)
      .min(1)
      .refine((variants) => new Set(variants.map((v) => v.sku)).size === variants.length, 'SKUs must be unique'),
  })
  .strict();

export type ImportProduct = z.infer<typeof importProductSchema>;

export type RowValidation = { ok: true; product: ImportProduct } | { ok: false; errors: ImportRowError[] };

export function validateImportRow(payload: unknown): RowValidation {
  const parsed = importProductSchema.safeParse(payload);
  if (parsed.success) return { ok: true, product: parsed.data };
  return {
    ok: false,
    errors: parsed.error.issues.flatMap((issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({ field: [...issue.path, key].join('.'), message: 'unknown field' }))
        : [{ field: issue.path.length > 0 ? issue.path.join('.') : '(row)', message: issue.message }],
    ),
  };
}

/** `"Épicerie fine"` → `"epicerie-fine"`: accents dropped so URLs stay ASCII. */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/['’]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

export interface CategoryNode {
  path: string;
  slug: string;
  name: string;
  parentPath: string | null;
}

/** `"Sport > Chaussures > Running"` → the three nodes from the root down, each keyed by its slug path. */
export function parseCategoryPath(value: string): CategoryNode[] {
  const names = value
    .split('>')
    .map((part) => part.trim())
    .filter(Boolean);
  const nodes: CategoryNode[] = [];
  for (const name of names) {
    const slug = slugify(name);
    if (!slug) continue;
    const parentPath = nodes.at(-1)?.path ?? null;
    nodes.push({ name, slug, parentPath, path: parentPath ? `${parentPath}/${slug}` : slug });
  }
  return nodes;
}
