/**
 * The words of each message to people, in English and French. Pure functions of the queued payload
 * and the storefront address, so a message rendered again after a retry is the same message.
 *
 * A template composes paragraphs of plain strings and links; the text and HTML bodies are both made
 * from that one composition, so they always say the same thing and every value that reaches the HTML
 * (an order number, a tracking number, a link) goes through the one escaping function.
 */
import type { NotificationPayload, NotificationTemplate } from '../db/notifications';
import { renderCampaignPayload } from './campaign-template';

export interface RenderedMessage {
  subject: string;
  text: string;
  html: string;
}

export type Language = 'en' | 'fr';

type Inline = string | { href: string; label?: string };
type Paragraph = Inline[];
interface Composed {
  subject: string;
  paragraphs: Paragraph[];
}

/**
 * Links carry the token in the fragment (`#token=…`): browsers never send a fragment to a server, so
 * the token does not land in the storefront's access logs or in a Referer header; the page reads it
 * and POSTs it to the API.
 */
export function accountLink(baseUrl: string, page: 'verify-email' | 'reset-password' | 'sign-in' | 'forgot-password', token?: string): string {
  const url = `${baseUrl.replace(/\/+$/, '')}/account/${page}`;
  return token ? `${url}#token=${token}` : url;
}

export const orderLink = (baseUrl: string, orderId: string) => `${baseUrl.replace(/\/+$/, '')}/account/orders/${encodeURIComponent(orderId)}`;

/** French for any French tag (fr, fr-CA, fr-BE); English otherwise, the shop's fallback. */
export const languageOf = (tag: string | null | undefined): Language => (tag?.toLowerCase().startsWith('fr') ? 'fr' : 'en');

const whenText = (iso: string | undefined, language: Language) => {
  if (!iso) return '';
  // Always UTC and spelled out: the reader's time zone is unknown here.
  const stamp = new Date(iso).toISOString().replace('T', ' ').slice(0, 16);
  return language === 'fr' ? ` (jusqu'au ${stamp} UTC)` : ` (until ${stamp} UTC)`;
};

/** A day, in UTC: `25 novembre 2026` / `25 November 2026`. */
const dayText = (iso: string, language: Language) =>
  new Intl.DateTimeFormat(language === 'fr' ? 'fr-FR' : 'en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(iso));

/** Minor units → the currency's own decimals (2 for EUR, 0 for JPY), in the reader's conventions. */
export function moneyText(amount: number, currency: string, language: Language): string {
  const format = new Intl.NumberFormat(language === 'fr' ? 'fr-FR' : 'en-GB', { style: 'currency', currency });
  return format.format(amount / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
}

function requireToken(template: NotificationTemplate, payload: NotificationPayload): string {
  if (!payload.token) throw new Error(`the ${template} message needs a token`);
  return payload.token;
}

function requireOrder(template: NotificationTemplate, payload: NotificationPayload): string {
  if (!payload.orderId) throw new Error(`the ${template} message needs the order id`);
  return payload.orderId;
}

/** Only web links become links: anything else (a `javascript:` URL in a carrier's data) is dropped. */
const webLink = (href: string | undefined): string | undefined => (href && /^https?:\/\//i.test(href) ? href : undefined);

const en = (language: Language) => language === 'en';

const composers: Record<Exclude<NotificationTemplate, 'campaign'>, (payload: NotificationPayload, baseUrl: string, language: Language) => Composed> = {
  verify_email(payload, baseUrl, language) {
    const link = { href: accountLink(baseUrl, 'verify-email', requireToken('verify_email', payload)) };
    const until = whenText(payload.expiresAt, language);
    return en(language)
      ? {
          subject: 'Confirm your email address',
          paragraphs: [['Welcome to Comptoir!'], [`Confirm your address by opening this link${until}:\n`, link], ['If you did not create an account, ignore this message.']],
        }
      : {
          subject: 'Confirmez votre adresse email',
          paragraphs: [['Bienvenue chez Comptoir !'], [`Confirmez votre adresse en ouvrant ce lien${until} :\n`, link], ["Si vous n'avez pas créé de compte, ignorez ce message."]],
        };
  },
  reset_password(payload, baseUrl, language) {
    const link = { href: accountLink(baseUrl, 'reset-password', requireToken('reset_password', payload)) };
    const until = whenText(payload.expiresAt, language);
    return en(language)
      ? {
          subject: 'Reset your password',
          paragraphs: [
            ['Someone asked to reset the password of your Comptoir account.'],
            [`Choose a new password with this link, which works once${until}:\n`, link],
            ['If it was not you, ignore this message: your password stays as it is.'],
          ],
        }
      : {
          subject: 'Réinitialisez votre mot de passe',
          paragraphs: [
            ["Quelqu'un a demandé à réinitialiser le mot de passe de votre compte Comptoir."],
            [`Choisissez un nouveau mot de passe avec ce lien, utilisable une seule fois${until} :\n`, link],
            ["Si ce n'était pas vous, ignorez ce message : votre mot de passe ne change pas."],
          ],
        };
  },
  account_exists(_payload, baseUrl, language) {
    const signIn = { href: accountLink(baseUrl, 'sign-in') };
    const forgot = { href: accountLink(baseUrl, 'forgot-password') };
    return en(language)
      ? {
          subject: 'You already have a Comptoir account',
          paragraphs: [
            ['Someone tried to create a Comptoir account with your address, which already has one.'],
            ['If it was you, sign in: ', signIn, '\nForgot your password? Reset it: ', forgot],
            ['Otherwise, ignore this message: nothing changed on your account.'],
          ],
        }
      : {
          subject: 'Vous avez déjà un compte Comptoir',
          paragraphs: [
            ["Quelqu'un a essayé de créer un compte Comptoir avec votre adresse, qui en a déjà un."],
            ["Si c'était vous, connectez-vous : ", signIn, '\nMot de passe oublié ? Réinitialisez-le : ', forgot],
            ["Sinon, ignorez ce message : rien n'a changé sur votre compte."],
          ],
        };
  },
  order_confirmed(payload, baseUrl, language) {
    if (!payload.orderId || payload.totalAmount === undefined || !payload.currency) throw new Error('the order_confirmed message needs the order id, total and currency');
    const total = moneyText(payload.totalAmount, payload.currency, language);
    const link = { href: orderLink(baseUrl, payload.orderId) };
    return en(language)
      ? { subject: 'Your order is confirmed', paragraphs: [['Thank you for your order!'], [`We have received your payment of ${total}. Your order is being prepared.\nFollow it here: `, link]] }
      : { subject: 'Votre commande est confirmée', paragraphs: [['Merci pour votre commande !'], [`Nous avons bien reçu votre paiement de ${total}. Votre commande est en préparation.\nSuivez-la ici : `, link]] };
  },
  order_shipped(payload, baseUrl, language) {
    const order = { href: orderLink(baseUrl, requireOrder('order_shipped', payload)) };
    const tracking = webLink(payload.trackingUrl);
    const number = payload.trackingNumber;
    if (en(language)) {
      const carrier = payload.carrier ? ` with ${payload.carrier}` : '';
      return {
        subject: 'Your order is on its way',
        paragraphs: [
          [`Good news: a parcel of your order has left our warehouse${carrier}.`],
          ...(number ? [[`Tracking number: ${number}`, ...(tracking ? ['\nTrack it: ', { href: tracking }] : [])]] : []),
          ['Your order: ', order],
        ],
      };
    }
    const carrier = payload.carrier ? ` avec ${payload.carrier}` : '';
    return {
      subject: 'Votre commande est en route',
      paragraphs: [
        [`Bonne nouvelle : un colis de votre commande a quitté notre entrepôt${carrier}.`],
        ...(number ? [[`Numéro de suivi : ${number}`, ...(tracking ? ['\nSuivez-le : ', { href: tracking }] : [])]] : []),
        ['Votre commande : ', order],
      ],
    };
  },
  order_out_for_delivery(payload, baseUrl, language) {
    const order = { href: orderLink(baseUrl, requireOrder('order_out_for_delivery', payload)) };
    const number = payload.trackingNumber;
    return en(language)
      ? {
          subject: 'Your parcel is out for delivery',
          paragraphs: [[`Your parcel${number ? ` ${number}` : ''} is out for delivery and should reach you today.`], ['Your order: ', order]],
        }
      : {
          subject: 'Votre colis est en cours de livraison',
          paragraphs: [[`Votre colis${number ? ` ${number}` : ''} est en cours de livraison et devrait vous parvenir aujourd'hui.`], ['Votre commande : ', order]],
        };
  },
  order_delivered(payload, baseUrl, language) {
    const order = { href: orderLink(baseUrl, requireOrder('order_delivered', payload)) };
    const until = payload.returnWindowEndsAt;
    return en(language)
      ? {
          subject: 'Your order has been delivered',
          paragraphs: [['Your parcel has been delivered. We hope you enjoy your order!'], ...(until ? [[`You can return items until ${dayText(until, language)}.`]] : []), ['Your order: ', order]],
        }
      : {
          subject: 'Votre commande a été livrée',
          paragraphs: [['Votre colis a été livré. Nous espérons que votre commande vous plaira !'], ...(until ? [[`Vous pouvez retourner des articles jusqu'au ${dayText(until, language)}.`]] : []), ['Votre commande : ', order]],
        };
  },
  shipment_exception(payload, baseUrl, language) {
    const order = { href: orderLink(baseUrl, requireOrder('shipment_exception', payload)) };
    const number = payload.trackingNumber;
    // The carrier's own wording is for staff: the customer is told what happens next.
    return en(language)
      ? {
          subject: 'A problem with your delivery',
          paragraphs: [[`The carrier reported a problem with your parcel${number ? ` ${number}` : ''}. We are looking into it and will keep you informed; you have nothing to do for now.`], ['Your order: ', order]],
        }
      : {
          subject: 'Un problème avec votre livraison',
          paragraphs: [[`Le transporteur nous signale un problème avec votre colis${number ? ` ${number}` : ''}. Nous nous en occupons et vous tiendrons informé ; vous n'avez rien à faire pour le moment.`], ['Votre commande : ', order]],
        };
  },
  return_authorised(payload, baseUrl, language) {
    const order = { href: orderLink(baseUrl, requireOrder('return_authorised', payload)) };
    const label = webLink(payload.labelUrl);
    const by = payload.returnBy;
    return en(language)
      ? {
          subject: 'Your return is accepted',
          paragraphs: [
            ['We have accepted your return request.'],
            ...(label ? [['Print your prepaid return label: ', { href: label }]] : []),
            ...(by ? [[`Please hand the parcel to the carrier by ${dayText(by, language)}.`]] : []),
            ['We will refund you once we have received and checked the items. Your order: ', order],
          ],
        }
      : {
          subject: 'Votre retour est accepté',
          paragraphs: [
            ['Nous avons accepté votre demande de retour.'],
            ...(label ? [['Imprimez votre étiquette de retour prépayée : ', { href: label }]] : []),
            ...(by ? [[`Merci de remettre le colis au transporteur avant le ${dayText(by, language)}.`]] : []),
            ['Nous vous rembourserons dès réception et vérification des articles. Votre commande : ', order],
          ],
        };
  },
  return_received(payload, baseUrl, language) {
    const order = { href: orderLink(baseUrl, requireOrder('return_received', payload)) };
    return en(language)
      ? { subject: 'We have received your return', paragraphs: [['Your returned parcel has arrived. We are checking the items and will let you know about your refund.'], ['Your order: ', order]] }
      : { subject: 'Nous avons reçu votre retour', paragraphs: [['Votre colis retour est bien arrivé. Nous vérifions les articles et vous tiendrons informé de votre remboursement.'], ['Votre commande : ', order]] };
  },
  refund_issued(payload, baseUrl, language) {
    const orderId = requireOrder('refund_issued', payload);
    if (payload.amount === undefined || !payload.currency) throw new Error('the refund_issued message needs the amount and currency');
    const amount = moneyText(payload.amount, payload.currency, language);
    const order = { href: orderLink(baseUrl, orderId) };
    return en(language)
      ? { subject: `Your refund of ${amount}`, paragraphs: [[`We have refunded ${amount} to your payment method. It may take a few days to appear on your statement.`], ['Your order: ', order]] }
      : { subject: `Votre remboursement de ${amount}`, paragraphs: [[`Nous vous avons remboursé ${amount} sur votre moyen de paiement. Il peut falloir quelques jours pour le voir sur votre relevé.`], ['Votre commande : ', order]] };
  },
  order_cancelled(payload, baseUrl, language) {
    const order = { href: orderLink(baseUrl, requireOrder('order_cancelled', payload)) };
    // Cancelled before capture (a void) or after it (fulfilment could not ship: a refund): words true for both.
    return en(language)
      ? { subject: 'Your order is cancelled', paragraphs: [['Your order has been cancelled. Any amount taken is refunded to your payment method, and any hold on your card is released.'], ['Your order: ', order]] }
      : { subject: 'Votre commande est annulée', paragraphs: [['Votre commande a été annulée. Tout montant débité vous est remboursé sur votre moyen de paiement, et toute réservation sur votre carte est levée.'], ['Votre commande : ', order]] };
  },
  order_failed(payload, baseUrl, language) {
    const order = { href: orderLink(baseUrl, requireOrder('order_failed', payload)) };
    return en(language)
      ? {
          subject: 'We could not complete your order',
          paragraphs: [['We are sorry: your order could not be completed. Any amount taken is given back to your payment method, and the items are back in your cart.'], ['Your order: ', order]],
        }
      : {
          subject: "Nous n'avons pas pu finaliser votre commande",
          paragraphs: [["Nous sommes désolés : votre commande n'a pas pu être finalisée. Tout montant débité vous est rendu sur votre moyen de paiement, et les articles sont de retour dans votre panier."], ['Votre commande : ', order]],
        };
  },
};

const htmlEscapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** For text and attribute values alike (both quotes escaped). */
export const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => htmlEscapes[c]!);

const inlineText = (part: Inline) => (typeof part === 'string' ? part : part.href);
const inlineHtml = (part: Inline) =>
  typeof part === 'string' ? escapeHtml(part).replace(/\n/g, '<br>\n') : `<a href="${escapeHtml(part.href)}">${escapeHtml(part.label ?? part.href)}</a>`;

function toMessage(composed: Composed, language: Language): RenderedMessage {
  const text = composed.paragraphs.map((paragraph) => paragraph.map(inlineText).join('')).join('\n\n') + '\n';
  const body = composed.paragraphs.map((paragraph) => `<p>${paragraph.map(inlineHtml).join('')}</p>`).join('\n');
  const html = `<!DOCTYPE html>\n<html lang="${language}">\n<head><meta charset="utf-8"><title>${escapeHtml(composed.subject)}</title></head>\n<body>\n${body}\n</body>\n</html>\n`;
  return { subject: composed.subject, text, html };
}

/** Subject and bodies of a queued message. Throws on a payload its template cannot render (a bug, not bad input). */
export function renderNotification(template: NotificationTemplate, payload: NotificationPayload, baseUrl: string): RenderedMessage {
  // Campaign messages carry their own words, rendered when queued, so a resend is the same message.
  if (template === 'campaign') return renderCampaignPayload(payload);
  const compose = composers[template];
  if (!compose) throw new Error(`unknown notification template ${String(template)}`);
  const language = languageOf(payload.language);
  return toMessage(compose(payload, baseUrl, language), language);
}
