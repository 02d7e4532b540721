import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { roles } from '../../db/schema/identity';
import { AddressBookFull, createAddress, deleteAddress, isCountryCode, listAddresses, maxAddressesPerAccount, updateAddress, type Address } from '../../identity/addresses';
import { consentChannels, consentHistory, currentConsents, setConsent, type ConsentState } from '../../identity/consents';
import { AccountGone, e164Pattern, isCurrencyCode, isLanguageTag, languagePattern, nameMaxLength, readProfile, updateProfile, type Profile } from '../../identity/profile';
import { access, accountOf } from '../auth';
import { accessIdempotent } from '../idempotency';
import type { AppEnv } from '../deps';
import { HttpProblem, problems } from '../problem';
import { pageQuery, SignedInProblemResponses } from '../schemas';

// Personal data: never cached by a browser or a proxy.
const privateHeaders = { 'Cache-Control': 'no-store' };

const text = (max: number) => z.string().trim().min(1).max(max);
const phone = z.string().max(16).regex(e164Pattern, 'must be an E.164 number, e.g. +33612345678');

const ProfileView = z
  .object({
    id: z.uuid(),
    email: z.string().nullable(),
    emailVerified: z.boolean(),
    givenName: z.string().nullable(),
    familyName: z.string().nullable(),
    phone: z.string().nullable().openapi({ description: 'E.164' }),
    language: z.string().nullable().openapi({ description: 'BCP 47 language tag', example: 'fr-FR' }),
    currency: z.string().nullable().openapi({ description: 'ISO 4217', example: 'EUR' }),
    role: z.enum(roles),
    mfaEnabled: z.boolean(),
    createdAt: z.iso.datetime(),
  })
  .openapi('Profile');

const ProfileChanges = z
  .object({
    givenName: text(nameMaxLength).nullable().optional(),
    familyName: text(nameMaxLength).nullable().optional(),
    phone: phone.nullable().optional(),
    language: z
      .string()
      .max(35)
      .refine(isLanguageTag, 'must be a BCP 47 language tag such as fr or fr-FR')
      .openapi({ pattern: languagePattern.source, example: 'fr-FR', description: 'BCP 47: language, optional script and region; stored canonical (fr-fr → fr-FR)' })
      .nullable()
      .optional(),
    currency: z
      .string()
      .refine(isCurrencyCode, 'must be an ISO 4217 currency code in use, such as EUR')
      .openapi({ pattern: '^[A-Z]{3}$', example: 'EUR', description: 'ISO 4217, a currency in use today' })
      .nullable()
      .optional(),
  })
  .strict()
  .openapi('ProfileChanges', { description: 'Only the fields given change; null clears one. The email changes through its own verified flow.' });

const country = z
  .string()
  .refine(isCountryCode, 'must be an ISO 3166-1 alpha-2 country code in capitals, such as FR')
  .openapi({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2' });
const addressFields = {
  label: text(50).nullable().optional().openapi({ example: 'Maison' }),
  name: text(200).openapi({ description: 'Who receives parcels here' }),
  line1: text(200),
  line2: text(200).nullable().optional(),
  postalCode: text(20),
  city: text(100),
  region: text(100).nullable().optional(),
  country: country.openapi({ example: 'FR' }),
  phone: phone.nullable().optional(),
};

const NewAddress = z
  .object({ ...addressFields, isDefaultShipping: z.boolean().default(false), isDefaultBilling: z.boolean().default(false) })
  .strict()
  .openapi('NewAddress', { description: 'Making it a default takes that default away from the previous one.' });

const AddressChanges = z
  .object({
    label: addressFields.label,
    name: addressFields.name.optional(),
    line1: addressFields.line1.optional(),
    line2: addressFields.line2,
    postalCode: addressFields.postalCode.optional(),
    city: addressFields.city.optional(),
    region: addressFields.region,
    country: country.optional(),
    phone: addressFields.phone,
    isDefaultShipping: z.boolean().optional(),
    isDefaultBilling: z.boolean().optional(),
  })
  .strict()
  .openapi('AddressChanges', { description: 'Only the fields given change; null clears an optional one.' });

const AddressView = z
  .object({
    id: z.uuid(),
    label: z.string().nullable(),
    name: z.string(),
    line1: z.string(),
    line2: z.string().nullable(),
    postalCode: z.string(),
    city: z.string(),
    region: z.string().nullable(),
    country: z.string(),
    phone: z.string().nullable(),
    isDefaultShipping: z.boolean(),
    isDefaultBilling: z.boolean(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi('Address');

const AddressList = z
  .object({ items: z.array(AddressView).max(maxAddressesPerAccount) })
  .openapi('AddressList', { description: `The whole address book (at most ${maxAddressesPerAccount}), oldest first; small enough to need no pages.` });

const addressParams = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });

const ConsentStateView = z.object({
  granted: z.boolean(),
  changedAt: z.iso.datetime().nullable().openapi({ description: 'When this answer was given; null if the channel was never answered (not granted)' }),
});
const ConsentsView = z.object({ email: ConsentStateView, sms: ConsentStateView, push: ConsentStateView }).openapi('Consents');
const ConsentAnswer = z.object({ granted: z.boolean() }).strict().openapi('ConsentAnswer');
const consentParams = z.object({ channel: z.enum(consentChannels).openapi({ param: { name: 'channel', in: 'path' } }) });
const ConsentHistory = z
  .object({
    items: z.array(z.object({ channel: z.enum(consentChannels), granted: z.boolean(), occurredAt: z.iso.datetime() })),
    nextCursor: z.string().nullable(),
  })
  .openapi('ConsentHistory');

const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } } });

const getProfile = createRoute({
  method: 'get',
  path: '/v1/me',
  tags: ['identity'],
  summary: 'Your profile and preferences',
  ...access('account:self'),
  responses: { 200: { description: 'The profile', ...json(ProfileView) }, ...SignedInProblemResponses },
});

const patchProfile = createRoute({
  method: 'patch',
  path: '/v1/me',
  tags: ['identity'],
  summary: 'Change your names, phone, language or currency',
  ...access('account:self'),
  request: { body: { required: true, ...json(ProfileChanges) } },
  responses: { 200: { description: 'The profile as changed', ...json(ProfileView) }, ...SignedInProblemResponses },
});

const listAddressesRoute = createRoute({
  method: 'get',
  path: '/v1/me/addresses',
  tags: ['identity'],
  summary: 'Your address book',
  ...access('account:self'),
  responses: { 200: { description: 'Addresses', ...json(AddressList) }, ...SignedInProblemResponses },
});

const createAddressRoute = createRoute({
  method: 'post',
  path: '/v1/me/addresses',
  tags: ['identity'],
  summary: 'Add an address',
  ...accessIdempotent('account:self', { required: false }),
  request: { body: { required: true, ...json(NewAddress) } },
  responses: {
    201: { description: 'Created; Location names it', ...json(AddressView) },
    409: { description: 'The address book is full', content: SignedInProblemResponses[404].content },
    ...SignedInProblemResponses,
  },
});

const patchAddressRoute = createRoute({
  method: 'patch',
  path: '/v1/me/addresses/{id}',
  tags: ['identity'],
  summary: 'Change one of your addresses',
  ...access('account:self'),
  request: { params: addressParams, body: { required: true, ...json(AddressChanges) } },
  responses: { 200: { description: 'The address as changed', ...json(AddressView) }, ...SignedInProblemResponses },
});

const deleteAddressRoute = createRoute({
  method: 'delete',
  path: '/v1/me/addresses/{id}',
  tags: ['identity'],
  summary: 'Remove one of your addresses',
  ...access('account:self'),
  request: { params: addressParams },
  responses: { 204: { description: 'Removed' }, ...SignedInProblemResponses },
});

const getConsents = createRoute({
  method: 'get',
  path: '/v1/me/consents',
  tags: ['identity'],
  summary: 'Your marketing consent per channel, with when you gave or withdrew it',
  ...access('account:self'),
  responses: { 200: { description: 'Consents', ...json(ConsentsView) }, ...SignedInProblemResponses },
});

const putConsent = createRoute({
  method: 'put',
  path: '/v1/me/consents/{channel}',
  tags: ['identity'],
  summary: 'Give or withdraw marketing consent on one channel',
  description: 'Recorded in the history with its time. Repeating the current answer changes nothing.',
  ...access('account:self'),
  request: { params: consentParams, body: { required: true, ...json(ConsentAnswer) } },
  responses: { 200: { description: 'The channel\'s consent now', ...json(ConsentStateView) }, ...SignedInProblemResponses },
});

const consentHistoryRoute = createRoute({
  method: 'get',
  path: '/v1/me/consents/history',
  tags: ['identity'],
  summary: 'Every consent you gave or withdrew, newest first',
  ...access('account:self'),
  request: { query: pageQuery },
  responses: { 200: { description: 'A page of the history', ...json(ConsentHistory) }, ...SignedInProblemResponses },
});

const profileView = (profile: Profile) => ({ ...profile, createdAt: profile.createdAt.toISOString() });
const addressView = (address: Address) => ({ ...address, createdAt: address.createdAt.toISOString(), updatedAt: address.updatedAt.toISOString() });
const consentView = (state: ConsentState) => ({ granted: state.granted, changedAt: state.changedAt?.toISOString() ?? null });
const noAddress = () => new HttpProblem(problems.notFound('No such address'));

/** An account erased or removed while its token was still valid. */
function gone(): never {
  throw new HttpProblem(problems.notFound('No such account'));
}

async function unlessGone<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof AccountGone) gone();
    throw error;
  }
}

export function profileRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(getProfile, async (c) => {
    const { db, config } = c.get('deps');
    const profile = (await readProfile(db, config, accountOf(c).accountId)) ?? gone();
    return c.json(profileView(profile), 200, privateHeaders);
  });

  app.openapi(patchProfile, async (c) => {
    const { db, config } = c.get('deps');
    const profile = (await updateProfile(db, config, accountOf(c).accountId, c.req.valid('json'))) ?? gone();
    return c.json(profileView(profile), 200, privateHeaders);
  });

  app.openapi(listAddressesRoute, async (c) => {
    const { db, config } = c.get('deps');
    const items = await listAddresses(db, config, accountOf(c).accountId);
    return c.json({ items: items.map(addressView) }, 200, privateHeaders);
  });

  app.openapi(createAddressRoute, async (c) => {
    const { db, config } = c.get('deps');
    try {
      const address = await unlessGone(createAddress(db, config, accountOf(c).accountId, c.req.valid('json')));
      return c.json(addressView(address), 201, { ...privateHeaders, Location: `/v1/me/addresses/${address.id}` });
    } catch (error) {
      if (!(error instanceof AddressBookFull)) throw error;
      throw new HttpProblem({ status: 409, slug: 'address-book-full', title: 'Address book full', detail: `An account keeps at most ${maxAddressesPerAccount} addresses; remove one first` });
    }
  });

  // Someone else's address answers exactly like one that does not exist (404), so ids cannot be probed.
  app.openapi(patchAddressRoute, async (c) => {
    const { db, config } = c.get('deps');
    const address = await unlessGone(updateAddress(db, config, accountOf(c).accountId, c.req.valid('param').id, c.req.valid('json')));
    if (!address) throw noAddress();
    return c.json(addressView(address), 200, privateHeaders);
  });

  app.openapi(deleteAddressRoute, async (c) => {
    if (!(await unlessGone(deleteAddress(c.get('deps').db, accountOf(c).accountId, c.req.valid('param').id)))) throw noAddress();
    return c.body(null, 204);
  });

  app.openapi(getConsents, async (c) => {
    const consents = await currentConsents(c.get('deps').db, accountOf(c).accountId);
    return c.json({ email: consentView(consents.email), sms: consentView(consents.sms), push: consentView(consents.push) }, 200, privateHeaders);
  });

  app.openapi(putConsent, async (c) => {
    const state = await unlessGone(setConsent(c.get('deps').db, accountOf(c).accountId, c.req.valid('param').channel, c.req.valid('json').granted));
    return c.json(consentView(state), 200, privateHeaders);
  });

  app.openapi(consentHistoryRoute, async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const before = cursor === undefined ? undefined : Number(cursor);
    if (before !== undefined && !(Number.isSafeInteger(before) && before > 0)) {
      throw new HttpProblem(problems.validation([{ in: 'query', field: 'cursor', message: 'not a cursor from a previous page' }], 400));
    }
    const page = await consentHistory(c.get('deps').db, accountOf(c).accountId, { limit, before });
    return c.json(
      {
        items: page.events.map((event) => ({ channel: event.channel, granted: event.granted, occurredAt: event.occurredAt.toISOString() })),
        nextCursor: page.next === undefined ? null : String(page.next),
      },
      200,
      privateHeaders,
    );
  });
}
