import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { createApp } from '../../api/app';
import { connectApiDeps } from '../../api/server';
import { createAddress, maxAddressesPerAccount } from '../../identity/addresses';
import { consentingAccounts, currentConsents, setConsent } from '../../identity/consents';
import { gdprErasureWorkflowId } from '../../identity/gdpr';
import { piiFields } from '../../identity/pii-fields';
import { AccountGone } from '../../identity/profile';
import { decryptPii, encryptPii } from '../../platform/pii';
import resumeErasures from '../../scripts/identity/resume-erasures';
import { signedInAs, type SignedIn } from '../support/identity';
import { testConfig } from '../support/stack';
import { type Problem } from '../support/http';

const config = testConfig('profile');
const deps = connectApiDeps(config);
const app = createApp(deps);
after(() => deps.close());

const base = 'http://local';
type Json = Record<string, unknown>;
type Address = {
  id: string;
  label: string | null;
  name: string;
  line1: string;
  line2: string | null;
  postalCode: string;
  city: string;
  region: string | null;
  country: string;
  phone: string | null;
  isDefaultShipping: boolean;
  isDefaultBilling: boolean;
};

async function call(who: SignedIn | undefined, method: string, path: string, body?: unknown) {
  return app.request(`${base}${path}`, {
    method,
    headers: { ...(who?.headers ?? {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

async function ok<T = Json>(response: Response, status = 200): Promise<T> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  return (text ? JSON.parse(text) : undefined) as T;
}

async function problem(response: Response, status: number): Promise<Problem> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  assert.equal(response.headers.get('content-type'), 'application/problem+json');
  return JSON.parse(text) as Problem;
}

/** The fields a 4xx names, as `in:field`. */
const named = (p: Problem) => (p.errors ?? []).map((e) => `${e.in}:${e.field}`);

const customer = () => signedInAs(config, 'customer');
const home = { label: 'Maison', name: 'Camille Dupont', line1: '12 rue des Lilas', postalCode: '75011', city: 'Paris', country: 'FR' };

describe('profile: GET and PATCH /v1/me', () => {
  test('a new account reads its email, role and empty preferences; personal data is never cached', async () => {
    const me = await customer();
    const response = await call(me, 'GET', '/v1/me');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const profile = await ok(response);
    assert.deepEqual({ ...profile, createdAt: undefined }, {
      id: me.accountId,
      email: me.email,
      emailVerified: true,
      givenName: null,
      familyName: null,
      phone: null,
      language: null,
      currency: null,
      role: 'customer',
      mfaEnabled: false,
      createdAt: undefined,
    });
    assert.ok(!Number.isNaN(Date.parse(profile.createdAt as string)));
    await problem(await call(undefined, 'GET', '/v1/me'), 401);
  });

  test('PATCH changes only the fields given, canonicalises the language, null clears; names and phone are stored encrypted', async () => {
    const me = await customer();
    const changed = await ok(await call(me, 'PATCH', '/v1/me', { givenName: '  Élodie ', familyName: 'Marchetti', phone: '+33612345678', language: 'fr-fr', currency: 'EUR' }));
    assert.equal(changed.givenName, 'Élodie', 'surrounding spaces are typing accidents');
    assert.equal(changed.language, 'fr-FR');
    assert.equal(changed.currency, 'EUR');

    const [row] = await deps.sql<{ given_name_enc: string; family_name_enc: string; phone_enc: string }[]>`
      SELECT given_name_enc, family_name_enc, phone_enc FROM identity.accounts WHERE id = ${me.accountId}`;
    assert.ok(!row!.given_name_enc.includes('lodie') && !row!.phone_enc.includes('612345678'), 'no clear text at rest');
    assert.equal(decryptPii(config.pii.keyring, row!.given_name_enc, piiFields.accountGivenName.context(me.accountId)), 'Élodie');
    assert.equal(decryptPii(config.pii.keyring, row!.phone_enc, piiFields.accountPhone.context(me.accountId)), '+33612345678');

    const partly = await ok(await call(me, 'PATCH', '/v1/me', { phone: null, currency: 'CHF' }));
    assert.equal(partly.phone, null);
    assert.equal(partly.currency, 'CHF');
    assert.equal(partly.familyName, 'Marchetti', 'absent fields stay as they were');
    assert.deepEqual(await ok(await call(me, 'GET', '/v1/me')), partly);
  });

  test('mfaEnabled follows the confirmed TOTP factor, not a pending enrolment', async () => {
    const me = await customer();
    const secretEnc = encryptPii(config.pii.keyring, 'JBSWY3DPEHPK3PXP', piiFields.totpSecret.context(me.accountId));
    await deps.sql`INSERT INTO identity.totp_factors (account_id, secret_enc) VALUES (${me.accountId}, ${secretEnc})`;
    assert.equal((await ok(await call(me, 'GET', '/v1/me'))).mfaEnabled, false);
    await deps.sql`UPDATE identity.totp_factors SET confirmed_at = now() WHERE account_id = ${me.accountId}`;
    assert.equal((await ok(await call(me, 'GET', '/v1/me'))).mfaEnabled, true);
  });

  test('bad input → 422 problem+json naming each field; nothing is changed', async () => {
    const me = await customer();
    await ok(await call(me, 'PATCH', '/v1/me', { givenName: 'Avant' }));
    const cases: [unknown, string[]][] = [
      [{ givenName: 'x'.repeat(101) }, ['body:givenName']],
      [{ givenName: '   ' }, ['body:givenName']],
      [{ familyName: 42 }, ['body:familyName']],
      [{ phone: '06 12 34 56 78' }, ['body:phone']],
      [{ phone: '+0612345678' }, ['body:phone']],
      [{ language: 'français' }, ['body:language']],
      [{ language: 'en-US-u-ca-buddhist' }, ['body:language']],
      [{ currency: 'FRF' }, ['body:currency']],
      [{ currency: 'eur' }, ['body:currency']],
      [{ email: 'other@example.com' }, ['body:email']],
      [{ role: 'admin' }, ['body:role']],
      [{ givenName: 'Après', phone: 'nope' }, ['body:phone']],
    ];
    for (const [body, fields] of cases) {
      const refused = await problem(await call(me, 'PATCH', '/v1/me', body), 422);
      assert.equal(refused.type, 'https://comptoir.dev/problems/validation');
      assert.deepEqual(named(refused), fields, JSON.stringify(body));
    }
    const profile = await ok(await call(me, 'GET', '/v1/me'));
    assert.equal(profile.givenName, 'Avant');
    assert.equal(profile.role, 'customer');
    assert.equal(profile.email, me.email);
    await problem(await call(me, 'PATCH', '/v1/me', '{"givenName": '), 400);
  });
});

describe('addresses', () => {
  test('create, list, change and delete; everything but the country is one encrypted value', async () => {
    const me = await customer();
    const created = await call(me, 'POST', '/v1/me/addresses', { ...home, line2: 'Bâtiment B', region: 'Île-de-France', phone: '+33123456789' });
    const address = await ok<Address>(created, 201);
    assert.equal(created.headers.get('location'), `/v1/me/addresses/${address.id}`);
    assert.deepEqual(
      { ...address, id: undefined, createdAt: undefined, updatedAt: undefined },
      { ...home, id: undefined, line2: 'Bâtiment B', region: 'Île-de-France', phone: '+33123456789', isDefaultShipping: false, isDefaultBilling: false, createdAt: undefined, updatedAt: undefined },
    );

    const [row] = await deps.sql<{ country: string; details_enc: string }[]>`SELECT country, details_enc FROM identity.addresses WHERE id = ${address.id}`;
    assert.equal(row!.country, 'FR');
    assert.ok(!row!.details_enc.includes('Lilas') && !row!.details_enc.includes('Dupont'));
    const details = JSON.parse(decryptPii(config.pii.keyring, row!.details_enc, piiFields.addressDetails.context(address.id))) as Json;
    assert.equal(details.line1, '12 rue des Lilas');
    assert.equal(details.country, undefined, 'the country is only in its clear column');

    const changed = await ok<Address>(await call(me, 'PATCH', `/v1/me/addresses/${address.id}`, { line2: null, city: 'Lyon', country: 'BE' }));
    assert.equal(changed.line2, null);
    assert.equal(changed.city, 'Lyon');
    assert.equal(changed.country, 'BE');
    assert.equal(changed.line1, home.line1, 'fields not given stay');
    const list = await ok<{ items: Address[] }>(await call(me, 'GET', '/v1/me/addresses'));
    assert.deepEqual(list.items.map((a) => [a.id, a.city]), [[address.id, 'Lyon']]);

    assert.equal((await call(me, 'DELETE', `/v1/me/addresses/${address.id}`)).status, 204);
    await problem(await call(me, 'DELETE', `/v1/me/addresses/${address.id}`), 404);
    assert.deepEqual((await ok<{ items: Address[] }>(await call(me, 'GET', '/v1/me/addresses'))).items, []);
  });

  test('at most one default shipping and one default billing address per account', async () => {
    const me = await customer();
    const defaults = async () => {
      const { items } = await ok<{ items: Address[] }>(await call(me, 'GET', '/v1/me/addresses'));
      return { shipping: items.filter((a) => a.isDefaultShipping).map((a) => a.label), billing: items.filter((a) => a.isDefaultBilling).map((a) => a.label) };
    };
    const first = await ok<Address>(await call(me, 'POST', '/v1/me/addresses', { ...home, label: 'first', isDefaultShipping: true, isDefaultBilling: true }), 201);
    await ok<Address>(await call(me, 'POST', '/v1/me/addresses', { ...home, label: 'second', isDefaultShipping: true }), 201);
    assert.deepEqual(await defaults(), { shipping: ['second'], billing: ['first'] });

    await ok(await call(me, 'PATCH', `/v1/me/addresses/${first.id}`, { isDefaultShipping: true }));
    assert.deepEqual(await defaults(), { shipping: ['first'], billing: ['first'] });

    // Concurrent requests each asking to be the default: the account lock lets exactly one win.
    await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map(async (label) => ok(await call(me, 'POST', '/v1/me/addresses', { ...home, label, isDefaultShipping: true, isDefaultBilling: true }), 201)),
    );
    const after = await defaults();
    assert.equal(after.shipping.length, 1, JSON.stringify(after));
    assert.deepEqual(after.billing, after.shipping, 'the last writer holds both defaults');
  });

  test('someone else\'s address answers 404, exactly like one that does not exist, and is left alone', async () => {
    const owner = await customer();
    const other = await customer();
    const address = await ok<Address>(await call(owner, 'POST', '/v1/me/addresses', home), 201);
    const missing = await problem(await call(other, 'PATCH', `/v1/me/addresses/${randomUUID()}`, { city: 'Nantes' }), 404);
    const foreign = await problem(await call(other, 'PATCH', `/v1/me/addresses/${address.id}`, { city: 'Nantes' }), 404);
    assert.deepEqual({ ...foreign, instance: undefined, requestId: undefined }, { ...missing, instance: undefined, requestId: undefined });
    await problem(await call(other, 'DELETE', `/v1/me/addresses/${address.id}`), 404);
    assert.deepEqual((await ok<{ items: Address[] }>(await call(other, 'GET', '/v1/me/addresses'))).items, []);
    const { items } = await ok<{ items: Address[] }>(await call(owner, 'GET', '/v1/me/addresses'));
    assert.deepEqual(items.map((a) => [a.id, a.city]), [[address.id, 'Paris']]);
    // Staff get no way in through the person's own routes either.
    const admin = await signedInAs(config, 'admin');
    await problem(await call(admin, 'PATCH', `/v1/me/addresses/${address.id}`, { city: 'Nantes' }), 404);
    assert.deepEqual(named(await problem(await call(owner, 'PATCH', '/v1/me/addresses/not-a-uuid', { city: 'Nantes' }), 400)), ['path:id']);
  });

  test('bad addresses → 422 naming the field', async () => {
    const me = await customer();
    const cases: [unknown, string[]][] = [
      [{ ...home, country: 'XX' }, ['body:country']],
      [{ ...home, country: 'fr' }, ['body:country']],
      [{ ...home, country: 'EU' }, ['body:country']],
      [{ ...home, name: undefined }, ['body:name']],
      [{ ...home, line1: 'x'.repeat(201) }, ['body:line1']],
      [{ ...home, postalCode: '' }, ['body:postalCode']],
      [{ ...home, phone: '0123' }, ['body:phone']],
      [{ ...home, isDefaultShipping: 'yes' }, ['body:isDefaultShipping']],
      [{ ...home, floor: 3 }, ['body:floor']],
    ];
    for (const [body, fields] of cases) assert.deepEqual(named(await problem(await call(me, 'POST', '/v1/me/addresses', body), 422)), fields, JSON.stringify(body));
    const address = await ok<Address>(await call(me, 'POST', '/v1/me/addresses', home), 201);
    assert.deepEqual(named(await problem(await call(me, 'PATCH', `/v1/me/addresses/${address.id}`, { name: null }), 422)), ['body:name'], 'a required field cannot be cleared');
    assert.deepEqual(named(await problem(await call(me, 'PATCH', `/v1/me/addresses/${address.id}`, { country: 'ZZ' }), 422)), ['body:country']);
  });

  test(`an address book holds at most ${maxAddressesPerAccount} addresses`, async () => {
    const me = await customer();
    for (let i = 0; i < maxAddressesPerAccount; i += 1) await ok(await call(me, 'POST', '/v1/me/addresses', { ...home, label: `n${i}` }), 201);
    const full = await problem(await call(me, 'POST', '/v1/me/addresses', home), 409);
    assert.equal(full.type, 'https://comptoir.dev/problems/address-book-full');
  });
});

describe('marketing consents', () => {
  type State = { granted: boolean; changedAt: string | null };
  type History = { items: { channel: string; granted: boolean; occurredAt: string }[]; nextCursor: string | null };

  test('opt-in per channel, with the time each answer was given, and the history of every change', async () => {
    const me = await customer();
    assert.deepEqual(await ok(await call(me, 'GET', '/v1/me/consents')), {
      email: { granted: false, changedAt: null },
      sms: { granted: false, changedAt: null },
      push: { granted: false, changedAt: null },
    });

    const granted = await ok<State>(await call(me, 'PUT', '/v1/me/consents/email', { granted: true }));
    assert.equal(granted.granted, true);
    assert.ok(granted.changedAt);
    const again = await ok<State>(await call(me, 'PUT', '/v1/me/consents/email', { granted: true }));
    assert.deepEqual(again, granted, 'repeating the answer is not a change: the time consent was given stays');
    await ok(await call(me, 'PUT', '/v1/me/consents/sms', { granted: true }));
    const withdrawn = await ok<State>(await call(me, 'PUT', '/v1/me/consents/email', { granted: false }));
    assert.ok(Date.parse(withdrawn.changedAt!) >= Date.parse(granted.changedAt!));

    const consents = await ok<Record<string, State>>(await call(me, 'GET', '/v1/me/consents'));
    assert.deepEqual(consents, { email: withdrawn, sms: consents.sms, push: { granted: false, changedAt: null } });
    assert.equal(consents.sms!.granted, true);

    const history = await ok<History>(await call(me, 'GET', '/v1/me/consents/history'));
    assert.deepEqual(history.items.map((e) => [e.channel, e.granted]), [['email', false], ['sms', true], ['email', true]]);
    assert.equal(history.items[0]!.occurredAt, withdrawn.changedAt);
    assert.equal(history.nextCursor, null);

    const first = await ok<History>(await call(me, 'GET', '/v1/me/consents/history?limit=2'));
    assert.equal(first.items.length, 2);
    const second = await ok<History>(await call(me, 'GET', `/v1/me/consents/history?limit=2&cursor=${first.nextCursor}`));
    assert.deepEqual([...first.items, ...second.items], history.items);
    assert.equal(second.nextCursor, null);
    assert.deepEqual(named(await problem(await call(me, 'GET', '/v1/me/consents/history?cursor=abc'), 400)), ['query:cursor']);
  });

  test('campaigns find the accounts that consent now, and only those', async () => {
    const yes = await customer();
    const no = await customer();
    const changedMind = await customer();
    await ok(await call(yes, 'PUT', '/v1/me/consents/push', { granted: true }));
    await ok(await call(no, 'PUT', '/v1/me/consents/push', { granted: false }));
    await ok(await call(changedMind, 'PUT', '/v1/me/consents/push', { granted: true }));
    await ok(await call(changedMind, 'PUT', '/v1/me/consents/push', { granted: false }));
    const consenting = new Set<string>();
    for (let after: string | undefined, page: string[]; (page = await consentingAccounts(deps.db, 'push', { after, limit: 2 })).length > 0; after = page.at(-1)) {
      for (const id of page) consenting.add(id);
    }
    assert.ok(consenting.has(yes.accountId));
    assert.ok(!consenting.has(no.accountId));
    assert.ok(!consenting.has(changedMind.accountId));
    assert.deepEqual((await currentConsents(deps.db, changedMind.accountId)).push.granted, false);
  });

  test('bad channel or answer → problem+json naming it', async () => {
    const me = await customer();
    assert.deepEqual(named(await problem(await call(me, 'PUT', '/v1/me/consents/fax', { granted: true }), 400)), ['path:channel']);
    assert.deepEqual(named(await problem(await call(me, 'PUT', '/v1/me/consents/email', { granted: 'yes' }), 422)), ['body:granted']);
    assert.deepEqual(named(await problem(await call(me, 'PUT', '/v1/me/consents/email', {}), 422)), ['body:granted']);
    assert.deepEqual(named(await problem(await call(me, 'PUT', '/v1/me/consents/email', { granted: true, at: '2020-01-01' }), 422)), ['body:at']);
    assert.deepEqual((await currentConsents(deps.db, me.accountId)).email, { granted: false, changedAt: null });
  });
});

describe('erasure request (no worker on this queue: the workflow waits)', () => {
  test('DELETE /v1/me → 202 with the workflow and a status to poll; asking again while it runs joins the same workflow', async () => {
    const me = await customer();
    const first = await call(me, 'DELETE', '/v1/me');
    const accepted = await ok<{ workflowId: string; status: string; links: { status: string } }>(first, 202);
    assert.equal(accepted.workflowId, gdprErasureWorkflowId(config.TASK_QUEUE_PREFIX, me.accountId));
    assert.equal(first.headers.get('location'), `/v1/erasure-requests/${me.accountId}`);
    assert.equal(accepted.links.status, first.headers.get('location'));
    const handle = deps.temporal.client.workflow.getHandle(accepted.workflowId);
    const { runId } = await handle.describe();
    try {
      const again = await ok<{ workflowId: string }>(await call(me, 'DELETE', '/v1/me'), 202);
      assert.equal(again.workflowId, accepted.workflowId);
      assert.equal((await handle.describe()).runId, runId, 'the same run, not a new one');

      const status = await ok<Json>(await call(undefined, 'GET', `/v1/erasure-requests/${me.accountId}`));
      assert.equal(status.status, 'in_progress');
      assert.equal(status.completedAt, null);
      const [audit] = await deps.sql<{ count: number }[]>`
        SELECT count(*)::int AS count FROM identity.audit_log
        WHERE action = 'identity.erasure_requested' AND target_id = ${me.accountId} AND actor_id = ${me.accountId}`;
      assert.equal(audit!.count, 1, 'the request is audited once');
      await problem(await call(undefined, 'GET', `/v1/erasure-requests/${randomUUID()}`), 404);
      assert.deepEqual(named(await problem(await call(undefined, 'GET', '/v1/erasure-requests/nope'), 400)), ['path:accountId']);
      await problem(await call(undefined, 'DELETE', '/v1/me'), 401);
    } finally {
      await handle.terminate('test over');
    }

    // A request whose workflow is gone (terminated here; in real life Temporal was down at the time) is
    // picked up again by the operator command.
    await resumeErasures([], config);
    const resumed = await handle.describe();
    assert.notEqual(resumed.runId, runId);
    assert.equal(resumed.status.name, 'RUNNING');
    await handle.terminate('test over');
  });

  test('a write racing an erasure finds the account erased and is refused', async () => {
    const me = await customer();
    await deps.sql`UPDATE identity.accounts SET status = 'erased', email_hash = NULL, email_enc = NULL, erased_at = now() WHERE id = ${me.accountId}`;
    await assert.rejects(createAddress(deps.db, config, me.accountId, home), AccountGone);
    await assert.rejects(setConsent(deps.db, me.accountId, 'email', true), AccountGone);
    const [rows] = await deps.sql<{ n: number }[]>`
      SELECT (SELECT count(*) FROM identity.addresses WHERE account_id = ${me.accountId})
           + (SELECT count(*) FROM identity.consent_events WHERE account_id = ${me.accountId}) AS n`;
    assert.equal(Number(rows!.n), 0);
  });
});
