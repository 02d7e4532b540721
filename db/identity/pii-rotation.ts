/**
 * Queries over any encrypted column of `identity/pii-fields.ts`: the rotation walks columns of several
 * tables and schemas with one set of statements, so table and column names are identifiers here, taken
 * from that list (never from a request).
 */
import { sql, type SQL } from 'drizzle-orm';
import type { PiiField } from '../../identity/pii-fields';
import type { Executor } from '../../platform/postgres';

export interface StoredValue {
  /** The row's id, as text (it is bound into the encryption context as text). */
  id: string;
  value: string;
}

export interface ReplacedValue {
  id: string;
  old: string;
  new: string;
}

function tableOf(field: PiiField): SQL {
  const [schema, table] = field.table.split('.');
  if (!schema || !table) throw new Error(`PII field table "${field.table}" is not schema.table`);
  return sql`${sql.identifier(schema)}.${sql.identifier(table)}`;
}

/** The SQL type of the id column, read from the catalog (so a field naming a missing column fails loudly). */
export async function idColumnType(db: Executor, field: PiiField): Promise<string> {
  const rows = await db.execute<{ type: string }>(sql`
    SELECT format_type(a.atttypid, a.atttypmod) AS type
    FROM pg_attribute a
    WHERE a.attrelid = to_regclass(${field.table}) AND a.attname = ${field.idColumn} AND NOT a.attisdropped`);
  const type = rows[0]?.type;
  if (!type) throw new Error(`no column ${field.idColumn} in ${field.table}`);
  return type;
}

/**
 * The next values not under `currentKeyId`, after `afterId` in id order (keyset pagination: each batch
 * starts where the last ended, whatever was written meanwhile, at the cost of one index range scan).
 */
export async function valuesNotUnderKey(
  db: Executor,
  field: PiiField,
  idType: string,
  currentKeyId: string,
  afterId: string | null,
  limit: number,
): Promise<StoredValue[]> {
  const id = sql.identifier(field.idColumn);
  const column = sql.identifier(field.column);
  const after = afterId === null ? sql`` : sql`AND ${id} > CAST(${afterId} AS ${sql.raw(idType)})`;
  const rows = await db.execute<{ id: string; value: string }>(sql`
    SELECT ${id}::text AS id, ${column} AS value
    FROM ${tableOf(field)}
    WHERE ${column} IS NOT NULL AND NOT starts_with(${column}, ${`${currentKeyId}.`}) ${after}
    ORDER BY ${id}
    LIMIT ${limit}`);
  return rows.map((row) => ({ id: row.id, value: row.value }));
}

/**
 * Writes the re-encrypted values, each only where the column still holds the value that was read: a
 * row changed meanwhile (a new email, an erasure) keeps its newer value, already under the current key.
 * Returns how many rows were rewritten.
 */
export async function replaceValues(db: Executor, field: PiiField, idType: string, values: ReplacedValue[]): Promise<number> {
  if (values.length === 0) return 0;
  const id = sql.identifier(field.idColumn);
  const column = sql.identifier(field.column);
  const rows = await db.execute<{ id: string }>(sql`
    UPDATE ${tableOf(field)} AS t
    SET ${column} = u.new
    FROM jsonb_to_recordset(${JSON.stringify(values)}::jsonb) AS u(id text, old text, new text)
    WHERE t.${id} = CAST(u.id AS ${sql.raw(idType)}) AND t.${column} = u.old
    RETURNING t.${id}::text AS id`);
  return rows.length;
}
