/**
 * A person's address book. Everything but the country is one encrypted JSON value (the country stays in
 * clear: tax and shipping zones are chosen by it). Each account has at most one default shipping and one
 * default billing address: choosing a new default takes it away from the previous one, in the same
 * transaction, under a lock on the account.
 */
import { randomUUID } from 'node:crypto';
import {
  addressRows,
  clearDefault,
  countAddresses,
  deleteAddressRow,
  insertAddressRow,
  ownedAddressRow,
  updateAddressRow,
  type AddressRow,
} from '../db/identity/profile';
import type { Config } from '../platform/config';
import { decryptPii, encryptPii } from '../platform/pii';
import type { Database, Executor } from '../platform/postgres';
import { piiFields } from './pii-fields';
import { lockLiveAccount } from './profile';

/** The encrypted part of an address. */
export interface AddressDetails {
  label: string | null;
  name: string;
  line1: string;
  line2: string | null;
  postalCode: string;
  city: string;
  region: string | null;
  phone: string | null;
}

export interface Address extends AddressDetails {
  id: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
  isDefaultShipping: boolean;
  isDefaultBilling: boolean;
  createdAt: Date;
  updatedAt: Date;
}

type Optional = 'label' | 'line2' | 'region' | 'phone';
export type NewAddress = Omit<AddressDetails, Optional> &
  Partial<Pick<AddressDetails, Optional>> & { country: string; isDefaultShipping?: boolean; isDefaultBilling?: boolean };
/** A partial change; `null` clears an optional field. */
export type AddressChanges = Partial<Omit<AddressDetails, Optional>> &
  Partial<Pick<AddressDetails, Optional>> & { country?: string; isDefaultShipping?: boolean; isDefaultBilling?: boolean };

/** Enough for home, work, family and a few pick-up points; a bound on what one account can make us store and decrypt. */
export const maxAddressesPerAccount = 50;

export class AddressBookFull extends Error {
  override name = 'AddressBookFull';
}

// ISO 3166-1 alpha-2, officially assigned codes. Exceptionally reserved ones (EU, UK) and user-assigned
// ones (XK) are not countries a carrier or a tax table knows by that code.
const countryCodeList =
  'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN ' +
  'CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM ' +
  'HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ' +
  'ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW ' +
  'SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI ' +
  'VN VU WF WS YE YT ZA ZM ZW';
export const countryCodes: ReadonlySet<string> = new Set(countryCodeList.split(' '));

export function isCountryCode(value: string): boolean {
  return countryCodes.has(value);
}

function encryptDetails(config: Pick<Config, 'pii'>, id: string, details: AddressDetails): string {
  // A fixed key order: the same address always serialises the same way.
  const { label, name, line1, line2, postalCode, city, region, phone } = details;
  return encryptPii(config.pii.keyring, JSON.stringify({ label, name, line1, line2, postalCode, city, region, phone }), piiFields.addressDetails.context(id));
}

export function decryptAddress(config: Pick<Config, 'pii'>, row: AddressRow): Address {
  const details = JSON.parse(decryptPii(config.pii.keyring, row.detailsEnc, piiFields.addressDetails.context(row.id))) as AddressDetails;
  return {
    id: row.id,
    label: details.label ?? null,
    name: details.name,
    line1: details.line1,
    line2: details.line2 ?? null,
    postalCode: details.postalCode,
    city: details.city,
    region: details.region ?? null,
    country: row.country.trim(),
    phone: details.phone ?? null,
    isDefaultShipping: row.isDefaultShipping,
    isDefaultBilling: row.isDefaultBilling,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export async function listAddresses(db: Executor, config: Pick<Config, 'pii'>, accountId: string): Promise<Address[]> {
  return (await addressRows(db, accountId)).map((row) => decryptAddress(config, row));
}

export async function createAddress(db: Database, config: Pick<Config, 'pii'>, accountId: string, input: NewAddress): Promise<Address> {
  return db.transaction(async (tx) => {
    await lockLiveAccount(tx, accountId);
    if ((await countAddresses(tx, accountId)) >= maxAddressesPerAccount) throw new AddressBookFull(`at most ${maxAddressesPerAccount} addresses per account`);
    const id = randomUUID();
    await giveUpDefaults(tx, accountId, id, input);
    const row = await insertAddressRow(tx, {
      id,
      accountId,
      country: input.country,
      detailsEnc: encryptDetails(config, id, withNulls(input)),
      isDefaultShipping: input.isDefaultShipping ?? false,
      isDefaultBilling: input.isDefaultBilling ?? false,
    });
    return decryptAddress(config, row);
  });
}

/** Undefined when the address does not exist or is someone else's. */
export async function updateAddress(db: Database, config: Pick<Config, 'pii'>, accountId: string, id: string, changes: AddressChanges): Promise<Address | undefined> {
  return db.transaction(async (tx) => {
    await lockLiveAccount(tx, accountId);
    const current = await ownedAddressRow(tx, accountId, id);
    if (!current) return undefined;
    const { country, isDefaultShipping, isDefaultBilling, ...detailChanges } = changes;
    const detailsChanged = Object.keys(detailChanges).length > 0;
    const details = detailsChanged ? { ...detailsOf(decryptAddress(config, current)), ...detailChanges } : undefined;
    await giveUpDefaults(tx, accountId, id, { isDefaultShipping, isDefaultBilling });
    const row = await updateAddressRow(tx, accountId, id, {
      ...(country === undefined ? {} : { country }),
      ...(details ? { detailsEnc: encryptDetails(config, id, details) } : {}),
      ...(isDefaultShipping === undefined ? {} : { isDefaultShipping }),
      ...(isDefaultBilling === undefined ? {} : { isDefaultBilling }),
    });
    return decryptAddress(config, row!);
  });
}

/** False when the address does not exist or is someone else's. */
export async function deleteAddress(db: Database, accountId: string, id: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    await lockLiveAccount(tx, accountId);
    return deleteAddressRow(tx, accountId, id);
  });
}

/** Before an address becomes a default, the others stop being one: a unique index allows one of each kind per account. */
async function giveUpDefaults(tx: Executor, accountId: string, id: string, wanted: { isDefaultShipping?: boolean; isDefaultBilling?: boolean }): Promise<void> {
  if (wanted.isDefaultShipping) await clearDefault(tx, accountId, 'shipping', id);
  if (wanted.isDefaultBilling) await clearDefault(tx, accountId, 'billing', id);
}

function withNulls(input: NewAddress): AddressDetails {
  return {
    label: input.label ?? null,
    name: input.name,
    line1: input.line1,
    line2: input.line2 ?? null,
    postalCode: input.postalCode,
    city: input.city,
    region: input.region ?? null,
    phone: input.phone ?? null,
  };
}

function detailsOf(address: Address): AddressDetails {
  const { label, name, line1, line2, postalCode, city, region, phone } = address;
  return { label, name, line1, line2, postalCode, city, region, phone };
}
