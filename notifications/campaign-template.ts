/**
 * The words of a marketing campaign message. Unlike account and order messages, the words are the
 * campaign's own (written by staff in French and English): they are rendered once, when the message is
 * queued, and the outbox payload carries the result (`subject`, `text`, `html`), so the sender only hands
 * it over (`renderCampaignPayload`) and a message sent again after a crash is the same message.
 *
 * Every campaign message ends with why the person receives it and where to stop it: marketing is
 * opt-in, and withdrawing must be one click away.
 */
import type { CampaignLanguage, MessageTemplate } from '../campaigns/definition';
import type { RenderedMessage } from './templates';

export const campaignTemplateName = 'campaign';

/** What a campaign message's outbox payload holds. */
export interface CampaignPayload {
  language: CampaignLanguage;
  campaignId: string;
  variant: 'A' | 'B';
  subject: string;
  text: string;
  html: string;
}

const htmlEscapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => htmlEscapes[c]!);

/** Where a person withdraws marketing consent in the shop. */
export const consentPageUrl = (baseUrl: string) => `${baseUrl.replace(/\/+$/, '')}/account/consents`;

const footers: Record<CampaignLanguage, Record<'email' | 'in_app', string>> = {
  en: {
    email: 'You receive this email because you agreed to hear from Comptoir by email. To stop, change your choice here:',
    in_app: 'You see this message because you agreed to hear from Comptoir in the app. To stop, change your choice here:',
  },
  fr: {
    email: 'Vous recevez cet email car vous avez accepté les messages de Comptoir par email. Pour ne plus les recevoir, changez votre choix ici :',
    in_app: "Vous voyez ce message car vous avez accepté les messages de Comptoir dans l'application. Pour ne plus les recevoir, changez votre choix ici :",
  },
};

/**
 * One recipient's message from the campaign's template in their language. The text body is the
 * template's text; the HTML body is the template's HTML (staff-written, trusted as a body fragment) or,
 * without one, the text escaped into paragraphs. Both end with the consent footer.
 */
export function renderCampaignMessage(template: MessageTemplate, options: { language: CampaignLanguage; channel: 'email' | 'in_app'; baseUrl: string }): RenderedMessage {
  const link = consentPageUrl(options.baseUrl);
  const footer = footers[options.language][options.channel];
  const text = `${template.text.trimEnd()}\n\n--\n${footer} ${link}\n`;
  const body =
    template.html?.trim() ||
    template.text
      .trim()
      .split(/\n{2,}/)
      .map((paragraph) => `<p>${escapeHtml(paragraph).replace(/\n/g, '<br>\n')}</p>`)
      .join('\n');
  const html =
    `<!DOCTYPE html>\n<html lang="${options.language}">\n<head><meta charset="utf-8"><title>${escapeHtml(template.subject)}</title></head>\n<body>\n${body}\n` +
    `<hr>\n<p><small>${escapeHtml(footer)} <a href="${escapeHtml(link)}">${escapeHtml(link)}</a></small></p>\n</body>\n</html>\n`;
  return { subject: template.subject, text, html };
}

/**
 * For the outbox sender: the message as it was rendered when queued. Throws on a payload that is not a
 * campaign message's (a bug, not bad input), like the other templates.
 */
export function renderCampaignPayload<Payload extends { subject?: string; text?: string; html?: string }>(payload: Payload): RenderedMessage {
  const { subject, text, html } = payload;
  if (typeof subject !== 'string' || typeof text !== 'string' || subject === '' || text === '') throw new Error('the campaign message needs its rendered subject and text');
  return { subject, text, html: typeof html === 'string' && html !== '' ? html : `<!DOCTYPE html>\n<html>\n<body>\n<p>${escapeHtml(text).replace(/\n/g, '<br>\n')}</p>\n</body>\n</html>\n` };
}
