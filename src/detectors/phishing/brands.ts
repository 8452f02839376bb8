// Look-alike domains: Damerau 1964 / optimal string alignment edit distance and UTS #39 skeletons; brand list after APWG phishing trend reports (most-targeted sectors).
/**
 * Brands phishers impersonate most (banks, payment, e-commerce, webmail, parcel services, the
 * Brazilian banks common in phishing-pot) with their official registrable domains, and the checks
 * that name one in a domain that is not the brand's own:
 *
 * - look-alike: the domain's label (tldts' domainWithoutSuffix, punycode decoded) has the brand's
 *   skeleton (pаypal, paypa1, rnicrosoft), is within edit distance 1 (2 for names of 8+ letters)
 *   of it (paypall, arnazon), or holds it as a hyphen/dot token or prefix (paypal-secure,
 *   ebayupdate) — while the registrable domain is not one of the brand's;
 * - brand in subdomain: a label of the subdomain names the brand (paypal.com.evil.example).
 *
 * Short names (under 5 letters: ups, dhl, irs, hsbc, visa) are matched only as whole tokens, so
 * 'groups' or 'advisable' do not name a brand.
 */
import { domainToUnicode } from 'node:url';
import { skeleton } from './confusables.js';

export interface Brand {
  name: string;
  /** Registrable domains the brand sends from and links to. */
  domains: readonly string[];
}

export const BRANDS: readonly Brand[] = [
  { name: 'paypal', domains: ['paypal.com', 'paypal.me', 'paypalobjects.com'] },
  { name: 'ebay', domains: ['ebay.com', 'ebay.co.uk', 'ebay.de', 'ebayimg.com', 'ebaystatic.com'] },
  { name: 'amazon', domains: ['amazon.com', 'amazon.co.uk', 'amazon.de', 'amazon.com.br', 'amazonses.com'] },
  { name: 'apple', domains: ['apple.com', 'icloud.com', 'me.com'] },
  { name: 'icloud', domains: ['icloud.com', 'apple.com'] },
  { name: 'microsoft', domains: ['microsoft.com', 'office.com', 'live.com', 'outlook.com', 'microsoftonline.com'] },
  { name: 'outlook', domains: ['outlook.com', 'live.com', 'microsoft.com', 'office.com'] },
  { name: 'office365', domains: ['office.com', 'office365.com', 'microsoft.com'] },
  { name: 'google', domains: ['google.com', 'gmail.com', 'googlemail.com', 'youtube.com'] },
  { name: 'facebook', domains: ['facebook.com', 'fb.com', 'facebookmail.com'] },
  { name: 'instagram', domains: ['instagram.com'] },
  { name: 'netflix', domains: ['netflix.com'] },
  { name: 'linkedin', domains: ['linkedin.com'] },
  { name: 'dropbox', domains: ['dropbox.com'] },
  { name: 'docusign', domains: ['docusign.com', 'docusign.net'] },
  { name: 'adobe', domains: ['adobe.com'] },
  { name: 'dhl', domains: ['dhl.com', 'dhl.de'] },
  { name: 'fedex', domains: ['fedex.com'] },
  { name: 'ups', domains: ['ups.com'] },
  { name: 'usps', domains: ['usps.com'] },
  { name: 'chase', domains: ['chase.com', 'jpmorganchase.com'] },
  { name: 'wellsfargo', domains: ['wellsfargo.com', 'wf.com'] },
  { name: 'bankofamerica', domains: ['bankofamerica.com', 'bofa.com'] },
  { name: 'citibank', domains: ['citibank.com', 'citi.com'] },
  { name: 'hsbc', domains: ['hsbc.com', 'hsbc.co.uk'] },
  { name: 'barclays', domains: ['barclays.co.uk', 'barclays.com'] },
  { name: 'lloyds', domains: ['lloydsbank.com', 'lloydstsb.com', 'lloydsbankinggroup.com'] },
  { name: 'natwest', domains: ['natwest.com'] },
  { name: 'santander', domains: ['santander.com', 'santander.co.uk', 'santander.com.br'] },
  { name: 'visa', domains: ['visa.com'] },
  { name: 'mastercard', domains: ['mastercard.com'] },
  { name: 'americanexpress', domains: ['americanexpress.com', 'aexp.com'] },
  { name: 'irs', domains: ['irs.gov'] },
  { name: 'bradesco', domains: ['bradesco.com.br'] },
  { name: 'itau', domains: ['itau.com.br'] },
  { name: 'caixa', domains: ['caixa.gov.br'] },
  { name: 'nubank', domains: ['nubank.com.br'] },
  { name: 'correios', domains: ['correios.com.br'] },
  { name: 'mercadolivre', domains: ['mercadolivre.com.br', 'mercadolibre.com'] },
  { name: 'binance', domains: ['binance.com'] },
  { name: 'coinbase', domains: ['coinbase.com'] },
  { name: 'metamask', domains: ['metamask.io'] },
  // Crypto wallets and exchanges, and antivirus renewal lures: the most impersonated senders of 2020s scam mail.
  { name: 'ledger', domains: ['ledger.com'] },
  { name: 'trustwallet', domains: ['trustwallet.com'] },
  { name: 'opensea', domains: ['opensea.io'] },
  { name: 'kraken', domains: ['kraken.com'] },
  { name: 'aave', domains: ['aave.com'] },
  { name: 'uniswap', domains: ['uniswap.org'] },
  { name: 'mcafee', domains: ['mcafee.com'] },
  { name: 'norton', domains: ['norton.com', 'nortonlifelock.com', 'gen.com'] },
  { name: 'wetransfer', domains: ['wetransfer.com'] },
  { name: 'sharepoint', domains: ['sharepoint.com', 'microsoft.com'] },
  { name: 'onedrive', domains: ['onedrive.com', 'live.com', 'microsoft.com'] },
  { name: 'whatsapp', domains: ['whatsapp.com', 'whatsapp.net'] },
  { name: 'spotify', domains: ['spotify.com'] },
  { name: 'steam', domains: ['steampowered.com', 'steamcommunity.com'] },
];

const OFFICIAL: ReadonlySet<string> = new Set(BRANDS.flatMap((b) => b.domains));

/** True when the registrable domain belongs to some listed brand. */
export function isOfficialBrandDomain(domain: string): boolean {
  return OFFICIAL.has(domain.toLowerCase());
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions), capped at max + 1. */
export function editDistance(a: string, b: string, max = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const n = a.length;
  const m = b.length;
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  for (let i = 1; i <= n; i++) {
    const cur = new Array<number>(m + 1).fill(0);
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= m; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, (prev2[j - 2] as number) + 1);
      cur[j] = d;
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin > max) return max + 1;
    prev2 = prev;
    prev = cur;
  }
  return prev[m] as number;
}

/** Decodes punycode labels (xn--…) to Unicode (WHATWG UTS #46 mapping); others unchanged. */
export function decodePunycodeLabel(label: string): string {
  if (!label.startsWith('xn--')) return label;
  return domainToUnicode(label) || label;
}

function tokens(label: string): string[] {
  return label.split(/[-_.]+/).filter((t) => t.length > 0);
}

const lookalikeCache = new Map<string, Brand | null>();

/** The brand a domain label imitates without being that brand's domain, else undefined. */
export function lookalikeBrand(label: string, registrableDomain: string): Brand | undefined {
  if (isOfficialBrandDomain(registrableDomain)) return undefined;
  const key = `${label}\u0000${registrableDomain}`;
  const known = lookalikeCache.get(key);
  if (known !== undefined) return known ?? undefined;
  const found = findLookalike(label);
  if (lookalikeCache.size > 100_000) lookalikeCache.clear();
  lookalikeCache.set(key, found ?? null);
  return found;
}

function findLookalike(label: string): Brand | undefined {
  const shown = skeleton(decodePunycodeLabel(label.toLowerCase()));
  const parts = tokens(shown);
  for (const brand of BRANDS) {
    const name = brand.name;
    if (shown === name) {
      // The brand's own name under a suffix it does not use (paypal.com.evil is handled by the
      // subdomain check; here: pаypal.com after the fold, or paypal.xyz).
      return brand;
    }
    if (parts.includes(name)) return brand;
    if (name.length >= 5) {
      const max = name.length >= 8 ? 2 : 1;
      if (editDistance(shown, name, max) <= max) return brand;
      if (shown.startsWith(name) && shown.length - name.length >= 3) return brand;
    }
  }
  return undefined;
}

/** A brand named by a label of the subdomain (paypal.com.secure.evil.example → paypal). */
export function brandInSubdomain(subdomain: string, registrableDomain: string): Brand | undefined {
  if (!subdomain || isOfficialBrandDomain(registrableDomain)) return undefined;
  const labels = new Set(subdomain.toLowerCase().split(/[.-]+/).map(skeleton));
  return BRANDS.find((b) => labels.has(b.name));
}

/** Brands named in free text (a display name, an anchor text) as whole words. */
export function brandsInText(text: string): Brand[] {
  const words = new Set(
    skeleton(text)
      .split(/[^a-z0-9]+/)
      .filter((w) => w.length > 1),
  );
  const joined = skeleton(text).replace(/[^a-z0-9]+/g, '');
  return BRANDS.filter((b) => words.has(b.name) || (b.name.length >= 8 && joined.includes(b.name)));
}
