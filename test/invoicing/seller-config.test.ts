import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sellerFrom } from '../../invoicing/invoices';
import { ConfigError, loadConfig } from '../../platform/config';

const dataDir = mkdtempSync(join(tmpdir(), 'comptoir-invoicing-config-'));

test('seller details come from the configuration, with development defaults; number prefixes are checked', () => {
  const defaults = loadConfig({ DATA_DIR: dataDir });
  assert.deepEqual(sellerFrom(defaults), { name: 'Comptoir SAS (development)', addressLines: ['1 rue du Comptoir', '75001 Paris', 'France'], vatId: 'FR00999999999', country: 'FR' });
  assert.deepEqual([defaults.INVOICE_NUMBER_PREFIX, defaults.CREDIT_NOTE_NUMBER_PREFIX, defaults.INVOICE_RETENTION_YEARS], ['INV', 'CN', 10]);

  const set = loadConfig({ DATA_DIR: dataDir, SELLER_NAME: 'Maison Dupont SARL', SELLER_ADDRESS: ' 3 quai Est | 69002 Lyon |', SELLER_VAT_ID: 'FR12345678901', SELLER_COMPANY_ID: 'RCS Lyon 123 456 789' });
  assert.deepEqual(sellerFrom(set), { name: 'Maison Dupont SARL', addressLines: ['3 quai Est', '69002 Lyon'], vatId: 'FR12345678901', country: 'FR', companyId: 'RCS Lyon 123 456 789' });

  // One counter per prefix and year: a shared prefix would leave gaps in both series.
  assert.throws(() => loadConfig({ DATA_DIR: dataDir, INVOICE_NUMBER_PREFIX: 'DOC', CREDIT_NOTE_NUMBER_PREFIX: 'DOC' }), ConfigError);
  assert.throws(() => loadConfig({ DATA_DIR: dataDir, INVOICE_NUMBER_PREFIX: 'inv-' }), (error: Error) => error instanceof ConfigError && /INVOICE_NUMBER_PREFIX/.test(error.message));
  assert.throws(() => loadConfig({ DATA_DIR: dataDir, SELLER_COUNTRY: 'France' }), (error: Error) => error instanceof ConfigError && /SELLER_COUNTRY/.test(error.message));
});
