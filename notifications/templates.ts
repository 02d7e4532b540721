/**
 * The words of each message to people, in English and French. Pure functions of the queued payload
 * and the storefront address, so a message rendered again after a retry is the same message.
 */
import type { NotificationPayload, NotificationTemplate } from '../db/notifications';

export interface RenderedMessage {
  subject: string;
  text: string;
}

type Language = 'en' | 'fr';

/**
 * Links carry the token in the fragment (`#token=…`): browsers never send a fragment to a server, so
 * the token does not land in the storefront's access logs or in a Referer header; the page reads it
 * and POSTs it to the API.
 */
export function accountLink(baseUrl: string, page: 'verify-email' | 'reset-password' | 'sign-in' | 'forgot-password', token?: string): string {
  const url = `${baseUrl.replace(/\/+$/, '')}/account/${page}`;
  return token ? `${url}#token=${token}` : url;
}

const languageOf = (payload: NotificationPayload): Language => (payload.language?.toLowerCase().startsWith('fr') ? 'fr' : 'en');

const whenText = (iso: string | undefined, language: Language) => {
  if (!iso) return '';
  // Always UTC and spelled out: the reader's time zone is unknown here.
  const stamp = new Date(iso).toISOString().replace('T', ' ').slice(0, 16);
  return language === 'fr' ? ` (jusqu'au ${stamp} UTC)` : ` (until ${stamp} UTC)`;
};

function requireToken(template: NotificationTemplate, payload: NotificationPayload): string {
  if (!payload.token) throw new Error(`the ${template} message needs a token`);
  return payload.token;
}

const renderers: Record<NotificationTemplate, (payload: NotificationPayload, baseUrl: string, language: Language) => RenderedMessage> = {
  verify_email(payload, baseUrl, language) {
    const link = accountLink(baseUrl, 'verify-email', requireToken('verify_email', payload));
    const until = whenText(payload.expiresAt, language);
    return language === 'fr'
      ? {
          subject: 'Confirmez votre adresse email',
          text: `Bienvenue chez Comptoir !\n\nConfirmez votre adresse en ouvrant ce lien${until} :\n${link}\n\nSi vous n'avez pas créé de compte, ignorez ce message.\n`,
        }
      : {
          subject: 'Confirm your email address',
          text: `Welcome to Comptoir!\n\nConfirm your address by opening this link${until}:\n${link}\n\nIf you did not create an account, ignore this message.\n`,
        };
  },
  reset_password(payload, baseUrl, language) {
    const link = accountLink(baseUrl, 'reset-password', requireToken('reset_password', payload));
    const until = whenText(payload.expiresAt, language);
    return language === 'fr'
      ? {
          subject: 'Réinitialisez votre mot de passe',
          text: `Quelqu'un a demandé à réinitialiser le mot de passe de votre compte Comptoir.\n\nChoisissez un nouveau mot de passe avec ce lien, utilisable une seule fois${until} :\n${link}\n\nSi ce n'était pas vous, ignorez ce message : votre mot de passe ne change pas.\n`,
        }
      : {
          subject: 'Reset your password',
          text: `Someone asked to reset the password of your Comptoir account.\n\nChoose a new password with this link, which works once${until}:\n${link}\n\nIf it was not you, ignore this message: your password stays as it is.\n`,
        };
  },
  order_confirmed(payload, baseUrl, language) {
    if (!payload.orderId || payload.totalAmount === undefined || !payload.currency) throw new Error('the order_confirmed message needs the order id, total and currency');
    const locale = language === 'fr' ? 'fr-FR' : 'en-GB';
    const format = new Intl.NumberFormat(locale, { style: 'currency', currency: payload.currency });
    // Minor units → the currency's own decimals (2 for EUR, 0 for JPY).
    const total = format.format(payload.totalAmount / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
    const link = `${baseUrl.replace(/\/+$/, '')}/account/orders/${payload.orderId}`;
    return language === 'fr'
      ? { subject: 'Votre commande est confirmée', text: `Merci pour votre commande !\n\nNous avons bien reçu votre paiement de ${total}. Votre commande est en préparation.\nSuivez-la ici : ${link}\n` }
      : { subject: 'Your order is confirmed', text: `Thank you for your order!\n\nWe have received your payment of ${total}. Your order is being prepared.\nFollow it here: ${link}\n` };
  },
  account_exists(_payload, baseUrl, language) {
    const signIn = accountLink(baseUrl, 'sign-in');
    const forgot = accountLink(baseUrl, 'forgot-password');
    return language === 'fr'
      ? {
          subject: 'Vous avez déjà un compte Comptoir',
          text: `Quelqu'un a essayé de créer un compte Comptoir avec votre adresse, qui en a déjà un.\n\nSi c'était vous, connectez-vous : ${signIn}\nMot de passe oublié ? Réinitialisez-le : ${forgot}\n\nSinon, ignorez ce message : rien n'a changé sur votre compte.\n`,
        }
      : {
          subject: 'You already have a Comptoir account',
          text: `Someone tried to create a Comptoir account with your address, which already has one.\n\nIf it was you, sign in: ${signIn}\nForgot your password? Reset it: ${forgot}\n\nOtherwise, ignore this message: nothing changed on your account.\n`,
        };
  },
};

/** Subject and body of a queued message. Throws on a payload its template cannot render (a bug, not bad input). */
export function renderNotification(template: NotificationTemplate, payload: NotificationPayload, baseUrl: string): RenderedMessage {
  const render = renderers[template];
  if (!render) throw new Error(`unknown notification template ${String(template)}`);
  return render(payload, baseUrl, languageOf(payload));
}
